"""The audit trail names who acted over the API. The audit middleware reads the logged-in user
before REST framework has looked at the token, so without help every change and every "viewed"
entry made with a token would be recorded as nobody's."""

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from api.tests.factories import client_for
from billing.models import Payment
from billing.tests.factories import ChargeFactory

pytestmark = pytest.mark.django_db


def entries_about(instance):
    return LogEntry.objects.get_for_object(instance)


def test_a_payment_recorded_and_its_receipt_read_with_a_token_name_the_desk():
    desk = UserFactory(roles=[Role.FRONT_DESK], is_staff=True)
    charge = ChargeFactory()
    client = client_for(desk)
    recorded = client.post(
        reverse("api:appointment_payments", kwargs={"appointment_pk": charge.appointment_id}),
        {"amount": str(charge.total), "mode": "cash", "reference": ""},
        format="json",
    )
    assert recorded.status_code == 201, recorded.content
    payment = Payment.objects.get(charge=charge)
    client.get(reverse("api:payment", kwargs={"pk": payment.pk}))
    entries = list(entries_about(payment))
    assert len(entries) >= 2  # created, then viewed
    assert {entry.actor for entry in entries} == {desk}
