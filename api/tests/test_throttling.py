"""Writes are throttled per token, reads more generously; a refusal is 429 "throttled"."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from api.tests.factories import client_with_token, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    def set_rates(**rates):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                **rates,
            },
        }

    return set_rates


def test_reads_over_the_rate_are_429_with_retry_after(patient_user, rates):
    rates(api_read="2/m")
    client = client_with_token(token_for(patient_user))
    assert client.get(reverse("api:me")).status_code == 200
    assert client.get(reverse("api:me")).status_code == 200
    response = client.get(reverse("api:me"))
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_each_token_has_its_own_allowance(patient_user, rates):
    rates(api_write="1/m")
    first = client_with_token(token_for(patient_user))
    second = client_with_token(token_for(patient_user))
    # DELETE of the token is a write; each token is counted on its own.
    assert first.delete(reverse("api:token")).status_code == 204
    assert second.delete(reverse("api:token")).status_code == 204


def test_writes_are_counted_apart_from_reads(patient_user, rates):
    rates(api_write="1/m", api_read="100/m")
    client = client_with_token(token_for(patient_user))
    token = token_for(patient_user)
    # One write (a revocation) uses the write allowance of this caller...
    assert client_with_token(token).delete(reverse("api:token")).status_code == 204
    for _ in range(5):
        assert client.get(reverse("api:me")).status_code == 200


def test_a_second_write_by_one_token_is_throttled(patient_user, rates):
    rates(api_write="1/m")
    client = client_with_token(token_for(patient_user))
    # A write the view refuses still counts: the throttle comes first.
    assert client.post(reverse("api:me"), {}, format="json").status_code == 405
    response = client.post(reverse("api:me"), {}, format="json")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"


def test_anonymous_reads_are_counted_per_address(rates):
    rates(api_read="1/m")
    here = APIClient(REMOTE_ADDR="198.51.100.1")
    there = APIClient(REMOTE_ADDR="198.51.100.2")
    assert here.get(reverse("api:departments")).status_code == 200
    assert here.get(reverse("api:departments")).status_code == 429
    assert there.get(reverse("api:departments")).status_code == 200


def test_a_session_is_counted_per_login(patient_user, rates):
    rates(api_read="1/m")
    client = APIClient()
    client.force_login(patient_user)
    assert client.get(reverse("api:me")).status_code == 200
    assert client.get(reverse("api:me")).status_code == 429


def _token_login(client, forwarded_for):
    return client.post(
        reverse("api:token"),
        {"email": "nobody@example.com", "password": "wrong"},
        format="json",
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_a_made_up_forwarded_for_gives_no_fresh_logins_without_a_proxy(settings, rates):
    # No proxy of the portal's own: whatever X-Forwarded-For says was written by the client.
    settings.CLIENT_ADDRESS_PROXY_COUNT = 0
    rates(api_login="2/m")
    client = APIClient(REMOTE_ADDR="198.51.100.7")
    assert _token_login(client, "203.0.113.1").status_code == 401
    assert _token_login(client, "203.0.113.2").status_code == 401
    response = _token_login(client, "203.0.113.3")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"


def test_behind_one_proxy_two_clients_are_counted_apart(settings, rates):
    settings.CLIENT_ADDRESS_PROXY_COUNT = 1
    rates(api_login="1/m")
    # Both arrive from the proxy's address; the proxy appended each client's own.
    proxy = APIClient(REMOTE_ADDR="10.0.0.2")
    assert _token_login(proxy, "203.0.113.1").status_code == 401
    assert _token_login(proxy, "203.0.113.2").status_code == 401
    # A client writing its own entry in front of the proxy's gains nothing by it.
    assert _token_login(proxy, "192.0.2.99, 203.0.113.1").status_code == 429
