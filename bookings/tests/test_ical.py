"""iCalendar files, read back with icalendar: the patient's .ics download and the doctor's feed.

Time is frozen at Tuesday 1 December 2026, 09:30 in Bengaluru (04:00 UTC).
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from icalendar import Calendar

from accounts.tests.factories import PatientFactory
from bookings import ical
from bookings.models import Status
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import ClinicFactory, DepartmentFactory, DoctorFactory

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
LONDON = ZoneInfo("Europe/London")
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=KOLKATA)
TOMORROW = NOW.date() + dt.timedelta(days=1)
REASON = "Lump in the left breast"


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def clinic():
    return ClinicFactory(
        name="Lakeview",
        timezone="Asia/Kolkata",
        address="12 Lake Road\nBengaluru 560001",
        phone="+918012345678",
    )


@pytest.fixture
def doctor():
    return DoctorFactory(full_name="Dr Meera Nair", department=DepartmentFactory(name="Oncology"))


@pytest.fixture
def patient(patient_user):
    return patient_user.patient


@pytest.fixture
def appointment(patient, doctor, clinic):
    return AppointmentFactory(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=dt.datetime.combine(TOMORROW, dt.time(10, 15), tzinfo=KOLKATA),
        reason=REASON,
    )


@pytest.fixture
def patient_client(client, patient_user):
    client.force_login(patient_user)
    return client


def file_url(appointment):
    return reverse("bookings:calendar_file", kwargs={"pk": appointment.pk})


def only_event(content):
    calendar = Calendar.from_ical(content)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def test_patient_downloads_their_appointment_as_one_event_in_utc(patient_client, appointment):
    response = patient_client.get(file_url(appointment))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar, event = only_event(response.content)
    assert str(calendar["version"]) == "2.0"
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert start == appointment.start and end == appointment.end
    assert start.utcoffset() == dt.timedelta(0) and end.utcoffset() == dt.timedelta(0)
    assert event["dtstart"].to_ical() == b"20261202T044500Z"  # 10:15 in Bengaluru
    assert event["dtend"].to_ical() == b"20261202T050000Z"
    assert str(event["uid"]) == f"appointment-{appointment.pk}@clinic-portal"
    assert str(event["summary"]) == "Appointment with Dr Meera Nair"
    assert str(event["location"]) == "Lakeview, 12 Lake Road, Bengaluru 560001"
    description = str(event["description"])
    assert "Dr Meera Nair" in description and "+918012345678" in description
    assert event.decoded("dtstamp") == NOW


def test_the_file_never_carries_the_reason_for_the_visit(patient_client, appointment):
    content = patient_client.get(file_url(appointment)).content
    _, event = only_event(content)
    assert REASON not in content.decode()
    assert "Lump" not in content.decode().replace("\r\n ", "")  # not even folded across lines
    assert all(REASON not in str(value) for value in event.values())


def test_the_download_is_an_attachment_with_a_neutral_file_name(patient_client, appointment):
    disposition = patient_client.get(file_url(appointment))["Content-Disposition"]
    assert disposition == 'attachment; filename="appointment.ics"'
    for private in ("Meera", "Oncology", appointment.patient.full_name.split()[0]):
        assert private not in disposition


def test_the_uid_is_stable_across_downloads_and_differs_between_appointments(
    patient_client, patient, doctor, clinic, appointment
):
    first = only_event(patient_client.get(file_url(appointment)).content)[1]
    again = only_event(patient_client.get(file_url(appointment)).content)[1]
    other = AppointmentFactory(patient=patient, doctor=doctor, clinic=clinic)
    another = only_event(patient_client.get(file_url(other)).content)[1]

    assert str(first["uid"]) == str(again["uid"])
    assert str(first["uid"]) != str(another["uid"])


def test_times_of_a_clinic_in_another_zone_are_the_same_instants_in_utc(
    patient_client, patient, doctor
):
    london = ClinicFactory(name="Riverside", timezone="Europe/London", address="1 Thames Walk")
    late_evening = AppointmentFactory(
        patient=patient,
        doctor=doctor,
        clinic=london,
        start=dt.datetime(2026, 12, 2, 23, 45, tzinfo=LONDON),
    )
    _, event = only_event(patient_client.get(file_url(late_evening)).content)
    assert event["dtstart"].to_ical() == b"20261202T234500Z"
    assert event.decoded("dtend") == late_evening.end
    assert str(event["location"]) == "Riverside, 1 Thames Walk"


def test_another_patients_appointment_answers_404(client, other_patient_user, appointment):
    client.force_login(other_patient_user)
    assert client.get(file_url(appointment)).status_code == 404


@pytest.mark.parametrize(
    "status", [Status.CANCELLED, Status.COMPLETED, Status.NO_SHOW, Status.CHECKED_IN]
)
def test_only_a_booked_appointment_can_be_downloaded(patient_client, appointment, status):
    appointment.status = status
    appointment.save()
    assert patient_client.get(file_url(appointment)).status_code == 404


def test_anonymous_visitors_are_asked_to_log_in(client, appointment):
    response = client.get(file_url(appointment))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("staff", ["doctor_user", "front_desk_user", "clinic_admin_user"])
def test_logins_without_a_patient_record_cannot_download(client, request, staff, appointment):
    client.force_login(request.getfixturevalue(staff))
    response = client.get(file_url(appointment))
    assert response.status_code == 403
    assert b"BEGIN:VCALENDAR" not in response.content


# --- The doctor's feed, built directly -----------------------------------------------------------


def test_doctor_feed_has_one_event_per_appointment_and_no_reasons(doctor, clinic):
    patients = [PatientFactory(full_name=name) for name in ("Asha Rao", "Bala Iyer")]
    appointments = [
        AppointmentFactory(patient=patient, doctor=doctor, clinic=clinic, reason=REASON)
        for patient in patients
    ]

    calendar = Calendar.from_ical(ical.doctor_feed(doctor, appointments, now=NOW))

    events = calendar.walk("VEVENT")
    assert [str(e["uid"]) for e in events] == [
        f"appointment-{a.pk}@clinic-portal" for a in appointments
    ]
    assert [e.decoded("dtstart") for e in events] == [a.start for a in appointments]
    assert "Dr Meera Nair" in str(calendar["x-wr-calname"])
    text = ical.doctor_feed(doctor, appointments, now=NOW).decode()
    assert REASON not in text and "Asha" not in text and "Bala" not in text

    doctor.calendar_shows_patient_names = True
    named = Calendar.from_ical(ical.doctor_feed(doctor, appointments, now=NOW))
    assert [str(e["summary"]) for e in named.walk("VEVENT")] == [
        "Consultation: Asha Rao",
        "Consultation: Bala Iyer",
    ]
    assert REASON not in ical.doctor_feed(doctor, appointments, now=NOW).decode()


@pytest.mark.django_db
def test_a_cancellation_file_takes_the_same_event_off_the_calendar():
    from django.utils import timezone
    from icalendar import Calendar

    from bookings.ical import appointment_ics, cancellation_ics
    from bookings.tests.factories import AppointmentFactory

    appointment = AppointmentFactory()
    now = timezone.now()
    added = Calendar.from_ical(appointment_ics(appointment, now=now))
    removed = Calendar.from_ical(cancellation_ics(appointment, now=now))

    [added_event] = added.walk("VEVENT")
    [removed_event] = removed.walk("VEVENT")
    assert str(removed["METHOD"]) == "CANCEL"
    assert str(removed_event["UID"]) == str(added_event["UID"])
    assert str(removed_event["STATUS"]) == "CANCELLED"
    assert int(removed_event["SEQUENCE"]) > int(added_event.get("SEQUENCE", 0))
    assert appointment.reason not in removed.to_ical().decode()
