"""The demo data's visit types and the upcoming visits booked with them."""

import datetime as dt
import io
import itertools

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Patient
from bookings.models import Appointment, AppointmentSeries
from doctors.models import Department, VisitType

pytestmark = pytest.mark.django_db


def seed():
    call_command("seed_demo", "--allow-without-debug", stdout=io.StringIO())


def test_every_department_has_the_four_demo_visit_types_and_seeding_again_adds_none():
    seed()
    count = VisitType.objects.count()
    seed()

    assert VisitType.objects.count() == count
    for department in Department.objects.all():
        types = {t.name: t for t in department.visit_types.all()}
        assert {"First consultation", "Follow-up", "Procedure", "Video follow-up"} <= set(types)
        assert types["First consultation"].minutes == 20
        assert types["Follow-up"].minutes == 10
        procedure = types["Procedure"]
        assert (procedure.minutes, procedure.buffer_after_minutes) == (45, 10)
        assert not procedure.bookable_online
        assert types["Video follow-up"].mode == VisitType.Mode.VIDEO


def test_demo_patients_have_upcoming_visits_of_the_types():
    seed()

    first = Appointment.objects.get(
        patient__user__email="patient2@example.com", visit_type__name="First consultation"
    )
    procedure = Appointment.objects.get(
        patient__user__email="patient@example.com", visit_type__name="Procedure"
    )
    assert first.end - first.start == dt.timedelta(minutes=20)
    assert procedure.end - procedure.start == dt.timedelta(minutes=45)
    assert procedure.created_by.email == "frontdesk@example.com"


def test_a_walk_in_has_a_weekly_series_of_follow_ups_booked_by_the_desk_once():
    seed()
    seed()

    series = AppointmentSeries.objects.get()
    assert series.patient.full_name == "Lakshmi Srinivasan" and series.patient.user is None
    assert (series.every, series.unit, series.count) == (1, "weeks", 3)
    booked = list(Appointment.objects.filter(series_link__series=series).order_by("start"))
    assert len(booked) == 3
    assert {a.visit_type.name for a in booked} == {"Follow-up"}
    assert {a.created_by.email for a in booked} == {"frontdesk@example.com"}
    gaps = {later.start - earlier.start for earlier, later in itertools.pairwise(booked)}
    # A week apart, unless a wanted time was taken and the next free one booked instead.
    assert all(gap >= dt.timedelta(days=6) for gap in gaps)
    assert VisitType.objects.filter(name="Follow-up", patients_may_book_series=True).exists()


def test_a_demo_patient_reads_hindi():
    seed()

    rekha = Patient.objects.get(user__email="patient3@example.com")
    assert (rekha.language, rekha.user.language) == ("hi", "hi")
    assert rekha.appointments.filter(start__gt=timezone.now()).exists()
