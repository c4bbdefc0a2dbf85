"""Pre-registration takeover: a stranger who signs up first with someone's address must not end
up holding that person's account. The newest sign-up of an unconfirmed address replaces its
password and details, earlier links die, and the confirm page asks for the password."""

import re
from unittest import mock

import pytest
from auditlog.models import LogEntry
from django.contrib.auth import get_user
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import Patient, User
from accounts.signup import signup_token
from accounts.tests.pages import page_text, read_page

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://testserver(\S+)")
EMAIL = "victim@example.com"
ATTACKER_PASSWORD = "Attacker-Knows-This-1"
VICTIM_PASSWORD = "Violet-Harbour-2718"


def signup_data(password, **details):
    return {
        "full_name": "Mallory Stranger",
        "email": EMAIL,
        "date_of_birth": "1970-01-01",
        "sex": "male",
        "phone": "+919800000001",
        "password1": password,
        "password2": password,
        **details,
    }


VICTIM = {
    "full_name": "Asha Raman",
    "date_of_birth": "1990-03-15",
    "sex": "female",
    "phone": "+919812345678",
}


def sign_up(password, **details):
    response = Client().post(reverse("accounts:signup"), signup_data(password, **details))
    assert response["Location"] == reverse("accounts:signup_sent")


def only_link_in(message):
    [link] = LINK.findall(message.body)
    return link


def confirm(client, link, password):
    return client.post(link, {"password": password})


def can_log_in(email, password):
    # Through the login page: django-axes needs the request that client.login() would not pass.
    visitor = Client()
    visitor.post(reverse("accounts:login"), {"username": email, "password": password})
    return get_user(visitor).is_authenticated


def test_a_stranger_who_signed_up_first_cannot_take_over_the_owners_account(mailoutbox):
    sign_up(ATTACKER_PASSWORD)
    attackers_link = only_link_in(mailoutbox[0])  # the stranger cannot read it, but suppose
    sign_up(VICTIM_PASSWORD, **VICTIM)
    victims_link = only_link_in(mailoutbox[1])
    victim = Client()

    assert "This link has expired" in page_text(
        confirm(Client(), attackers_link, ATTACKER_PASSWORD)
    )
    confirmed = confirm(victim, victims_link, VICTIM_PASSWORD)

    assert confirmed["Location"] == reverse("accounts:profile")
    assert get_user(victim).email == EMAIL
    user = User.objects.get(email=EMAIL)
    assert user.is_active and user.full_name == "Asha Raman"
    patient = Patient.objects.get(user=user)
    assert (
        patient.full_name,
        str(patient.date_of_birth),
        patient.sex,
        patient.phone,
    ) == tuple(VICTIM.values())
    assert Patient.objects.count() == User.objects.count() == 1
    assert can_log_in(EMAIL, VICTIM_PASSWORD)
    assert not can_log_in(EMAIL, ATTACKER_PASSWORD)
    assert "This link has expired" in page_text(confirm(Client(), attackers_link, VICTIM_PASSWORD))


def test_the_victims_link_with_the_strangers_password_confirms_nothing(mailoutbox):
    sign_up(VICTIM_PASSWORD, **VICTIM)
    sign_up(ATTACKER_PASSWORD)  # the stranger comes second: the latest sign-up counts
    latest = only_link_in(mailoutbox[1])
    visitor = Client()

    refused = confirm(visitor, latest, VICTIM_PASSWORD)

    assert refused.status_code == 200
    assert not User.objects.get(email=EMAIL).is_active
    assert not get_user(visitor).is_authenticated
    # The owner recovers by signing up again: their password and details replace the stranger's.
    sign_up(VICTIM_PASSWORD, **VICTIM)
    assert confirm(visitor, only_link_in(mailoutbox[2]), VICTIM_PASSWORD).status_code == 302
    assert Patient.objects.get(user__email=EMAIL).full_name == "Asha Raman"


def test_a_wrong_password_at_confirm_is_a_form_error_and_confirms_nothing(client, mailoutbox):
    sign_up(VICTIM_PASSWORD)
    link = only_link_in(mailoutbox[0])

    response = confirm(client, link, "not-the-password")

    assert response.status_code == 200
    page = read_page(response)
    [error] = page.errors_for("id_password")
    assert "not the password chosen" in error
    assert not User.objects.get(email=EMAIL).is_active
    assert not get_user(client).is_authenticated
    # The link still works for whoever knows the password.
    assert confirm(client, link, VICTIM_PASSWORD)["Location"] == reverse("accounts:profile")


