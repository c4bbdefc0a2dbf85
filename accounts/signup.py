"""Sign-up by email confirmation, answered the same way whether or not the address is taken.

The page after "Create account" must not tell a stranger who is registered, so every sign-up that
passes the form ends on the same "check your email" page, and the address's owner learns the rest
by email: a link that confirms a new login, or a note that someone tried to sign up again.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_encode

from accounts import services
from accounts.models import User
from accounts.roles import Role


class SignupTokenGenerator(PasswordResetTokenGenerator):
    """Like a password-reset token, but spent by confirming: activation changes is_active (and
    the first login last_login), either of which invalidates every earlier link."""

    key_salt = "accounts.signup.SignupTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}"


signup_token = SignupTokenGenerator()


def safe_next(request, candidate):
    """`candidate` if it is a page of this site (same host and scheme), else ""."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def is_awaiting_confirmation(user):
    # A patient's sign-up that was never confirmed: inactive and never logged in. Staff and
    # logins that have been used are never "pending", whatever an admin did to them since.
    return (
        not user.is_active
        and user.last_login is None
        and not user.is_staff
        and user.groups.filter(name=Role.PATIENT).exists()
    )


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
    send_mail(
        " ".join(subject.split()),
        render_to_string(f"accounts/email/{template}.txt", context),
        None,
        [user.email],
    )


def send_confirmation(request, user, next_url=""):
    _send("signup_confirm", user, {"link": confirmation_link(request, user, next_url)})


def send_already_registered(request, user, next_url=""):
    """To the owner of an address someone tried to sign up with again."""
    login_path = reverse("accounts:login")
    if next_url:
        login_path = f"{login_path}?{urlencode({'next': next_url})}"
    context = {
        "login_link": request.build_absolute_uri(login_path),
        "reset_link": request.build_absolute_uri(reverse("accounts:password_reset")),
        "confirm_link": "",
    }
    if is_awaiting_confirmation(user):
        # The first confirmation email may be lost or expired; the address's owner may still
        # finish (and only they can: the link goes to this address).
        context["confirm_link"] = confirmation_link(request, user, next_url)
    _send("signup_existing", user, context)


def sign_up(request, data, next_url=""):
    """Registers a patient from a sign-up form's cleaned `data` and emails the address's owner:
    a confirmation link for a new login, or a note that someone tried again for a taken one.

    The caller answers both the same way, and the work is about the same (the password is hashed
    either way, one email goes out), so nobody learns from the answer who is registered.
    """
    try:
        user = services.register_patient(
            email=data["email"],
            password=data["password1"],
            full_name=data["full_name"],
            date_of_birth=data["date_of_birth"],
            sex=data["sex"],
            phone=data["phone"],
        )
    except services.EmailAlreadyRegistered:
        existing = User.objects.filter(email__iexact=data["email"]).first()
        if existing is not None:
            send_already_registered(request, existing, next_url)
    else:
        send_confirmation(request, user, next_url)
