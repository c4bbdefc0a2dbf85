"""The demo data shows the waitlist: a demo patient waiting with a freed time offered to them
(printed with the demo logins), a walk-in waiting for the department; seeding again adds none."""

import io

import pytest
from django.core.management import call_command

from accounts.models import Patient
from waitlist.models import EntryState, OfferState, WaitlistEntry, WaitlistOffer

pytestmark = pytest.mark.django_db


def seed():
    out = io.StringIO()
    call_command("seed_demo", "--allow-without-debug", stdout=out)
    return out.getvalue()


def test_the_demo_has_a_waitlisted_patient_with_an_offer_waiting(settings):
    settings.PORTAL_URL = "http://127.0.0.1:8000"
    output = seed()

    tom = Patient.objects.get(user__email="patient2@example.com")
    entry = WaitlistEntry.objects.get(patient=tom)
    assert entry.state == EntryState.OFFERED
    offer = WaitlistOffer.objects.get(entry=entry)
    assert offer.state == OfferState.OPEN
    assert offer.doctor.user.email == "doctor@example.com"
    assert "Waitlist: patient2@example.com has a freed time offered; open it at " in output
    assert "http://127.0.0.1:8000/waitlist/offers/" in output
    walk_in = WaitlistEntry.objects.get(patient__user=None)
    assert (walk_in.department, walk_in.state) == (offer.doctor.department, EntryState.WAITING)

    seed()
    assert WaitlistEntry.objects.count() == 2
    assert WaitlistOffer.objects.get() == offer
