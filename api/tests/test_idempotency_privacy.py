"""Stored answers to idempotent writes carry personal details (a new patient's name, a booking's
patient): expired ones go without anyone running the prune command, and closing an account
removes the login's own and blanks the answers that name the patient."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Patient
from accounts.roles import Role
from accounts.tests.factories import PatientFactory, UserFactory
from api.idempotency import REPLAYED_HEADER
from api.models import IdempotencyRecord
from api.tests.factories import client_for, integration_user
from clinic.privacy import close_patient_account

pytestmark = pytest.mark.django_db

NEW = {
    "full_name": "Devi Newcomer",
    "date_of_birth": "1990-04-02",
    "sex": "female",
    "phone": "+919876543210",
}


def record(user, key, body, path="/api/v1/appointments/", hours_old=0):
    row = IdempotencyRecord.objects.create(
        user=user,
        key=key,
        method="POST",
        path=path,
        fingerprint="0" * 64,
        state=IdempotencyRecord.State.COMPLETE,
        response_status=201,
        response_body=body,
    )
    if hours_old:
        IdempotencyRecord.objects.filter(pk=row.pk).update(
            created_at=timezone.now() - dt.timedelta(hours=hours_old)
        )
    return row


def test_a_keyed_write_forgets_every_expired_answer_not_only_its_own(patient_user):
    other = UserFactory(roles=[Role.FRONT_DESK], is_staff=True)
    old = record(other, "old", {"patient": {"id": 1, "full_name": "Asha Rao"}}, hours_old=25)
    recent = record(other, "recent", {"patient": {"id": 1, "full_name": "Asha Rao"}})
    integration = integration_user()
    response = client_for(integration).post(
        reverse("api:patients"), NEW, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert response.status_code == 201, response.content
    assert not IdempotencyRecord.objects.filter(pk=old.pk).exists()
    assert IdempotencyRecord.objects.filter(pk=recent.pk).exists()


def test_closing_an_account_removes_the_logins_own_records():
    patient = PatientFactory(with_account=True)
    login = patient.user
    record(login, "mine", {"patient": {"id": patient.pk, "full_name": patient.full_name}})
    close_patient_account(patient=patient)
    assert not IdempotencyRecord.objects.filter(user=login).exists()


def test_closing_an_account_blanks_the_desks_answers_that_name_the_patient():
    patient = PatientFactory(with_account=True)
    someone_else = PatientFactory()
    desk = UserFactory(roles=[Role.FRONT_DESK], is_staff=True)
    booking = record(desk, "book", {"id": 7, "patient": {"id": patient.pk, "full_name": "A"}})
    payment = record(
        desk,
        "pay",
        {"id": 3, "patient_name": "A", "appointment": {"id": 7, "patient_id": patient.pk}},
        path="/api/v1/payments/3/refund/",
    )
    added = record(desk, "add", {"id": patient.pk, "full_name": "A"}, path="/api/v1/patients/")
    unrelated = record(
        desk, "other", {"id": 8, "patient": {"id": someone_else.pk, "full_name": "B"}}
    )
    close_patient_account(patient=patient)
    for row in (booking, payment, added):
        row.refresh_from_db()
        # Kept, so that a retry of that write still writes nothing; without the details.
        assert row.state == IdempotencyRecord.State.COMPLETE
        assert row.response_body is None
    unrelated.refresh_from_db()
    assert unrelated.response_body["patient"]["full_name"] == "B"


def test_a_retry_after_closing_replays_the_status_and_adds_no_one():
    integration = integration_user()
    client = client_for(integration)
    first = client.post(reverse("api:patients"), NEW, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    patient = Patient.objects.get(pk=first.json()["id"])
    close_patient_account(patient=patient)
    again = client.post(reverse("api:patients"), NEW, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again[REPLAYED_HEADER] == "true"
    assert "Devi" not in again.content.decode()
    assert Patient.objects.count() == 1
