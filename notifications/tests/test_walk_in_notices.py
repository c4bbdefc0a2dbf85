"""Notices to a walk-in patient, who has no login, do not send them to the portal: they are told
to call the clinic. Patients with a login still get the portal line (issue 18, item 5)."""

import pytest

from accounts.tests.factories import PatientFactory
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import ClinicFactory
from notifications import delivery
from notifications.models import Notification
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
SMS = Notification.Channel.SMS
EMAIL = Notification.Channel.EMAIL
# The notices that tell the patient how to change or cancel.
PORTAL_KINDS = [Kind.CONFIRMATION, Kind.REMINDER, Kind.CANCELLATION]


@pytest.fixture(autouse=True)
def clinic_name(settings):
    settings.CLINIC_NAME = "Sunrise Health"  # not the default "Clinic portal"


def notice(patient, kind, channel):
    appointment = AppointmentFactory(
        patient=patient, clinic=ClinicFactory(name="Lakeview", phone="+918012345678")
    )
    address = patient.phone if channel == SMS else patient.email
    return NotificationFactory(
        appointment=appointment, kind=kind, channel=channel, address=address, lead_minutes=120
    )


def texts(notification):
    if notification.channel == SMS:
        return [delivery.render_sms(notification)]
    message = delivery.render_email(notification)
    return [message.body, message.alternatives[0][0]]


@pytest.mark.parametrize("kind", [Kind.CONFIRMATION, Kind.REMINDER])
def test_a_walk_in_patients_sms_says_to_call_the_clinic_not_the_portal(kind):
    [body] = texts(notice(PatientFactory(), kind, SMS))
    assert "portal" not in body.lower()
    assert "+918012345678" in body


@pytest.mark.parametrize("kind", PORTAL_KINDS)
def test_a_walk_in_patients_email_does_not_mention_the_portal(kind):
    for text in texts(notice(PatientFactory(), kind, EMAIL)):
        assert "portal" not in text.lower()
        assert "call the clinic" in text.lower() or "+918012345678" in text


@pytest.mark.parametrize("kind", [Kind.CONFIRMATION, Kind.REMINDER])
def test_a_patient_with_a_login_is_still_sent_to_the_portal_by_sms(kind):
    [body] = texts(notice(PatientFactory(with_account=True), kind, SMS))
    assert "portal" in body.lower()


@pytest.mark.parametrize("kind", PORTAL_KINDS)
def test_a_patient_with_a_login_is_still_sent_to_the_portal_by_email(kind):
    for text in texts(notice(PatientFactory(with_account=True), kind, EMAIL)):
        assert "portal" in text.lower()
