"""Two-factor codes for staff logins (django-otp TOTP)."""

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

SETUP = reverse("accounts:two_factor")
VERIFY = reverse("accounts:two_factor_verify")


def code_for(device):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def log_in(client, user):
    client.post(reverse("accounts:login"), {"username": user.email, "password": DEFAULT_PASSWORD})


@pytest.fixture
def staff_with_device(front_desk_user):
    device = TOTPDevice.objects.create(user=front_desk_user, name="app", confirmed=True)
    return front_desk_user, device


def test_staff_turn_on_codes_with_a_confirming_code(client, front_desk_user):
    client.force_login(front_desk_user)
    page = client.get(SETUP)
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    pending = TOTPDevice.objects.get(user=front_desk_user, confirmed=False)

    wrong = client.post(SETUP, {"token": "000000" if code_for(pending) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert "That code is not right" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=front_desk_user, confirmed=True).exists()

    pending.refresh_from_db()
    pending.throttle_reset()  # django-otp slows retries after a wrong code; the test need not wait
    right = client.post(SETUP, {"token": code_for(pending)})
    assert right.status_code == 200  # the backup codes, shown in this answer only
    assert "Your backup codes" in right.content.decode()
    assert TOTPDevice.objects.filter(user=front_desk_user, confirmed=True).count() == 1


@pytest.mark.parametrize("visitor", ["patient_user", "doctor_user"])
def test_logins_without_staff_rights_have_no_two_factor_page(client, request, visitor):
    client.force_login(request.getfixturevalue(visitor))
    assert client.get(SETUP).status_code == 404
    assert not TOTPDevice.objects.exists()


def test_a_login_with_a_device_must_give_a_code_before_anything_else(client, staff_with_device):
    user, device = staff_with_device
    log_in(client, user)

    blocked = client.get(reverse("desk:queue"))
    assert blocked.status_code == 302
    assert blocked["Location"].startswith(VERIFY)
    admin = client.get(reverse("admin:index"))
    assert admin["Location"].startswith(VERIFY)

    wrong = client.post(VERIFY, {"token": "12", "next": reverse("desk:queue")})
    assert wrong.status_code == 200
    assert client.get(reverse("desk:queue")).status_code == 302
    device.refresh_from_db()
    device.throttle_reset()

    right = client.post(VERIFY, {"token": code_for(device), "next": reverse("desk:queue")})
    assert right["Location"] == reverse("desk:queue")
    assert client.get(reverse("desk:queue")).status_code == 200


def test_verify_ignores_a_next_address_on_another_site(client, staff_with_device):
    user, device = staff_with_device
    log_in(client, user)
    response = client.post(VERIFY, {"token": code_for(device), "next": "https://evil.example/"})
    assert response["Location"] == reverse("desk:queue")


def test_turning_codes_off_needs_a_code(client, staff_with_device):
    user, device = staff_with_device
    log_in(client, user)
    client.post(VERIFY, {"token": code_for(device)})
    refused = client.post(SETUP, {"token": "abcdef"})
    assert refused.status_code == 200
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_clinic_admins_must_set_up_codes_when_the_setting_asks(client, clinic_admin_user, settings):
    settings.OTP_REQUIRED_FOR_CLINIC_ADMINS = True
    client.force_login(clinic_admin_user)
    response = client.get(reverse("admin:index"))
    assert response["Location"] == SETUP
    assert client.get(SETUP).status_code == 200


def test_without_the_setting_codes_stay_optional(client, clinic_admin_user, settings):
    settings.OTP_REQUIRED_FOR_CLINIC_ADMINS = False
    client.force_login(clinic_admin_user)
    assert client.get(reverse("admin:index")).status_code == 200


def test_front_desk_is_not_forced_even_with_the_setting(client, front_desk_user, settings):
    settings.OTP_REQUIRED_FOR_CLINIC_ADMINS = True
    client.force_login(front_desk_user)
    assert client.get(reverse("desk:queue")).status_code == 200
