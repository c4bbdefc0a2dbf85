"""System checks about how notices leave the portal."""

from django.conf import settings
from django.core import checks

NOT_CONFIGURED = {
    "EMAIL_BACKEND": (
        "notifications.email_backends.NotConfiguredEmailBackend",
        "notifications.I001",
        "email (notices, password resets, sign-up confirmations)",
    ),
    "SMS_BACKEND": (
        "notifications.sms.NotConfiguredSmsBackend",
        "notifications.I002",
        "text messages",
    ),
}


@checks.register()
def messages_have_somewhere_to_go(app_configs, **kwargs):
    """Says so when, with DEBUG off, no provider was named: a production install may well start
    without text messages, so this is a note, not a warning, but notices will fail until then."""
    notes = []
    for setting, (backend, check_id, what) in NOT_CONFIGURED.items():
        if getattr(settings, setting) == backend:
            notes.append(
                checks.Info(
                    f"No provider is configured for {what}: nothing is sent, and the notices "
                    "waiting in the outbox are marked failed after their tries.",
                    hint=f"Set {setting} (README, Settings).",
                    id=check_id,
                )
            )
    return notes
