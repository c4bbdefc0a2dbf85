"""Token authentication: knox's, made safe for any header a client may send."""

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


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme: `Authorization: Token <token>`."""

    target_class = "api.authentication.TokenAuthentication"
    name = "tokenAuth"
