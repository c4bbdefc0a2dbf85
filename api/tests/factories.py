"""Logins and tokens for the API's tests."""

from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.roles import Role
from accounts.tests.factories import UserFactory


def integration_user(**kwargs):
    """A login of an integration: the Front desk role and no usable password."""
    user = UserFactory(roles=[Role.FRONT_DESK], full_name="Front office app", **kwargs)
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return user


def token_for(user, **kwargs):
    """A new token (the text a client would send) for `user`."""
    _, token = AuthToken.objects.create(user=user, **kwargs)
    return token


def client_with_token(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def client_for(user):
    """An API client sending a fresh token of `user`'s (anonymous for None)."""
    if user is None:
        return APIClient()
    return client_with_token(token_for(user))
