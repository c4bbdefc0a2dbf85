"""Opening a patient, appointment or payment in the admin leaves a "viewed" entry."""

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from accounts.tests.factories import PatientFactory
from billing.tests.factories import PaymentFactory
from bookings.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("factory", "url_name"),
    [
        (PatientFactory, "admin:accounts_patient_change"),
        (AppointmentFactory, "admin:bookings_appointment_change"),
        (PaymentFactory, "admin:billing_payment_change"),
    ],
)
def test_opening_a_record_in_the_admin_is_recorded(client, clinic_admin_user, factory, url_name):
    record = factory()
    client.force_login(clinic_admin_user)
    before = LogEntry.objects.filter(action=LogEntry.Action.ACCESS).count()

    response = client.get(reverse(url_name, args=[record.pk]))

    assert response.status_code == 200
    entry = LogEntry.objects.filter(action=LogEntry.Action.ACCESS).latest("timestamp")
    assert LogEntry.objects.filter(action=LogEntry.Action.ACCESS).count() == before + 1
    assert entry.object_pk == str(record.pk)
    assert entry.actor == clinic_admin_user


def test_the_changelist_alone_records_no_view(client, clinic_admin_user):
    PatientFactory()
    client.force_login(clinic_admin_user)
    client.get(reverse("admin:accounts_patient_changelist"))
    assert not LogEntry.objects.filter(action=LogEntry.Action.ACCESS).exists()