def test_the_confirm_page_asks_for_the_password_with_a_labelled_field(client, mailoutbox):
    sign_up(VICTIM_PASSWORD)

    page = read_page(client.get(only_link_in(mailoutbox[0])))

    [(tag, attrs)] = page.controls
    assert (tag, attrs["type"], attrs["name"]) == ("input", "password", "password")
    assert attrs["autocomplete"] == "current-password"
    assert attrs["id"] in page.label_targets


def test_wrong_passwords_at_confirm_are_throttled_per_login(settings, mailoutbox):
    settings.THROTTLE_FORMS_PER_ADDRESS = "2/h"
    sign_up(VICTIM_PASSWORD)
    link = only_link_in(mailoutbox[0])
    tries = [
        Client(REMOTE_ADDR=f"203.0.113.{n}").post(link, {"password": f"guess-{n}"})
        for n in range(2)
    ]

    refused = Client(REMOTE_ADDR="203.0.113.99").post(link, {"password": VICTIM_PASSWORD})

    assert [response.status_code for response in tries] == [200, 200]
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert not User.objects.get(email=EMAIL).is_active


def test_confirm_tries_are_throttled_per_client_address(settings, client, mailoutbox):
    settings.THROTTLE_FORMS_PER_IP = "1/h"
    sign_up(VICTIM_PASSWORD)
    link = only_link_in(mailoutbox[0])
    confirm(client, link, "a-guess")

    refused = confirm(client, link, VICTIM_PASSWORD)

    assert refused.status_code == 429
    assert not User.objects.get(email=EMAIL).is_active


def test_opening_the_link_is_not_counted_by_the_throttle(settings, client, mailoutbox):
    settings.THROTTLE_FORMS_PER_ADDRESS = "1/h"
    sign_up(VICTIM_PASSWORD)
    link = only_link_in(mailoutbox[0])
    for _ in range(3):
        assert client.get(link).status_code == 200

    assert confirm(client, link, VICTIM_PASSWORD).status_code == 302


def test_a_replaced_sign_up_is_in_the_audit_trail_without_the_password(mailoutbox):
    sign_up(ATTACKER_PASSWORD)
    sign_up(VICTIM_PASSWORD, **VICTIM)
    user = User.objects.get(email=EMAIL)

    events = LogEntry.objects.filter(object_pk=str(user.pk), additional_data__isnull=False)

    assert [entry.additional_data["event"] for entry in events] == [
        "unconfirmed sign-up replaced by a newer one"
    ]
    for entry in LogEntry.objects.all():
        assert ATTACKER_PASSWORD not in str(entry.changes)
        assert "password" not in (entry.changes_dict or {})


def test_the_service_refuses_to_confirm_once_the_link_is_no_longer_valid(mailoutbox):
    sign_up(VICTIM_PASSWORD)
    user = User.objects.get(email=EMAIL)

    with pytest.raises(services.ConfirmationRefused):
        services.confirm_patient_login(
            user=user, password=VICTIM_PASSWORD, link_is_valid=lambda locked: False
        )

    user.refresh_from_db()
    assert not user.is_active


def test_the_service_leaves_an_active_login_alone(patient_user):
    before = patient_user.password

    with pytest.raises(services.EmailAlreadyRegistered) as refused:
        services.register_patient(
            email=patient_user.email.upper(),
            password=ATTACKER_PASSWORD,
            full_name="Mallory Stranger",
            date_of_birth="1970-01-01",
            sex="male",
        )

    assert refused.value.user == patient_user
    patient_user.refresh_from_db()
    assert patient_user.password == before


def test_a_link_that_dies_while_the_password_is_checked_shows_the_expired_page(client, mailoutbox):
    # As when a parallel sign-up replaces the password between opening the form and the lock:
    # the check under the lock is the one that counts.
    sign_up(VICTIM_PASSWORD)
    link = only_link_in(mailoutbox[0])

    with mock.patch.object(signup_token, "check_token", side_effect=[True, False]):
        response = confirm(client, link, VICTIM_PASSWORD)

    assert response.status_code == 200
    assert "This link has expired" in page_text(response)
    assert not User.objects.get(email=EMAIL).is_active
    assert not get_user(client).is_authenticated
