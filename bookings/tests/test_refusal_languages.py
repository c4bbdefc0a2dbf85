"""The booking services' refusals are looked up in the language active when they are raised (the
request's: pages, API and FHIR answers alike), by their text with placeholders, and keep their
codes. A stand-in gettext marks what went through translation, so these tests need no catalogue.
"""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.tests.factories import PatientFactory
from bookings import services
from bookings.models import Appointment, Status
from bookings.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def looked_up(monkeypatch):
    """Replaces the services' gettext with one that records each message asked for and returns
    it marked, as a translation would return it in another language."""
    asked = []

    def fake_gettext(message):
        asked.append(message)
        return f"[hi] {message}"

    monkeypatch.setattr(services, "gettext", fake_gettext)
    return asked


@pytest.mark.parametrize(
    ("error", "code", "english"),
    [
        (services.SlotUnavailable, "slot_taken", "Sorry, that time was just taken."),
        (services.SlotHeld, "slot_taken", "Sorry, someone else is booking that time right now."),
        (services.HoldExpired, "hold_expired", "That hold has expired, been used or been let go"),
    ],
)
def test_default_refusals_are_translated_when_raised_not_at_import(looked_up, error, code, english):
    refusal = error()

    assert str(refusal).startswith(f"[hi] {english}")
    assert refusal.code == code


def test_a_refusal_is_translated_by_its_placeholder_text_then_filled_in(looked_up, settings):
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4
    now = timezone.now()
    patient = PatientFactory(with_account=True)
    appointment = AppointmentFactory(patient=patient, start=now + dt.timedelta(hours=2))

    with pytest.raises(services.NotAllowed) as refused:
        services.cancel_appointment(appointment=appointment, by=patient.user, now=now)

    assert looked_up == [
        "Appointments can be cancelled online up to %(hours)s hours before they start. "
        "Please call the clinic."
    ]
    assert str(refused.value) == (
        "[hi] Appointments can be cancelled online up to 4 hours before they start. "
        "Please call the clinic."
    )
    assert refused.value.code == "past_cutoff"
    assert Appointment.objects.get(pk=appointment.pk).status == Status.BOOKED


def test_moving_and_cancelling_past_the_cutoff_are_whole_sentences_of_their_own(looked_up):
    # One sentence with the verb slotted in could not be translated into Hindi word order.
    cancelled = services._past_cutoff_message("cancelled", 24)
    moved = services._past_cutoff_message("moved", 24)

    assert looked_up[0] != looked_up[1]
    assert "%(hours)s" in looked_up[0] and "%(hours)s" in looked_up[1]
    assert cancelled.startswith("[hi] Appointments can be cancelled online up to 24 hours")
    assert moved.startswith("[hi] Appointments can be moved online up to 24 hours")
