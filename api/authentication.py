"""Token authentication: knox's, made safe for any header a client may send."""

from auditlog.context import auditlog_value
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth
from rest_framework import exceptions


class TokenAuthentication(auth.TokenAuthentication):
    """knox's TokenAuthentication; a token that is not UTF-8 (knox decodes it unchecked and
    failed with a 500) is refused as any other wrong token is."""

    def authenticate_credentials(self, token):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        return super().authenticate_credentials(token)

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            _record_as_actor(result[0])
        return result


def _record_as_actor(user):
    """Names `user` as the actor of the audit entries this request writes. django-auditlog's
    middleware fixed the actor before REST framework read the token (as nobody, for a request
    that has no session), in a context it keeps for the rest of the request: fill it in there."""
    try:
        context = auditlog_value.get()
    except LookupError:  # no audit middleware around this request (a management command)
        return
    context["actor"] = user


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme: `Authorization: Token <token>`."""

    target_class = "api.authentication.TokenAuthentication"
    name = "tokenAuth"
