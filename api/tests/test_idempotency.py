"""The Idempotency-Key header: a retry returns the first answer and writes nothing more."""

import datetime as dt
import threading

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from api.idempotency import REPLAYED_HEADER, fingerprint, prune
from api.models import IdempotencyRecord
from api.tests import idempotency_urls
from api.tests.factories import client_with_token, token_for
from clinic.tests.concurrency import postgresql_only, run_concurrently
from doctors.models import Department

pytestmark = pytest.mark.urls("api.tests.idempotency_urls")


@pytest.fixture
def client(patient_user):
    return client_with_token(token_for(patient_user))


def post(client, path, body, key="key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(path, body, format="json", **headers)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/durable/", "/one-transaction/"])
def test_a_retry_returns_the_first_answer_and_writes_nothing(client, path):
    first = post(client, path, {"name": "Cardiology"})
    assert first.status_code == 201
    assert REPLAYED_HEADER not in first
    again = post(client, path, {"name": "Cardiology"})
    assert again.status_code == 201
    assert again[REPLAYED_HEADER] == "true"
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert Department.objects.filter(name="Cardiology").count() == 1


@pytest.mark.django_db
def test_the_same_body_in_another_key_order_is_the_same_request(client):
    post(client, "/durable/", {"name": "Cardiology", "x": 1})
    again = post(client, "/durable/", {"x": 1, "name": "Cardiology"})
    assert again[REPLAYED_HEADER] == "true"


