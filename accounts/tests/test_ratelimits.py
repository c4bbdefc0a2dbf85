"""Throttles on the forms that work without a full login: password reset, sign-up and the
two-factor code prompt answer 429 with a page of their own after too many tries per address and
per client IP address. Only POSTs count; a refused try sends and saves nothing."""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Patient, User
from accounts.tests.factories import DEFAULT_PASSWORD, PatientFactory
from accounts.tests.pages import page_text

pytestmark = pytest.mark.django_db

RESET = reverse("accounts:password_reset")
SIGNUP = reverse("accounts:signup")
VERIFY = reverse("accounts:two_factor_verify")
PER_ADDRESS = 3
PER_IP = 5
PER_LOGIN = 4


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.THROTTLE_FORMS_PER_ADDRESS = f"{PER_ADDRESS}/h"
    settings.THROTTLE_FORMS_PER_IP = f"{PER_IP}/h"
    settings.THROTTLE_TWO_FACTOR_PER_LOGIN = f"{PER_LOGIN}/h"


def ask_for_reset(client, email, ip="10.0.0.1"):
    return client.post(RESET, {"email": email}, REMOTE_ADDR=ip)


def sign_up(client, email, ip="10.0.0.1", **overrides):
    data = {
        "full_name": "Asha Raman",
        "email": email,
        "date_of_birth": "1990-03-15",
        "sex": "female",
        "phone": "",
        "password1": "Violet-Harbour-2718",
        "password2": "Violet-Harbour-2718",
        **overrides,
    }
    return client.post(SIGNUP, data, REMOTE_ADDR=ip)


def assert_too_many_tries_page(response):
    assert response.status_code == 429
    assert "Too many tries" in page_text(response)
    assert "Nothing was sent or changed" in page_text(response)
    assert int(response["Retry-After"]) > 0


def test_password_reset_is_refused_after_too_many_tries_for_one_address(
    client, mailoutbox, patient_user
):
    for ip_number in range(PER_ADDRESS):
        assert ask_for_reset(client, patient_user.email, f"10.0.0.{ip_number}").status_code == 302
    assert len(mailoutbox) == PER_ADDRESS

    # In another letter case, from yet another address: still the same account's counter.
    refused = ask_for_reset(client, patient_user.email.upper(), "10.0.9.9")

    assert_too_many_tries_page(refused)
    assert len(mailoutbox) == PER_ADDRESS
    other = PatientFactory(with_account=True)
    assert ask_for_reset(client, other.email, "10.0.9.8").status_code == 302
    assert len(mailoutbox) == PER_ADDRESS + 1


def test_password_reset_is_refused_after_too_many_tries_from_one_ip_address(
    client, mailoutbox, patient_user
):
    for number in range(PER_IP):
        assert ask_for_reset(client, f"nobody{number}@example.com").status_code == 302

    assert_too_many_tries_page(ask_for_reset(client, patient_user.email))
    assert mailoutbox == []
    assert ask_for_reset(client, patient_user.email, ip="10.0.0.2").status_code == 302
    assert len(mailoutbox) == 1


def test_only_posts_count(client):
    for _ in range(PER_IP * 2):
        assert client.get(RESET, REMOTE_ADDR="10.0.0.1").status_code == 200
        assert client.get(SIGNUP, REMOTE_ADDR="10.0.0.1").status_code == 200

    assert ask_for_reset(client, "nobody@example.com").status_code == 302


def test_sign_up_is_refused_after_too_many_tries_for_one_address(client, mailoutbox):
    # Mistakes count too: each is a try at the form.
    for number in range(PER_ADDRESS - 1):
        sign_up(client, "asha@example.com", ip=f"10.0.1.{number}", password2="mismatch")
    assert sign_up(client, "asha@example.com", ip="10.0.1.50").status_code == 302
    before = (User.objects.count(), Patient.objects.count(), len(mailoutbox))

    refused = sign_up(client, "ASHA@example.com", ip="10.0.1.99")

    assert_too_many_tries_page(refused)
    assert (User.objects.count(), Patient.objects.count(), len(mailoutbox)) == before
    assert sign_up(client, "ravi@example.com", ip="10.0.1.98").status_code == 302


def test_sign_up_is_refused_after_too_many_tries_from_one_ip_address(client, mailoutbox):
    for number in range(PER_IP):
        sign_up(client, f"person{number}@example.com")
    users_before = User.objects.count()

    refused = sign_up(client, "one.more@example.com")

    assert_too_many_tries_page(refused)
    assert User.objects.count() == users_before
    assert len(mailoutbox) == PER_IP
    assert sign_up(client, "one.more@example.com", ip="10.0.0.2").status_code == 302


def test_the_code_prompt_is_refused_after_too_many_tries_for_one_login(
    client, front_desk_user, clinic_admin_user
):
    TOTPDevice.objects.create(user=front_desk_user, name="app", confirmed=True)
    client.post(
        reverse("accounts:login"),
        {"username": front_desk_user.email, "password": DEFAULT_PASSWORD},
    )
    for _ in range(PER_LOGIN):
        assert client.post(VERIFY, {"token": "123"}, REMOTE_ADDR="10.0.2.1").status_code == 200

    refused = client.post(VERIFY, {"token": "123456"}, REMOTE_ADDR="10.0.2.2")

    assert_too_many_tries_page(refused)
    assert client.get(reverse("desk:queue"))["Location"].startswith(VERIFY)
    # Another login's prompt, from the same place, is not held up by this one.
    TOTPDevice.objects.create(user=clinic_admin_user, name="app", confirmed=True)
    other = client.__class__()
    other.post(
        reverse("accounts:login"),
        {"username": clinic_admin_user.email, "password": DEFAULT_PASSWORD},
        REMOTE_ADDR="10.0.2.1",
    )
    assert other.post(VERIFY, {"token": "123"}, REMOTE_ADDR="10.0.2.1").status_code == 200


def test_throttles_can_be_turned_off(client, settings, mailoutbox, patient_user):
    settings.RATELIMIT_ENABLE = False

    for _ in range(PER_IP + 1):
        assert ask_for_reset(client, patient_user.email).status_code == 302
    assert len(mailoutbox) == PER_IP + 1
