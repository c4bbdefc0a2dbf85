"""Integrations' tokens in the admin: only clinic admins make (shown once), list and revoke them."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from api.tests.factories import client_with_token, token_for

pytestmark = pytest.mark.django_db


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def create(client, user, days="365"):
    return client.post(reverse("admin:knox_authtoken_add"), {"user": user.pk, "valid_days": days})


def shown_token(response):
    match = re.search(r'id="new-token"[^>]*value="([^"]+)"', response.content.decode())
    return match.group(1) if match else None


def test_a_clinic_admin_creates_a_token_shown_once(clinic_admin_user, integration):
    client = logged_in(clinic_admin_user)
    response = create(client, integration)
    assert response.status_code == 200
    token = shown_token(response)
    stored = AuthToken.objects.get(user=integration)
    assert token.startswith(stored.token_key)
    assert token not in stored.digest
    assert abs(stored.expiry - (timezone.now() + dt.timedelta(days=365))) < dt.timedelta(hours=1)
    me = client_with_token(token).get(reverse("api:me"))
    assert me.status_code == 200 and me.json()["id"] == integration.pk
    # Nowhere to be seen again: not in the list, not on the token's page, not in a message.
    listing = client.get(reverse("admin:knox_authtoken_changelist")).content.decode()
    detail = client.get(reverse("admin:knox_authtoken_change", args=[stored.pk]))
    assert token not in listing and token not in detail.content.decode()
    assert f"{stored.token_key}…" in listing


def test_a_token_without_expiry_lasts_until_revoked(clinic_admin_user, integration):
    create(logged_in(clinic_admin_user), integration, days="0")
    assert AuthToken.objects.get(user=integration).expiry is None


@pytest.mark.parametrize("days", ["-1", "abc", "99999", ""])
def test_a_bad_lifetime_is_a_form_error(clinic_admin_user, integration, days):
    response = create(logged_in(clinic_admin_user), integration, days=days)
    assert response.status_code == 200
    assert shown_token(response) is None
    assert not AuthToken.objects.exists()


def test_revoking_in_the_admin_ends_the_token(clinic_admin_user, integration):
    token = token_for(integration)
    stored = AuthToken.objects.get()
    response = logged_in(clinic_admin_user).post(
        reverse("admin:knox_authtoken_delete", args=[stored.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert client_with_token(token).get(reverse("api:me")).status_code == 401


def test_tokens_cannot_be_edited(clinic_admin_user, integration):
    token_for(integration)
    stored = AuthToken.objects.get()
    url = reverse("admin:knox_authtoken_change", args=[stored.pk])
    client = logged_in(clinic_admin_user)
    assert client.get(url).status_code == 200  # read-only
    response = client.post(url, {"user": clinic_admin_user.pk})
    assert response.status_code == 403
    assert AuthToken.objects.get().user == integration


@pytest.mark.parametrize("name", ["front_desk_user", "doctor_user", "patient_user"])
def test_nobody_but_clinic_admins_reaches_tokens(request, name, integration):
    client = logged_in(request.getfixturevalue(name))
    list_response = client.get(reverse("admin:knox_authtoken_changelist"))
    assert list_response.status_code in (302, 403)
    assert create(client, integration).status_code in (302, 403)
    assert not AuthToken.objects.exists()


def test_the_token_list_costs_the_same_for_many_tokens(
    clinic_admin_user, integration, django_assert_max_num_queries
):
    client = logged_in(clinic_admin_user)
    token_for(integration)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("admin:knox_authtoken_changelist"))
    for _ in range(5):
        token_for(integration)
    with django_assert_max_num_queries(len(few)):
        client.get(reverse("admin:knox_authtoken_changelist"))


def _refused_with_form_error(response):
    assert response.status_code == 200
    assert shown_token(response) is None
    assert "only for an integration" in response.content.decode()


@pytest.mark.parametrize(
    "name", ["patient_user", "doctor_user", "front_desk_user", "clinic_admin_user"]
)
def test_no_token_is_made_for_a_persons_login(request, clinic_admin_user, name):
    # A person's token would let the admin act as them and skip their two-factor step.
    person = request.getfixturevalue(name)
    response = create(logged_in(clinic_admin_user), person)
    _refused_with_form_error(response)
    assert not AuthToken.objects.exists()


def test_no_token_for_a_login_linked_to_a_patient_even_without_a_password(clinic_admin_user):
    from accounts.tests.factories import PatientFactory

    login = PatientFactory(with_account=True).user
    login.set_unusable_password()
    login.save(update_fields=["password"])
    _refused_with_form_error(create(logged_in(clinic_admin_user), login))
    assert not AuthToken.objects.exists()


def test_no_token_for_a_doctors_login_without_a_password(clinic_admin_user):
    from doctors.tests.factories import DoctorFactory

    login = DoctorFactory(with_account=True).user
    login.set_unusable_password()
    login.save(update_fields=["password"])
    _refused_with_form_error(create(logged_in(clinic_admin_user), login))
    assert not AuthToken.objects.exists()


def test_no_token_for_a_superuser_or_an_inactive_integration(clinic_admin_user):
    from api.tests.factories import integration_user

    for login in (integration_user(is_superuser=True), integration_user(is_active=False)):
        response = create(logged_in(clinic_admin_user), login)
        assert response.status_code == 200
        assert shown_token(response) is None
    assert not AuthToken.objects.exists()


def test_the_token_form_says_whose_logins_it_takes(clinic_admin_user):
    page = logged_in(clinic_admin_user).get(reverse("admin:knox_authtoken_add"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "or a person" not in text
    assert "no usable password" in text


def test_creating_a_token_is_audited_without_its_text(clinic_admin_user, integration):
    from auditlog.models import LogEntry

    token = shown_token(create(logged_in(clinic_admin_user), integration))
    (entry,) = [
        entry
        for entry in LogEntry.objects.get_for_object(integration)
        if (entry.additional_data or {}).get("event") == "API token created"
    ]
    assert entry.additional_data["created_by"] == clinic_admin_user.pk
    assert entry.additional_data["login"] == integration.pk
    assert entry.actor == clinic_admin_user
    assert token not in str(entry.additional_data) and token not in str(entry.changes)
    assert token[:8] not in str(entry.additional_data)
