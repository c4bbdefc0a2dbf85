"""Webhooks in the admin: clinic admins register endpoints (their secret shown on the endpoint's
page), send test events, make new secrets, and watch and send again the deliveries; the front
desk is refused, doctors and patients never reach the admin. Bad input saves nothing."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from notifications.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from notifications.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db

State = WebhookDelivery.State
ENDPOINTS = reverse("admin:notifications_webhookendpoint_changelist")
ADD_ENDPOINT = reverse("admin:notifications_webhookendpoint_add")
DELIVERIES = reverse("admin:notifications_webhookdelivery_changelist")


@pytest.fixture(autouse=True)
def public_receivers_only(settings):
    settings.WEBHOOK_ALLOW_LOCAL_RECEIVERS = False
    settings.OTP_REQUIRED_FOR_CLINIC_ADMINS = False


@pytest.fixture
def admin_client(client, clinic_admin_user):
    client.force_login(clinic_admin_user)
    return client


def endpoint_form(**overrides):
    return {
        "description": "Lakeview EHR",
        "url": "https://ehr.example.com/hooks/clinic",
        "events": ["appointment.booked", "appointment.cancelled", "payment.recorded"],
        "format": "json",
        "active": "on",
        **overrides,
    }


# Who reaches what --------------------------------------------------------------------------------


def pages(endpoint, delivery):
    return [
        ENDPOINTS,
        ADD_ENDPOINT,
        reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk]),
        DELIVERIES,
        reverse("admin:notifications_webhookdelivery_change", args=[delivery.pk]),
    ]


def test_a_clinic_admin_reaches_every_webhook_page(admin_client):
    delivery = WebhookDeliveryFactory()
    for url in pages(delivery.endpoint, delivery):
        assert admin_client.get(url).status_code == 200, url


def test_the_front_desk_is_refused_every_webhook_page(client, front_desk_user):
    delivery = WebhookDeliveryFactory()
    client.force_login(front_desk_user)
    for url in pages(delivery.endpoint, delivery):
        assert client.get(url).status_code == 403, url
    response = client.post(DELIVERIES, {"action": "send_again", "_selected_action": [delivery.pk]})
    assert response.status_code == 403
    assert client.post(ADD_ENDPOINT, endpoint_form()).status_code == 403
    assert WebhookEndpoint.objects.count() == 1


def test_the_admin_index_shows_the_front_desk_no_webhooks(client, front_desk_user):
    client.force_login(front_desk_user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert b"webhook" not in response.content.lower()


@pytest.mark.parametrize("who", ["doctor_user", "patient_user"])
def test_doctors_and_patients_are_sent_to_the_admin_login(client, request, who):
    delivery = WebhookDeliveryFactory()
    client.force_login(request.getfixturevalue(who))
    for url in pages(delivery.endpoint, delivery):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("admin:login")), url


# Registering an endpoint -------------------------------------------------------------------------


def test_a_clinic_admin_registers_an_endpoint_and_sees_its_secret(admin_client):
    response = admin_client.post(ADD_ENDPOINT, endpoint_form())

    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == "https://ehr.example.com/hooks/clinic"
    assert endpoint.events == ["appointment.booked", "appointment.cancelled", "payment.recorded"]
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
    page = admin_client.get(
        reverse("admin:notifications_webhookendpoint_change", args=[endpoint.pk])
    )
    assert endpoint.secret in page.content.decode()


def test_every_endpoint_gets_its_own_secret():
    first, second = WebhookEndpointFactory(), WebhookEndpointFactory()
    assert first.secret != second.secret


def test_the_secret_cannot_be_set_through_the_form(admin_client):
    admin_client.post(ADD_ENDPOINT, endpoint_form(secret="whsec_chosen"))
    assert WebhookEndpoint.objects.get().secret != "whsec_chosen"


BAD_URLS = {
    "plain http": "http://ehr.example.com/hooks",
    "not a URL": "ehr example com",
    "another scheme": "ftp://ehr.example.com/hooks",
    "localhost": "https://localhost/hooks",
    "a .localhost name": "https://ehr.localhost/hooks",
    "a .local name": "https://ehr.local/hooks",
    "loopback": "https://127.0.0.1:8443/hooks",
    "IPv6 loopback": "https://[::1]/hooks",
    "cloud metadata": "https://169.254.169.254/latest/meta-data/",
    "private network": "https://10.1.2.3/hooks",
    "unspecified": "https://0.0.0.0/hooks",
    "multicast": "https://224.0.0.1/hooks",
    "IPv4-mapped loopback": "https://[::ffff:127.0.0.1]/hooks",
    "NAT64 loopback": "https://[64:ff9b::7f00:1]/hooks",
    "NAT64 cloud metadata": "https://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
    "NAT64 local-use prefix": "https://[64:ff9b:1::a01:203]/hooks",
    "6to4 private network": "https://[2002:a01:203::1]/hooks",
    "6to4 loopback": "https://[2002:7f00:1::]/hooks",
    "IPv4-compatible loopback": "https://[::127.0.0.1]/hooks",
    "IPv4-compatible private network": "https://[::192.168.1.1]/hooks",
    "loopback as a number": "https://2130706433/hooks",
    "a login in the URL": "https://user:secret@ehr.example.com/hooks",
}


@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_an_obviously_bad_url_shows_an_error_and_saves_nothing(admin_client, url):
    response = admin_client.post(ADD_ENDPOINT, endpoint_form(url=url))

    assert response.status_code == 200
    assert "url" in response.context["adminform"].form.errors
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "https://[64:ff9b::808:808]/hooks",  # NAT64 of a public address
        "https://[2002:808:808::1]/hooks",  # 6to4 of a public address
        "https://[2606:4700:4700::1111]/hooks",
    ],
)
def test_ipv6_forms_of_a_public_address_are_allowed(admin_client, url):
    response = admin_client.post(ADD_ENDPOINT, endpoint_form(url=url))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert WebhookEndpoint.objects.get().url == url


def test_a_local_receiver_is_allowed_when_the_setting_says_so(admin_client, settings):
    settings.WEBHOOK_ALLOW_LOCAL_RECEIVERS = True

    response = admin_client.post(ADD_ENDPOINT, endpoint_form(url="http://127.0.0.1:8001/hooks"))

    assert response.status_code == 302
    assert WebhookEndpoint.objects.get().url == "http://127.0.0.1:8001/hooks"


def test_no_events_shows_an_error_and_saves_nothing(admin_client):
    data = endpoint_form()
    del data["events"]

    response = admin_client.post(ADD_ENDPOINT, data)

    assert response.status_code == 200
    assert "events" in response.context["adminform"].form.errors
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("events", [["webhook.test"], ["appointment.moved"]])
def test_an_event_not_offered_is_refused(admin_client, events):
    response = admin_client.post(ADD_ENDPOINT, endpoint_form(events=events))

    assert response.status_code == 200
    assert "events" in response.context["adminform"].form.errors
    assert not WebhookEndpoint.objects.exists()


def test_a_fhir_endpoint_takes_appointment_events_only(admin_client):
    response = admin_client.post(ADD_ENDPOINT, endpoint_form(format="fhir"))

    assert response.status_code == 200
    assert "payment events need an endpoint in the JSON format" in str(
        response.context["adminform"].form.errors["events"]
    )
    assert not WebhookEndpoint.objects.exists()

    response = admin_client.post(
        ADD_ENDPOINT, endpoint_form(format="fhir", events=["appointment.booked"])
    )
    assert response.status_code == 302
    assert WebhookEndpoint.objects.get().format == "fhir"


def test_an_endpoint_deleted_takes_its_deliveries_with_it(admin_client):
    delivery = WebhookDeliveryFactory()
    url = reverse("admin:notifications_webhookendpoint_delete", args=[delivery.endpoint.pk])

    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()


# Actions -----------------------------------------------------------------------------------------


def test_send_a_test_event_queues_one_for_each_active_endpoint_selected(admin_client):
    active, inactive = WebhookEndpointFactory(), WebhookEndpointFactory(active=False)

    response = admin_client.post(
        ENDPOINTS, {"action": "send_test_event", "_selected_action": [active.pk, inactive.pk]}
    )

    assert response.status_code == 302
    [delivery] = WebhookDelivery.objects.all()
    assert (delivery.endpoint, delivery.event_type, delivery.state) == (
        active,
        WebhookEvent.TEST,
        State.PENDING,
    )


def test_make_a_new_secret_replaces_the_secret(admin_client):
    endpoint = WebhookEndpointFactory()
    old = endpoint.secret

    admin_client.post(ENDPOINTS, {"action": "new_secret", "_selected_action": [endpoint.pk]})

    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret.startswith("whsec_")


def test_send_again_puts_failed_and_delivered_deliveries_back_with_the_same_event(admin_client):
    failed = WebhookDeliveryFactory(
        state=State.FAILED, attempts=7, last_status=500, last_error="HTTP 500"
    )
    delivered = WebhookDeliveryFactory(state=State.DELIVERED, attempts=1, last_status=200)
    waiting = WebhookDeliveryFactory(attempts=2)
    before = {d.pk: (d.event_id, d.body) for d in (failed, delivered, waiting)}

    response = admin_client.post(
        DELIVERIES,
        {"action": "send_again", "_selected_action": [failed.pk, delivered.pk, waiting.pk]},
    )

    assert response.status_code == 302
    for delivery in (failed, delivered):
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts, delivery.last_error) == (State.PENDING, 0, "")
        assert (delivery.event_id, delivery.body) == before[delivery.pk]
    waiting.refresh_from_db()
    assert waiting.attempts == 2  # a delivery still waiting is left as it is


# The deliveries list ------------------------------------------------------------------------------


def test_the_deliveries_list_shows_endpoint_event_state_attempts_and_last_status(admin_client):
    endpoint = WebhookEndpointFactory(description="Lakeview EHR")
    WebhookDeliveryFactory(
        endpoint=endpoint,
        event_type=WebhookEvent.PAYMENT_REFUNDED,
        state=State.FAILED,
        attempts=7,
        last_status=503,
    )

    response = admin_client.get(DELIVERIES)

    page = response.content.decode()
    for shown in ("Lakeview EHR", "Payment refunded", "Failed", ">7<", ">503<"):
        assert shown in page


def test_the_deliveries_list_filters_by_state_and_event(admin_client):
    WebhookDeliveryFactory(state=State.FAILED, event_type=WebhookEvent.PAYMENT_RECORDED)
    WebhookDeliveryFactory(state=State.FAILED)
    WebhookDeliveryFactory(state=State.DELIVERED)

    assert admin_client.get(DELIVERIES, {"state": "failed"}).context["cl"].result_count == 2
    filtered = admin_client.get(DELIVERIES, {"state": "failed", "event_type": "payment.recorded"})
    assert filtered.context["cl"].result_count == 1


def test_the_deliveries_list_costs_the_same_for_one_row_or_many(admin_client):
    WebhookDeliveryFactory()

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(DELIVERIES).status_code == 200
        return len(captured)

    one = queries()
    WebhookDeliveryFactory.create_batch(5)  # each with its own endpoint
    assert queries() == one


def test_deliveries_are_neither_added_nor_changed_nor_deleted_by_hand(admin_client):
    delivery = WebhookDeliveryFactory()
    change = reverse("admin:notifications_webhookdelivery_change", args=[delivery.pk])

    assert admin_client.get(reverse("admin:notifications_webhookdelivery_add")).status_code == 403
    admin_client.post(change, {"body": "{}", "state": "delivered"})
    delivery.refresh_from_db()
    assert (delivery.state, delivery.body) != (State.DELIVERED, "{}")
    delete = reverse("admin:notifications_webhookdelivery_delete", args=[delivery.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert WebhookDelivery.objects.filter(pk=delivery.pk).exists()
