"""What a patient's booking POST does besides booking, held down (issue 18 item 8, over HTTP).

The booking's own statements are counted in test_booking_queries.py; these tests pin the work
around them: what the page reads before the service takes its locks, that nothing is rendered on
the way to the redirect (the outbox renders its messages when it sends them, not in the
request), and that the page's one lookup of the doctor and the clinic still refuses what the
two lookups it replaced refused.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.signals import template_rendered
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import Charge
from bookings import services
from bookings.forms import slot_token
from bookings.models import Appointment
from doctors.tests.factories import ClinicFactory, DoctorFactory, WorkingHoursFactory
from notifications.models import Notification

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=KOLKATA)
START = dt.datetime(2026, 12, 3, 10, 0, tzinfo=KOLKATA)
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK", "COMMIT", "BEGIN")


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def works_at(doctor, clinic):
    for weekday in range(7):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(17)
        )


@pytest.fixture
def clinic():
    return ClinicFactory(timezone="Asia/Kolkata")


@pytest.fixture
def doctor(clinic):
    doctor = DoctorFactory(with_account=True, slot_minutes=15)
    works_at(doctor, clinic)
    return doctor


@pytest.fixture
def patient_client(client, patient_user):
    client.force_login(patient_user)
    # The refresh's own query and session write are counted in test_booking_queries.py; here
    # the session has just been seen, as it is while a patient clicks through the pages.
    client.get(reverse("bookings:mine"))
    # A server process has its content types cached long before a booking comes.
    ContentType.objects.get_for_models(Appointment, Charge)
    return client


def confirm_url(doctor_id, clinic_id):
    return reverse("bookings:confirm", kwargs={"doctor_id": doctor_id, "clinic_id": clinic_id})


def booking_form(start=START):
    return {
        "start": slot_token(start),
        "appointment_type": "consultation",
        "payment_mode": "at_clinic",
        "reason": "",
    }


def test_before_the_locks_a_booking_reads_the_session_the_login_the_patient_and_one_row(
    patient_client, doctor, clinic, monkeypatch
):
    lock = services._lock
    at_lock = []

    def noting_when_the_locks_come(*args, **kwargs):
        at_lock.append(len(captured.captured_queries))
        return lock(*args, **kwargs)

    monkeypatch.setattr(services, "_lock", noting_when_the_locks_come)
    with CaptureQueriesContext(connection) as captured:
        response = patient_client.post(confirm_url(doctor.pk, clinic.pk), booking_form())

    assert response.status_code == 302
    assert Appointment.objects.filter(doctor=doctor, start=START).exists()
    before_locks = [
        query["sql"]
        for query in captured.captured_queries[: at_lock[0]]
        if not query["sql"].upper().startswith(TRANSACTION_CONTROL)
    ]
    # Session, login, patient record, then the doctor with the clinic in one statement (it was
    # the doctor, then the clinic): each statement is dearer on a connection opened per request.
    # Last, the doctor's visit types bookable online, once (the default type, or the chosen one).
    assert len(before_locks) == 5, "\n".join(before_locks)
    doctor_and_clinic = before_locks[3]
    assert '"doctors_doctor"' in doctor_and_clinic
    assert '"doctors_clinic"' in doctor_and_clinic
    assert '"doctors_visittype"' in before_locks[4]


def test_a_booking_renders_no_template_on_its_way_to_the_redirect(patient_client, doctor, clinic):
    rendered = []

    def record(sender, template, context, **kwargs):
        rendered.append(template.name)

    template_rendered.connect(record)
    try:
        response = patient_client.post(confirm_url(doctor.pk, clinic.pk), booking_form())
    finally:
        template_rendered.disconnect(record)

    assert response.status_code == 302
    # The outbox holds rows to render when they are sent; the booking queued them all the same.
    assert Notification.objects.filter(appointment__doctor=doctor).count() > 0
    assert rendered == []


@pytest.mark.parametrize("case", ["unknown doctor", "inactive doctor", "other clinic", "no clinic"])
def test_a_booking_post_for_a_doctor_not_taking_bookings_there_answers_404(
    patient_client, doctor, clinic, case
):
    inactive = DoctorFactory(is_active=False)
    works_at(inactive, clinic)
    other_clinic = ClinicFactory()
    doctor_id, clinic_id = {
        "unknown doctor": (999_999, clinic.pk),
        "inactive doctor": (inactive.pk, clinic.pk),
        "other clinic": (doctor.pk, other_clinic.pk),
        "no clinic": (doctor.pk, 999_999),
    }[case]

    response = patient_client.post(confirm_url(doctor_id, clinic_id), booking_form())

    assert response.status_code == 404
    assert not Appointment.objects.exists()


def test_the_confirm_page_still_shows_the_doctor_and_the_clinic_it_looked_up_together(
    patient_client, doctor, clinic
):
    response = patient_client.get(confirm_url(doctor.pk, clinic.pk), {"start": slot_token(START)})

    assert response.status_code == 200
    assert response.context["doctor"] == doctor
    assert response.context["clinic"] == clinic
    # The department comes with the doctor (the page and the slot re-check both read it).
    with CaptureQueriesContext(connection) as captured:
        assert response.context["doctor"].department.name == doctor.department.name
    assert len(captured) == 0
