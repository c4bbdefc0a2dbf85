"""Time-based one-time passwords (django-otp's TOTP) for staff logins.

Optional for every staff login; required for clinic admins when OTP_REQUIRED_FOR_CLINIC_ADMINS
is on. Once a login has an authenticator, each session must give a code before anything else
(TwoFactorMiddleware in clinic/middleware.py sends it to the verify page).

With the authenticator come one-time backup codes (django-otp's static device), for the day the
phone is not at hand: shown once, each good for one login, replaced all at once on request. A
clinic admin resets a lost authenticator from the admin's user list (reset_two_factor).
"""

from base64 import b32encode
from io import BytesIO
from urllib.parse import quote

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.audit import record_event
from accounts.ratelimits import refuse_if_too_many
from accounts.roles import landing_url, roles_of
from accounts.services import end_all_sessions

DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"
BACKUP_CODE_COUNT = 10


class TokenForm(forms.Form):
    token = forms.CharField(
        label=gettext_lazy("Code from your authenticator app"),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*"}
        ),
        error_messages={"required": gettext_lazy("Enter the 6-digit code.")},
    )

    def __init__(self, *args, device, **kwargs):
        self.device = device
        super().__init__(*args, **kwargs)

    def clean_token(self):
        token = self.cleaned_data["token"].strip().replace(" ", "")
        if not token.isdigit() or not self.device.verify_token(token):
            raise forms.ValidationError(
                gettext("That code is not right, or has expired. Try the next one.")
            )
        return token


class CodePromptForm(forms.Form):
    """The code asked for at login: from the authenticator app, or one of the backup codes."""

    token = forms.CharField(
        label=gettext_lazy("Code from your authenticator app, or a backup code"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "none"}),
        error_messages={"required": gettext_lazy("Enter the 6-digit code, or a backup code.")},
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        self.device = None
        super().__init__(*args, **kwargs)

    def clean_token(self):
        # People copy backup codes with spaces or dashes, and in capitals from a printout.
        token = "".join(self.cleaned_data["token"].split()).replace("-", "").lower()
        if token.isdigit():
            candidates = TOTPDevice.objects.filter(user=self.user, confirmed=True)
        else:
            candidates = StaticDevice.objects.filter(user=self.user, confirmed=True)
        for device in candidates:
            if device.verify_token(token):
                self.device = device
                return token
        raise forms.ValidationError(
            gettext("That code is not right, or has expired. Try the next one.")
        )


def _confirmed_device(user):
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def new_backup_codes(user):
    """Replaces the login's backup codes with a fresh set, returned to be shown once."""
    with transaction.atomic():
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
        codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def reset_two_factor(*, user):
    """For a staff member who lost their phone: removes the authenticator and backup codes,
    ends the login's sessions (a lost phone may be in someone's hands, with a session open on
    it), and records who did it in the audit trail."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        end_all_sessions(user=user)
        record_event(user, "two-factor codes reset")


def _show_backup_codes(request, codes):
    return render(request, "accounts/two_factor_backup_codes.html", {"codes": codes})


def _qr_svg(url):
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


@require_http_methods(["GET", "POST"])
@login_required
def setup(request):
    if not request.user.is_staff:
        raise Http404("Two-factor codes are for staff logins.")
    device = _confirmed_device(request.user)
    if device is not None:
        form = TokenForm(request.POST or None, device=device)
        if request.method == "POST" and form.is_valid():
            with transaction.atomic():
                device.delete()
                StaticDevice.objects.filter(user=request.user).delete()
            messages.success(request, gettext("Two-factor codes are turned off for your login."))
            return redirect("accounts:two_factor")
        left = StaticToken.objects.filter(device__user=request.user).count()
        return render(
            request,
            "accounts/two_factor.html",
            {"device": device, "form": form, "backup_codes_left": left},
        )

    pending, _ = TOTPDevice.objects.get_or_create(
        user=request.user, confirmed=False, defaults={"name": DEVICE_NAME}
    )
    form = TokenForm(request.POST or None, device=pending)
    if request.method == "POST" and form.is_valid():
        pending.confirmed = True
        pending.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
        otp_login(request, pending)
        messages.success(
            request, gettext("Two-factor codes are on. You will be asked for one at each login.")
        )
        # Shown in this answer and never again: the codes are not kept anywhere to show later.
        return _show_backup_codes(request, new_backup_codes(request.user))
    return render(
        request,
        "accounts/two_factor.html",
        {
            "pending": pending,
            "form": form,
            "qr_svg": _qr_svg(pending.config_url),
            "secret": b32encode(pending.bin_key).decode(),
        },
    )


@require_POST
@login_required
def backup_codes(request):
    """A fresh set of backup codes, replacing the old ones (used up, or seen by someone else).
    The middleware has already asked this session for a code."""
    if not request.user.is_staff or _confirmed_device(request.user) is None:
        raise Http404("Backup codes come with two-factor codes.")
    messages.success(
        request, gettext("Your new backup codes are below. The old ones no longer work.")
    )
    return _show_backup_codes(request, new_backup_codes(request.user))


@require_http_methods(["GET", "POST"])
@login_required
def verify(request):
    device = _confirmed_device(request.user)
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = landing_url(request.user)
    if device is None or request.user.is_verified():
        return redirect(target)
    refused = refuse_if_too_many(
        request,
        form="two-factor",
        address=str(request.user.pk),
        per_address=settings.THROTTLE_TWO_FACTOR_PER_LOGIN,
    )
    if refused:
        return refused
    form = CodePromptForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        otp_login(request, form.device)
        if isinstance(form.device, StaticDevice):
            left = form.device.token_set.count()
            messages.warning(
                request,
                ngettext(
                    "You used a backup code; %(left)s left. Make new ones under "
                    "My account → Two-factor codes if you are running out.",
                    "You used a backup code; %(left)s left. Make new ones under "
                    "My account → Two-factor codes if you are running out.",
                    left,
                )
                % {"left": left},
            )
        return redirect(target)
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": target})


class TwoFactorMiddleware:
    """Staff logins with an authenticator must give a code before anything else; clinic admins
    must set one up first when OTP_REQUIRED_FOR_CLINIC_ADMINS is on. Only staff are checked, so
    patients' requests cost no extra query."""

    # Pages a login waiting for its code may still open.
    OPEN = {"accounts:logout", "accounts:two_factor_verify", "accounts:two_factor"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            match = getattr(request, "resolver_match", None) or _resolve(request.path_info)
            view_name = match.view_name if match else ""
            if view_name not in self.OPEN and not request.path_info.startswith("/static/"):
                if _confirmed_device(user) is not None:
                    if not user.is_verified():
                        verify_url = reverse("accounts:two_factor_verify")
                        return redirect(f"{verify_url}?next={quote(request.get_full_path())}")
                elif settings.OTP_REQUIRED_FOR_CLINIC_ADMINS and roles_of(user).is_clinic_admin:
                    messages.info(
                        request, gettext("Please set up two-factor codes before going on.")
                    )
                    return redirect("accounts:two_factor")
        return self.get_response(request)


def _resolve(path):
    try:
        return resolve(path)
    except Resolver404:
        return None
