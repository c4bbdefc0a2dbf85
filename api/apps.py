from django.apps import AppConfig


def revoke_api_tokens(sender, user, **kwargs):
    """accounts.signals.credentials_revoked: a token is a login of its own, so "log out on every
    device", a new password or a two-factor reset must end it as it ends the sessions."""
    from knox.models import AuthToken

    AuthToken.objects.filter(user=user).delete()


class ApiConfig(AppConfig):
    """The JSON API (/api/v1/): an adapter over the other apps' services and selectors."""

    name = "api"
    verbose_name = "API"

    def ready(self):
        from accounts.signals import credentials_revoked

        credentials_revoked.connect(revoke_api_tokens, dispatch_uid="api.revoke_api_tokens")

        from api import webhook_payloads

        webhook_payloads.register()  # the JSON webhooks' appointments and payments
