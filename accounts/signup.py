"""Sign-up by email confirmation, answered the same way whether or not the address is taken.

The page after "Create account" must not tell a stranger who is registered, so every sign-up that
passes the form ends on the same "check your email" page, and the address's owner learns the rest
by email: a link that confirms a new login, or a note that someone tried to sign up again.

A sign-up that was never confirmed holds nothing of its owner's yet, so a later sign-up with the
address replaces it (password and details) and gets a link of its own; the confirm page then asks
for the password chosen at sign-up. Whoever typed the address first, perhaps a stranger, can
therefore neither keep a password on the owner's account nor confirm it with a forwarded link.
"""

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_encode

from accounts import languages, services

logger = logging.getLogger(__name__)


class SignupTokenGenerator(PasswordResetTokenGenerator):
    """Like a password-reset token, but spent by confirming: activation changes is_active (and
    the first login last_login), either of which invalidates every earlier link. The password
    hash is part of it too, so a later sign-up, which replaces the password, kills the links
    sent before."""

    key_salt = "accounts.signup.SignupTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}"


signup_token = SignupTokenGenerator()


def safe_next(request, candidate):
    """`candidate` if it is a page of this site (same host and scheme), else "".

    Only a path (or an absolute URL of this site) will do: a bare word such as "home" would be
    taken by redirect() for the name of a URL pattern, and an unknown one is a server error."""
    if (
        candidate
        and candidate.startswith(("/", "http://", "https://"))
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return ""


def confirmation_link(request, user, next_url=""):
    path = reverse(
        "accounts:signup_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": signup_token.make_token(user),
        },
    )
    if next_url:
        path = f"{path}?{urlencode({'next': next_url})}"
    return request.build_absolute_uri(path)


def _send(template, user, context):
    context = {"clinic_name": settings.CLINIC_NAME, **context}
    subject = render_to_string(f"accounts/email/{template}_subject.txt", context)
    try:
        send_mail(
            " ".join(subject.split()),
            render_to_string(f"accounts/email/{template}.txt", context),
            None,
            [user.email],
        )
    except Exception as error:
        # The page still says "check your email" (it may not tell who is registered); the
        # operator learns of the failure by user id and the error's kind: a provider's message
        # may quote the address, so neither it nor the traceback goes into the log.
        logger.error(
            "Failed to send the %s email to user %s (%s)", template, user.pk, type(error).__name__
        )


def send_confirmation(request, user, next_url=""):
    _send("signup_confirm", user, {"link": confirmation_link(request, user, next_url)})


def send_already_registered(request, user, next_url=""):
    """To the owner of a login in use, whose address someone tried to sign up with again."""
    login_path = reverse("accounts:login")
    if next_url:
        login_path = f"{login_path}?{urlencode({'next': next_url})}"
    context = {
        "login_link": request.build_absolute_uri(login_path),
        "reset_link": request.build_absolute_uri(reverse("accounts:password_reset")),
    }
    _send("signup_existing", user, context)


def _language_chosen(request):
    """The language the sign-up was made in, when it is not the clinic's default: a patient who
    signed up in Hindi gets Hindi messages from the first one."""
    code = languages.supported(getattr(request, "LANGUAGE_CODE", ""))
    return code if code and code != languages.default() else ""


def sign_up(request, data, next_url=""):
    """Registers a patient from a sign-up form's cleaned `data` (or restarts an unconfirmed
    sign-up with it) and emails the address's owner: a confirmation link, or a note that someone
    tried to sign up with the address of a login already in use.

    The caller answers all of these the same way, and the work is about the same (the password
    is hashed once, one email goes out), so nobody learns from the answer who is registered.
    """
    try:
        user = services.register_patient(
            email=data["email"],
            password=data["password1"],
            full_name=data["full_name"],
            date_of_birth=data["date_of_birth"],
            sex=data["sex"],
            phone=data["phone"],
            language=_language_chosen(request),
        )
    except services.EmailAlreadyRegistered as taken:
        # A login an admin switched off gets no "log in instead" note it could not act on.
        if taken.user is not None and taken.user.is_active:
            send_already_registered(request, taken.user, next_url)
    else:
        send_confirmation(request, user, next_url)
