"""Which address the lock-out and the throttles count: the connection's own (REMOTE_ADDR) unless
the portal is told it sits behind proxies of its own, whose X-Forwarded-For it then reads from
the right. Were the header always trusted, a client could pick a fresh address for every try;
were it never read behind a proxy, every visitor would share the proxy's one address."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from accounts.ratelimits import client_ip
from accounts.tests.factories import PatientFactory

LOAD_BALANCER = "10.0.0.9"


def request_from(remote_addr, forwarded_for=None):
    headers = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return RequestFactory().post("/", **headers)


def test_without_a_proxy_the_forwarded_header_is_ignored():
    assert client_ip(request_from("203.0.113.7", forwarded_for="198.51.100.1")) == "203.0.113.7"


@pytest.fixture
def behind_one_proxy(settings):
    # What BEHIND_TLS_PROXY=true sets in clinic/settings.py (PROXY_COUNT defaults to 1).
    settings.CLIENT_ADDRESS_PROXY_COUNT = 1


def test_behind_a_proxy_each_client_is_counted_by_its_own_address(behind_one_proxy):
    # The proxy connects to us (REMOTE_ADDR) and appends the client it serves to the header.
    first = client_ip(request_from(LOAD_BALANCER, forwarded_for="203.0.113.7"))
    second = client_ip(request_from(LOAD_BALANCER, forwarded_for="198.51.100.1"))
    assert (first, second) == ("203.0.113.7", "198.51.100.1")


def test_behind_a_proxy_a_client_cannot_choose_its_address_by_sending_the_header(
    behind_one_proxy,
):
    # The client sent "X-Forwarded-For: 192.0.2.55"; our proxy appended the real address.
    spoofed = request_from(LOAD_BALANCER, forwarded_for="192.0.2.55, 203.0.113.7")
    assert client_ip(spoofed) == "203.0.113.7"


def test_behind_two_proxies_the_entry_the_outer_one_wrote_is_the_client(settings):
    settings.CLIENT_ADDRESS_PROXY_COUNT = 2
    # Client -> CDN (appends the client) -> load balancer (appends the CDN) -> the portal.
    request = request_from(LOAD_BALANCER, forwarded_for="192.0.2.55, 203.0.113.7, 10.1.1.1")
    assert client_ip(request) == "203.0.113.7"


@pytest.mark.parametrize("forwarded_for", [None, "", "not-an-address", " , "])
def test_a_missing_or_unreadable_header_falls_back_to_the_connection(
    behind_one_proxy, forwarded_for
):
    assert client_ip(request_from(LOAD_BALANCER, forwarded_for=forwarded_for)) == LOAD_BALANCER


@pytest.mark.django_db
def test_the_login_lock_out_counts_clients_behind_the_proxy_apart(client, settings):
    settings.CLIENT_ADDRESS_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 2
    patient = PatientFactory(with_account=True)
    login = reverse("accounts:login")
    wrong = {"username": patient.user.email, "password": "not-the-password"}
    for _ in range(2):
        client.post(login, wrong, REMOTE_ADDR=LOAD_BALANCER, HTTP_X_FORWARDED_FOR="203.0.113.7")
    locked = client.post(
        login, wrong, REMOTE_ADDR=LOAD_BALANCER, HTTP_X_FORWARDED_FOR="203.0.113.7"
    )
    elsewhere = client.post(
        login, wrong, REMOTE_ADDR=LOAD_BALANCER, HTTP_X_FORWARDED_FOR="198.51.100.1"
    )
    assert locked.status_code == 429
    assert elsewhere.status_code == 200
