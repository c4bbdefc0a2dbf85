"""Tokens for people's apps: log in with email and password (and a two-factor code, for staff
who have them) to get a token, shown once; revoke it by DELETE. Integrations get their tokens
from a clinic admin in the admin instead (api/admin.py); their logins have no password.

Every password goes through Django's authenticate(), so django-axes counts failures and locks
out as it does on the login page (429 "locked_out"). A staff login with two-factor codes on must
also send `otp_code` (the authenticator's code or a backup code), or gets 401
"two_factor_required": a token is a login of its own and must not skip the second factor. A
clinic admin without codes, while OTP_REQUIRED_FOR_CLINIC_ADMINS is on, gets 403
"two_factor_setup_required" (codes are set up on the portal's pages, not here).
"""

import math

from axes.helpers import get_cool_off
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import update_last_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.utils import extend_schema
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.ratelimits import client_ip, refuse_if_too_many
from accounts.roles import roles_of
from accounts.throttling import login_name
from accounts.two_factor import CodePromptForm
from api.authentication import TokenAuthentication
from api.errors import ApiError
from api.serializers import MeSerializer, TokenLoginSerializer, TokenSerializer
from api.throttling import LoginThrottle, WriteThrottle


def _refuse(message, code, status_code=401, headers=None):
    raise ApiError(message, code=code, status_code=status_code, headers=headers)


def _locked_out(django_request):
    # django-axes' middleware would swap this answer for its HTML lockout page; the API answers
    # in its own shape instead.
    django_request.axes_locked_out = False
    cool_off = get_cool_off(django_request)
    seconds = math.ceil(cool_off.total_seconds()) if cool_off else 3600
    _refuse(
        "Too many failed logins. Try again later, or reset the password on the portal.",
        "locked_out",
        429,
        {"Retry-After": str(seconds)},
    )


def _check_second_factor(user, code, django_request):
    if not user.is_staff:
        return
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        if settings.OTP_REQUIRED_FOR_CLINIC_ADMINS and roles_of(user).is_clinic_admin:
            _refuse(
                "Set up two-factor codes on the portal before using the API.",
                "two_factor_setup_required",
                403,
            )
        return
    if not code:
        _refuse(
            "This login uses two-factor codes: send the current one as otp_code.",
            "two_factor_required",
        )
    # Per login as on the code prompt page, so that tries spread over addresses add up.
    refused = refuse_if_too_many(
        django_request,
        form="two-factor",
        address=str(user.pk),
        per_address=settings.THROTTLE_TWO_FACTOR_PER_LOGIN,
    )
    if refused is not None:
        _refuse(
            "Too many two-factor codes tried. Try again later.",
            "throttled",
            429,
            {"Retry-After": refused["Retry-After"]},
        )
    form = CodePromptForm({"token": code}, user=user)
    if not form.is_valid():
        _refuse("That code is not right, or has expired. Try the next one.", "two_factor_invalid")


def _note_token_login(django_request, user, email):
    """As a login on the pages does: django-axes forgets this login's failures from this
    address, and last_login is set. Not by sending user_logged_in: that announces a session
    login, and its receivers (axes' access log, the idle clock) would start a session for a
    client that never sends its cookie back."""
    update_last_login(None, user)
    if settings.AXES_RESET_ON_SUCCESS:
        axes_reset(
            ip=client_ip(django_request),
            username=login_name(django_request, {"username": email}),
        )


class TokenView(APIView):
    """POST: a new token for a login (shown once). DELETE: revokes the token sent with it."""

    # Only tokens: a session (with its CSRF check) has no business minting or revoking them.
    authentication_classes = [TokenAuthentication]
    throttle_classes = [LoginThrottle, WriteThrottle]

    def get_permissions(self):
        if self.request.method == "POST":
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(
        request=TokenLoginSerializer,
        responses={201: TokenSerializer},
        auth=[],
        summary="Log in: get a token",
    )
    def post(self, request):
        credentials = TokenLoginSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        data = credentials.validated_data
        django_request = request._request
        user = authenticate(
            django_request, username=data["email"].strip(), password=data["password"]
        )
        if getattr(django_request, "axes_locked_out", False):
            _locked_out(django_request)
        if user is None:
            _refuse("The email address or password is not right.", "invalid_credentials")
        _check_second_factor(user, data.get("otp_code", ""), django_request)
        instance, token = AuthToken.objects.create(user=user)
        _note_token_login(django_request, user, data["email"])
        body = {
            "token": token,
            "token_prefix": token[: CONSTANTS.TOKEN_KEY_LENGTH],
            "expiry": instance.expiry,
            "user": MeSerializer(user).data,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None}, summary="Log out: revoke this token")
    def delete(self, request):
        request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