@pytest.mark.django_db
def test_without_a_key_each_request_runs(client):
    post(client, "/durable/", {"name": "One"}, key=None)
    post(client, "/durable/", {"name": "Two"}, key=None)
    assert Department.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_422_and_runs_nothing(client):
    post(client, "/durable/", {"name": "Cardiology"})
    response = post(client, "/durable/", {"name": "Neurology"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert not Department.objects.filter(name="Neurology").exists()


@pytest.mark.django_db
def test_the_same_key_on_another_path_is_422(client):
    post(client, "/durable/", {"name": "Cardiology"})
    response = post(client, "/one-transaction/", {"name": "Cardiology"})
    assert response.status_code == 422


@pytest.mark.django_db
def test_keys_belong_to_their_login(client, other_patient_user):
    post(client, "/durable/", {"name": "Cardiology"})
    other = client_with_token(token_for(other_patient_user))
    response = post(other, "/durable/", {"name": "Neurology"})
    assert response.status_code == 201
    assert REPLAYED_HEADER not in response


@pytest.mark.django_db
def test_tokens_of_one_login_share_its_keys(client, patient_user):
    post(client, "/durable/", {"name": "Cardiology"})
    second_token = client_with_token(token_for(patient_user))
    assert post(second_token, "/durable/", {"name": "Cardiology"})[REPLAYED_HEADER] == "true"


@pytest.mark.django_db
def test_a_refusal_is_remembered_and_replayed(client):
    first = post(client, "/durable/", {"name": "refused"})
    assert first.status_code == 422
    assert first.json()["error"]["code"] == "outside_window"
    again = post(client, "/durable/", {"name": "refused"})
    assert again.status_code == 422
    assert again[REPLAYED_HEADER] == "true"
    assert again.json() == first.json()


@pytest.mark.django_db
def test_a_fault_forgets_the_key_so_a_retry_runs_again(client):
    from rest_framework.test import APIClient

    faulty = APIClient(raise_request_exception=False)
    faulty.credentials(**client._credentials)
    assert post(faulty, "/durable/", {"name": "fault"}).status_code == 500
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_in_one_transaction_a_5xx_answer_is_not_remembered(client):
    # A durable service's 5xx after its commit is kept: test_idempotency_after_commit.py.
    response = post(client, "/one-transaction/", {"name": "Flaky", "then": "server_error"})
    assert response.status_code == 503
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_in_one_transaction_a_5xx_undoes_the_write(client):
    post(client, "/one-transaction/", {"name": "Flaky", "then": "server_error"})
    assert not Department.objects.filter(name="Flaky").exists()


@pytest.mark.django_db
def test_in_one_transaction_a_refusal_undoes_the_views_writes_but_is_remembered(client):
    first = post(client, "/one-transaction/", {"name": "Half", "then": "refuse"})
    assert first.status_code == 422
    assert not Department.objects.filter(name="Half").exists()
    again = post(client, "/one-transaction/", {"name": "Half", "then": "refuse"})
    assert again[REPLAYED_HEADER] == "true"


@pytest.mark.django_db
def test_a_request_still_in_progress_is_409(client, patient_user):
    # What a first request leaves while its service runs (or after a crash before it finished).
    IdempotencyRecord.objects.create(
        user=patient_user,
        key="key-1",
        method="POST",
        path="/durable/",
        fingerprint=_fingerprint({"name": "Cardiology"}),
    )
    response = post(client, "/durable/", {"name": "Cardiology"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_progress"
    assert response["Retry-After"] == "1"
    assert not Department.objects.filter(name="Cardiology").exists()


def _fingerprint(body):
    """The fingerprint the decorator computes for POST /durable/ with `body`."""
    django_request = APIRequestFactory().post("/durable/", body, format="json")
    return fingerprint(Request(django_request, parsers=[JSONParser()]))


@pytest.mark.django_db
def test_an_expired_key_may_be_used_again(client, settings):
    post(client, "/durable/", {"name": "Cardiology"})
    IdempotencyRecord.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))
    response = post(client, "/durable/", {"name": "Neurology"})
    assert response.status_code == 201
    assert REPLAYED_HEADER not in response


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_a_bad_key_is_400(client, key):
    response = post(client, "/durable/", {"name": "Cardiology"}, key=key)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert not Department.objects.exists()


@pytest.mark.django_db
def test_an_anonymous_caller_cannot_use_a_key():
    from rest_framework.test import APIClient

    response = post(APIClient(), "/open/", {"name": "Cardiology"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_idempotency_key"
    assert not Department.objects.exists()
    assert post(APIClient(), "/open/", {"name": "Cardiology"}, key=None).status_code == 201


@pytest.mark.django_db
def test_in_one_transaction_if_storing_the_answer_fails_nothing_is_kept(client, monkeypatch):
    from api import idempotency

    def fail(record, response):
        raise ConnectionError("the database went away")

    monkeypatch.setattr(idempotency, "complete", fail)
    client.raise_request_exception = False
    response = post(client, "/one-transaction/", {"name": "Cardiology"})
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "server_error"
    assert not IdempotencyRecord.objects.exists()
    assert not Department.objects.exists()


@pytest.mark.django_db
def test_a_record_names_its_request(client):
    post(client, "/durable/", {"name": "Cardiology"})
    assert str(IdempotencyRecord.objects.get()) == "POST /durable/ (Complete)"


@pytest.mark.django_db
def test_pruning_forgets_only_expired_records(client, patient_user):
    post(client, "/durable/", {"name": "Old"}, key="old")
    post(client, "/durable/", {"name": "New"}, key="new")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - dt.timedelta(hours=25)
    )
    assert prune() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db
def test_the_prune_command_reports_what_it_removed(client, capsys):
    post(client, "/durable/", {"name": "Old"}, key="old")
    IdempotencyRecord.objects.update(created_at=timezone.now() - dt.timedelta(days=2))
    call_command("prune_idempotency_records")
    assert "Removed 1 expired" in capsys.readouterr().out
    assert not IdempotencyRecord.objects.exists()


# Concurrent retries on PostgreSQL -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_retry_while_the_first_runs_is_409_and_never_a_second_write(patient_user):
    postgresql_only()
    token = token_for(patient_user)
    idempotency_urls.entered.clear()
    idempotency_urls.release.clear()
    outcome = {}

    def first():
        outcome["first"] = post(client_with_token(token), "/blocking/", {"name": "Cardiology"})

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert idempotency_urls.entered.wait(30)
        retry = post(client_with_token(token), "/blocking/", {"name": "Cardiology"})
        assert retry.status_code == 409
        assert retry.json()["error"]["code"] == "idempotency_in_progress"
    finally:
        idempotency_urls.release.set()
        thread.join(30)
    assert outcome["first"].status_code == 201
    replay = post(client_with_token(token), "/blocking/", {"name": "Cardiology"})
    assert replay.status_code == 201 and replay[REPLAYED_HEADER] == "true"
    assert Department.objects.filter(name="Cardiology").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("path", ["/durable/", "/one-transaction/"])
def test_two_concurrent_first_requests_write_once(patient_user, path):
    postgresql_only()
    token = token_for(patient_user)
    for round_number in range(5):
        key = f"race-{round_number}"
        name = f"Department {round_number}"

        def send(key=key, name=name):
            return post(client_with_token(token), path, {"name": name}, key=key)

        outcomes = run_concurrently(send, send)
        statuses = sorted(response.status_code for response in outcomes)
        assert statuses in ([201, 201], [201, 409]), statuses
        fresh = [r for r in outcomes if r.status_code == 201 and REPLAYED_HEADER not in r]
        assert len(fresh) == 1
        assert Department.objects.filter(name=name).count() == 1
