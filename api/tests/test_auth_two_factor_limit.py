"""POST auth/token/: two-factor codes are counted per login, as on the code prompt page, so that
spreading tries over many addresses does not give a login more guesses."""

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.roles import Role
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def log_in(user, otp_code, address):
    return APIClient(REMOTE_ADDR=address).post(
        reverse("api:token"),
        {"email": user.email, "password": DEFAULT_PASSWORD, "otp_code": otp_code},
        format="json",
    )


def with_device(user):
    return TOTPDevice.objects.create(user=user, name="app", confirmed=True)


def current_code(device):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def wrong_code(device):
    return "000000" if current_code(device) != "000000" else "111111"


@pytest.fixture
def limits(settings):
    settings.THROTTLE_TWO_FACTOR_PER_LOGIN = "2/h"
    settings.THROTTLE_FORMS_PER_IP = "100/h"


def test_codes_past_the_per_login_limit_are_429_from_any_address(front_desk_user, limits):
    device = with_device(front_desk_user)
    assert log_in(front_desk_user, wrong_code(device), "198.51.100.1").status_code == 401
    assert log_in(front_desk_user, wrong_code(device), "198.51.100.2").status_code == 401
    response = log_in(front_desk_user, current_code(device), "198.51.100.3")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    assert not AuthToken.objects.exists()


def test_another_login_keeps_its_own_allowance(front_desk_user, limits):
    device = with_device(front_desk_user)
    for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        log_in(front_desk_user, wrong_code(device), address)
    other = UserFactory(roles=[Role.FRONT_DESK], is_staff=True)
    response = log_in(other, current_code(with_device(other)), "198.51.100.4")
    assert response.status_code == 201
    assert AuthToken.objects.filter(user=other).count() == 1


def test_a_patient_without_codes_is_not_counted(patient_user, limits):
    # Patients are never asked for a code, so a junk one spends nothing.
    for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
        assert log_in(patient_user, "junk", address).status_code == 201
