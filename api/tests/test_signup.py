"""Patient sign-up over the API: as the page, the same answer for a taken address, a link by
email, the page's throttles."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Patient, User
from accounts.roles import Role
from accounts.tests.factories import PatientFactory, UserFactory
from api.tests.factories import client_for, integration_user

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://testserver(/accounts/signup/confirm/\S+)")

URL = "/api/v1/auth/signup/"
SIGNUP = {
    "full_name": "Asha Rao",
    "email": "Asha.Rao@Example.com",
    "date_of_birth": "1990-04-21",
    "sex": "female",
    "phone": "+91 98123 45678",
    "password": "a long passphrase of hers",
}


def sign_up(body=SIGNUP, client=None):
    return (client or client_for(None)).post(URL, body, format="json")


def error_of(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]


def test_the_route_is_named():
    assert reverse("api:signup") == URL


def test_a_sign_up_makes_an_inactive_patient_login_and_emails_the_link():
    response = sign_up()
    assert response.status_code == 202, response.content
    user = User.objects.get()
    assert user.email == "asha.rao@example.com"  # as the page keeps it
    assert user.is_active is False
    assert set(user.groups.values_list("name", flat=True)) == {Role.PATIENT}
    patient = Patient.objects.get(user=user)
    assert patient.phone == "+919812345678" and patient.full_name == "Asha Rao"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    assert "/accounts/signup/confirm/" in mail.outbox[0].body
    # Nothing about the person comes back: only what to do next.
    assert set(response.json()) == {"message"}
    assert "Asha" not in response.content.decode()


def test_a_taken_address_gets_the_same_answer_and_its_owner_an_email():
    existing = PatientFactory(with_account=True, email="asha.rao@example.com").user
    first = sign_up()
    assert first.status_code == 202
    assert first.json() == sign_up({**SIGNUP, "email": "new@example.com"}).json()
    assert User.objects.filter(email__iexact="asha.rao@example.com").count() == 1
    to_owner = [message for message in mail.outbox if message.to == [existing.email]]
    assert len(to_owner) == 1
    assert "/accounts/signup/confirm/" not in to_owner[0].body


def test_a_pending_address_gets_the_same_answer_and_the_latest_sign_up_replaces_it():
    sign_up({**SIGNUP, "password": "a stranger's passphrase"})
    stranger_link = LINK.search(mail.outbox[0].body).group(1)

    again = sign_up({**SIGNUP, "full_name": "Asha Rao Iyer", "date_of_birth": "1991-05-02"})

    assert again.status_code == 202
    assert again.json() == sign_up({**SIGNUP, "email": "new@example.com"}).json()
    user = User.objects.get(email="asha.rao@example.com")
    patient = Patient.objects.get(user=user)
    assert (user.full_name, patient.full_name) == ("Asha Rao Iyer", "Asha Rao Iyer")
    assert str(patient.date_of_birth) == "1991-05-02"
    assert user.check_password(SIGNUP["password"])
    assert not user.check_password("a stranger's passphrase")
    owners_link = LINK.search(mail.outbox[1].body).group(1)
    page = Client()
    assert page.post(stranger_link, {"password": SIGNUP["password"]}).status_code == 200
    assert page.post(owners_link, {"password": SIGNUP["password"]}).status_code == 302
    assert User.objects.get(pk=user.pk).is_active


def test_the_new_login_cannot_get_a_token_before_confirming():
    sign_up()
    response = client_for(None).post(
        reverse("api:token"),
        {"email": SIGNUP["email"], "password": SIGNUP["password"]},
        format="json",
    )
    assert error_of(response, 401)["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"email": "not an email"}, "email"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth"),
        ({"date_of_birth": "1990-02-30"}, "date_of_birth"),
        ({"date_of_birth": 19900421}, "date_of_birth"),
        ({"sex": "?"}, "sex"),
        ({"phone": "+" + "9" * 40}, "phone"),
        ({"password": "123"}, "password"),
        ({"password": "asha rao"}, "password"),
        ({"full_name": ""}, "full_name"),
        ({"full_name": {"first": "Asha"}}, "full_name"),
    ],
)
def test_the_pages_rules_are_field_errors(changes, field):
    error = error_of(sign_up({**SIGNUP, **changes}), 400)
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert not User.objects.exists() and not mail.outbox


@pytest.mark.parametrize("body", [{}, [], "text", 12])
def test_junk_is_refused_and_nothing_is_made(body):
    assert error_of(sign_up(body), 400)["code"] == "invalid"
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "user",
    [
        lambda: UserFactory(roles=[Role.PATIENT]),
        lambda: UserFactory(roles=[Role.CLINIC_ADMIN], is_staff=True),
        integration_user,
    ],
    ids=["patient", "clinic admin", "integration"],
)
def test_a_logged_in_caller_may_not_sign_up(user):
    client = client_for(user())
    before = User.objects.count()
    assert error_of(sign_up(client=client), 403)["code"] == "permission_denied"
    assert User.objects.count() == before and not mail.outbox


def test_the_pages_throttle_counts_api_sign_ups_per_address(settings):
    settings.THROTTLE_FORMS_PER_ADDRESS = "2/h"
    assert sign_up().status_code == 202
    assert sign_up().status_code == 202
    refused = sign_up()
    assert error_of(refused, 429)["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    # Another address from the same client is still let in (its own count, the IP's is higher).
    assert sign_up({**SIGNUP, "email": "other@example.com"}).status_code == 202


def test_the_page_and_the_api_share_the_count(settings, client):
    settings.THROTTLE_FORMS_PER_ADDRESS = "1/h"
    client.post(reverse("accounts:signup"), {"email": SIGNUP["email"]})
    assert error_of(sign_up(), 429)["code"] == "throttled"
    assert not User.objects.exists()


def test_the_pages_throttle_counts_per_client_address(settings):
    settings.THROTTLE_FORMS_PER_IP = "1/h"
    assert sign_up({**SIGNUP, "email": "one@example.com"}).status_code == 202
    assert error_of(sign_up({**SIGNUP, "email": "two@example.com"}), 429)["code"] == "throttled"
