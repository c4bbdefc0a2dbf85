"""A key whose service has committed is never forgotten: whatever fails afterwards (building
the answer, storing it), a retry with that key writes nothing more. A failure before the
service committed forgets the key, so that a retry runs afresh."""

import pytest
from rest_framework.test import APIClient

from api import idempotency
from api.models import IdempotencyRecord
from api.tests.factories import token_for
from doctors.models import Department

pytestmark = pytest.mark.urls("api.tests.idempotency_urls")


@pytest.fixture
def client(patient_user):
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(patient_user)}")
    return client


def post(client, body, key="key-1"):
    return client.post("/durable/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def fail_to_store(monkeypatch):
    def fail(record, response):
        raise ConnectionError("the database went away")

    monkeypatch.setattr(idempotency, "complete", fail)


def assert_retry_is_in_progress_and_writes_nothing(client, body, name):
    retry = post(client, body)
    assert retry.status_code == 409
    assert retry.json()["error"]["code"] == "idempotency_in_progress"
    assert Department.objects.filter(name=name).count() == 1


def _after_commit_cases(client, monkeypatch):
    fail_to_store(monkeypatch)
    first = post(client, {"name": "Cardiology"})
    assert first.status_code == 500
    assert IdempotencyRecord.objects.get().state == IdempotencyRecord.State.IN_PROGRESS
    monkeypatch.undo()
    assert_retry_is_in_progress_and_writes_nothing(client, {"name": "Cardiology"}, "Cardiology")


@pytest.mark.django_db
def test_if_storing_the_answer_fails_after_the_service_committed_a_retry_writes_nothing(
    client, monkeypatch
):
    _after_commit_cases(client, monkeypatch)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_after_a_real_commit_a_failure_to_store_keeps_the_key(client, monkeypatch):
    # Without the test's own transaction: the service's commit is a real one.
    _after_commit_cases(client, monkeypatch)


@pytest.mark.django_db
def test_a_fault_building_the_answer_after_the_commit_keeps_the_key(client):
    body = {"name": "Cardiology", "then": "fault_after_commit"}
    assert post(client, body).status_code == 500
    assert IdempotencyRecord.objects.get().state == IdempotencyRecord.State.IN_PROGRESS
    assert_retry_is_in_progress_and_writes_nothing(client, body, "Cardiology")


@pytest.mark.django_db
def test_a_5xx_answer_after_the_commit_keeps_the_key(client):
    body = {"name": "Flaky", "then": "server_error"}
    assert post(client, body).status_code == 503
    assert_retry_is_in_progress_and_writes_nothing(client, body, "Flaky")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("then", ["fault_before_commit", "nothing written"])
def test_a_fault_before_the_service_committed_forgets_the_key(client, then):
    body = {"name": "fault" if then == "nothing written" else "Rolled back", "then": then}
    assert post(client, body).status_code == 500
    assert not IdempotencyRecord.objects.exists()
    assert not Department.objects.exists()


@pytest.mark.django_db
def test_a_5xx_answer_before_anything_was_written_forgets_the_key(client):
    assert post(client, {"name": "unavailable"}).status_code == 503
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_a_database_error_before_anything_was_written_forgets_the_key(client):
    # Raised through the view (a time-out would be 503 "busy"); nothing was committed.
    assert post(client, {"name": "busy"}).status_code == 500
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_write_outside_a_transaction_counts_as_committed(client):
    # A view's bare UPDATE commits at once (autocommit): its 5xx answer must not free the key.
    Department.objects.create(name="Saved", opens_at="09:00", closes_at="17:00")
    body = {"name": "Saved", "then": "touch"}
    response = client.post("/open/", body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert response.status_code == 503
    assert IdempotencyRecord.objects.get().state == IdempotencyRecord.State.IN_PROGRESS
    again = client.post("/open/", body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert again.status_code == 409
    assert Department.objects.filter(name="Saved").count() == 1


@pytest.mark.django_db
def test_a_fault_in_a_rolled_back_savepoint_forgets_the_key(client):
    # Inside the test's transaction the service's block is a savepoint; rolled back, it wrote
    # nothing, so the retry may run again.
    body = {"name": "Rolled back", "then": "fault_before_commit"}
    assert post(client, body).status_code == 500
    assert not IdempotencyRecord.objects.exists()
    assert not Department.objects.exists()


@pytest.mark.django_db
@pytest.mark.urls("clinic.urls")
def test_a_payment_whose_answer_was_not_stored_is_not_recorded_again(monkeypatch):
    from django.urls import reverse

    from accounts.roles import Role
    from accounts.tests.factories import UserFactory
    from billing.models import Payment
    from billing.tests.factories import ChargeFactory

    desk = UserFactory(roles=[Role.FRONT_DESK], is_staff=True)
    charge = ChargeFactory()
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(desk)}")
    url = reverse("api:appointment_payments", kwargs={"appointment_pk": charge.appointment_id})
    body = {"amount": "100.00", "mode": "cash", "reference": ""}
    fail_to_store(monkeypatch)
    assert client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1").status_code == 500
    monkeypatch.undo()
    retry = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    assert retry.status_code == 409
    assert retry.json()["error"]["code"] == "idempotency_in_progress"
    assert Payment.objects.filter(charge=charge).count() == 1


def test_the_busy_answer_does_not_promise_that_nothing_was_saved(rf):
    import json

    from django.db import OperationalError

    from clinic.database_timeouts import QUERY_CANCELED, DatabaseTimeoutsMiddleware

    error = OperationalError("canceling statement due to statement timeout")
    cause = Exception("statement timeout")
    cause.pgcode = QUERY_CANCELED
    error.__cause__ = cause
    middleware = DatabaseTimeoutsMiddleware(lambda request: None)
    response = middleware.process_exception(rf.post("/api/v1/appointments/"), error)
    assert response.status_code == 503
    message = json.loads(response.content)["error"]["message"]
    assert "may not have been saved" in message and "Idempotency-Key" in message
