"""The confirm pages show the fee, the GST and the total before anything is booked, computed as
billing will charge them (issue 18, item 5). Bookings does not import billing: billing hands its
quote to bookings.pricing from AppConfig.ready()."""

import ast
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from accounts.tests.pages import page_text
from bookings import pricing
from bookings.forms import slot_token
from bookings.models import Appointment
from doctors.tests.factories import ClinicFactory, DoctorFactory, WorkingHoursFactory

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=KOLKATA)  # a Tuesday
START = dt.datetime(2026, 12, 2, 9, 0, tzinfo=KOLKATA)
D = Decimal


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def doctor_and_clinic():
    clinic = ClinicFactory(name="Lakeview", timezone="Asia/Kolkata")
    # 282.48 + 18% is 282.48 + 50.8464: the GST rounds half-up to 50.85, the total is 333.33.
    doctor = DoctorFactory(consultation_fee=D("282.48"))
    WorkingHoursFactory(doctor=doctor, clinic=clinic, weekday=START.weekday())
    return doctor, clinic


def facts(response):
    text = " ".join(re.sub(r"<[^>]+>", " ", page_text(response)).split())
    return text


def test_the_patients_confirm_page_shows_fee_gst_and_total(client, patient_user, doctor_and_clinic):
    doctor, clinic = doctor_and_clinic
    client.force_login(patient_user)
    url = reverse("bookings:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})

    text = facts(client.get(f"{url}?start={slot_token(START)}"))

    assert "Consultation fee INR 282.48" in text
    assert "GST (18%) INR 50.85" in text
    assert "Total INR 333.33" in text


def test_the_desks_confirm_page_shows_fee_gst_and_total(client, front_desk_user, doctor_and_clinic):
    doctor, clinic = doctor_and_clinic
    client.force_login(front_desk_user)
    url = reverse("desk:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})

    text = facts(client.get(f"{url}?start={slot_token(START)}"))

    assert "GST (18%) INR 50.85" in text
    assert "Total INR 333.33" in text


def test_the_quoted_total_is_what_the_booking_is_charged(
    client, patient_user, settings, doctor_and_clinic
):
    settings.GST_RATE = "0.125"
    doctor, clinic = doctor_and_clinic
    quoted = pricing.quote(doctor=doctor)
    client.force_login(patient_user)

    client.post(
        reverse("bookings:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk}),
        {
            "start": slot_token(START),
            "appointment_type": "consultation",
            "payment_mode": "at_clinic",
            "reason": "",
        },
    )

    charge = Appointment.objects.get(patient=patient_user.patient).charge
    assert (quoted.fee, quoted.gst, quoted.total) == (charge.fee, charge.gst, charge.total)
    assert (quoted.fee, quoted.gst, quoted.total) == (D("282.48"), D("35.31"), D("317.79"))
    assert quoted.gst_percent == D("12.5")


def test_bookings_does_not_import_billing():
    """The import direction (accounts <- doctors <- bookings <- billing) holds for the quote."""
    bookings = Path(settings.BASE_DIR, "bookings")
    offenders = []
    for path in bookings.rglob("*.py"):
        if "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{path.name}: {name}" for name in names if name.split(".")[0] == "billing"
            ]
    assert offenders == []
