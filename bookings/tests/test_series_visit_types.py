"""Series of a visit type, booked by the front desk or, where the type allows it, by the patient.

Time is frozen at Monday 5 January 2026, 08:00 in Bengaluru; the booking window is 30 days. The
doctor works 09:00-11:00 every day on a 30-minute grid.
"""

import datetime as dt
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.tests.factories import PatientFactory
from accounts.tests.pages import page_text
from bookings import services
from bookings.forms import slot_token
from bookings.models import Appointment, AppointmentSeries, SeriesUnit
from bookings.scheduling import at
from bookings.series import SeriesRule, book_series, plan_series
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    VisitTypeFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
MONDAY = dt.date(2026, 1, 5)
NOW = at(MONDAY, dt.time(8), KOLKATA)
WEEKLY_4 = SeriesRule(every=1, unit=SeriesUnit.WEEKS, count=4)


@pytest.fixture(autouse=True)
def rules(settings):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 12
    settings.BOOKING_SERIES_MAX_OCCURRENCES = 12


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def clinic():
    return ClinicFactory(timezone="Asia/Kolkata")


@pytest.fixture
def doctor(clinic):
    doctor = DoctorFactory(
        slot_minutes=30,
        department=DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20)),
        registration_expires_on=MONDAY + dt.timedelta(days=365),
    )
    for weekday in range(7):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(11)
        )
    return doctor


@pytest.fixture
def physiotherapy(doctor):
    """45 minutes and 15 kept free after: from 09:00 or 10:00 only, in a 09:00-11:00 day."""
    return VisitTypeFactory(
        department=doctor.department,
        name="Physiotherapy",
        minutes=45,
        buffer_after_minutes=15,
        fee="800.00",
        patients_may_book_series=True,
    )


@pytest.fixture
def consultation(doctor):
    """Listed first (the default), and not for patients' series."""
    return VisitTypeFactory(department=doctor.department, name="Consultation", position=0)


@pytest.fixture
def patient_user():
    return PatientFactory(with_account=True, full_name="Asha Verma").user


def tuesday(weeks=0, hour=9, minute=0):
    return at(MONDAY + dt.timedelta(days=1 + 7 * weeks), dt.time(hour, minute), KOLKATA)


def rule_data(**overrides):
    data = {
        "every": "1",
        "unit": "weeks",
        "ends": "count",
        "count": "4",
        "until": "",
        "appointment_type": "follow_up",
        "payment_mode": "at_clinic",
        "reason": "Knee exercises",
    }
    data.update(overrides)
    return data


def patient_series_url(doctor, clinic, visit_type=None, start=None):
    query = {"start": slot_token(start or tuesday())}
    if visit_type is not None:
        query["type"] = visit_type.pk
    path = reverse("bookings:book_series", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    return f"{path}?{urlencode(query)}"


def flashed(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


# The service --------------------------------------------------------------------------------------


def test_the_plan_needs_the_types_whole_stretch(doctor, clinic, physiotherapy, patient_user):
    # A plain 30-minute visit at 09:30 in week 2 cuts the 09:00-09:45 stretch; 10:00 still fits.
    AppointmentFactory(doctor=doctor, clinic=clinic, start=tuesday(2, 9, 30))
    plan = plan_series(
        doctor=doctor,
        clinic=clinic,
        first_start=tuesday(),
        rule=WEEKLY_4,
        patient=patient_user.patient,
        now=NOW,
        visit_type=physiotherapy,
    )
    assert [o.free for o in plan.occurrences] == [True, True, False, True]
    assert plan.occurrences[2].suggestion == tuesday(2, 10)
    # Without the type, the plain 30-minute slot at 09:00 is free that day.
    plain = plan_series(
        doctor=doctor,
        clinic=clinic,
        first_start=tuesday(),
        rule=WEEKLY_4,
        patient=patient_user.patient,
        now=NOW,
    )
    assert [o.free for o in plain.occurrences] == [True, True, True, True]


def test_each_appointment_booked_is_of_the_type(doctor, clinic, physiotherapy, patient_user):
    result = book_series(
        patient=patient_user.patient,
        doctor=doctor,
        clinic=clinic,
        starts=[tuesday(n) for n in range(3)],
        rule=WEEKLY_4,
        appointment_type="follow_up",
        payment_mode="at_clinic",
        by=patient_user,
        now=NOW,
        visit_type=physiotherapy,
    )
    assert len(result.booked) == 3 and not result.refused
    for appointment in Appointment.objects.all():
        assert appointment.visit_type_id == physiotherapy.pk
        assert appointment.end - appointment.start == dt.timedelta(minutes=45)


@pytest.mark.parametrize("with_type", [False, True])
def test_a_patient_may_not_book_a_series_the_type_does_not_allow(
    doctor, clinic, consultation, patient_user, with_type
):
    with pytest.raises(services.NotAllowed) as refused:
        book_series(
            patient=patient_user.patient,
            doctor=doctor,
            clinic=clinic,
            starts=[tuesday(n) for n in range(2)],
            rule=WEEKLY_4,
            appointment_type="follow_up",
            payment_mode="at_clinic",
            by=patient_user,
            now=NOW,
            visit_type=consultation if with_type else None,
        )
    assert refused.value.code == "series_not_online"
    assert not Appointment.objects.exists() and not AppointmentSeries.objects.exists()


def test_the_desk_may_book_a_series_of_any_type(doctor, clinic, consultation, front_desk_user):
    patient = PatientFactory()
    result = book_series(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        starts=[tuesday(n) for n in range(2)],
        rule=WEEKLY_4,
        appointment_type="follow_up",
        payment_mode="at_clinic",
        by=front_desk_user,
        now=NOW,
        visit_type=consultation,
    )
    assert [a.visit_type_id for a in result.booked] == [consultation.pk, consultation.pk]


# The patient's pages ------------------------------------------------------------------------------


def test_the_patient_previews_then_books_a_weekly_series_of_the_type(
    client, doctor, clinic, physiotherapy, patient_user
):
    client.force_login(patient_user)
    AppointmentFactory(doctor=doctor, clinic=clinic, start=tuesday(2, 9, 30))
    url = patient_series_url(doctor, clinic, physiotherapy)
    page = page_text(client.get(url))
    assert "Physiotherapy, 45 minutes" in page and "800.00" in page

    preview = page_text(client.post(url, {**rule_data(), "action": "preview"}))
    assert preview.count("Free</span>") == 3
    assert "Take Tue 20 Jan at 10:00 instead" in preview
    assert not Appointment.objects.filter(patient=patient_user.patient).exists()

    take = [slot_token(tuesday(n)) for n in (0, 1, 3)] + [slot_token(tuesday(2, 10))]
    booked = client.post(url, {**rule_data(), "action": "book", "take": take})
    assert booked.status_code == 302 and booked.url == reverse("bookings:mine")
    assert flashed(booked) == ["Booked 4 appointments in the series."]
    mine = Appointment.objects.filter(patient=patient_user.patient).order_by("start")
    assert [a.start for a in mine] == [tuesday(0), tuesday(1), tuesday(2, 10), tuesday(3)]
    assert {a.visit_type_id for a in mine} == {physiotherapy.pk}
    assert {a.created_by_id for a in mine} == {patient_user.pk}
    assert AppointmentSeries.objects.get().series_links.count() == 4


def test_the_confirm_page_offers_a_series_only_where_the_type_allows(
    client, doctor, clinic, physiotherapy, consultation, patient_user
):
    client.force_login(patient_user)
    confirm = reverse("bookings:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    start = slot_token(tuesday())
    allowed = client.get(f"{confirm}?{urlencode({'start': start, 'type': physiotherapy.pk})}")
    expected = patient_series_url(doctor, clinic, physiotherapy).replace("&", "&amp;")
    assert "Book as a series" in page_text(allowed)
    assert expected in allowed.content.decode()
    not_allowed = client.get(f"{confirm}?{urlencode({'start': start, 'type': consultation.pk})}")
    assert not_allowed.status_code == 200 and "Book as a series" not in page_text(not_allowed)


def test_a_type_without_patient_series_sends_back_to_the_single_booking(
    client, doctor, clinic, consultation, patient_user
):
    client.force_login(patient_user)
    url = patient_series_url(doctor, clinic, consultation)
    response = client.post(url, {**rule_data(), "action": "book", "take": [slot_token(tuesday())]})
    assert response.status_code == 302 and "/confirm/" in response.url
    assert "cannot be booked as a series online" in flashed(response)[0]
    assert not Appointment.objects.exists()


def test_a_doctor_without_types_takes_no_patient_series(client, doctor, clinic, patient_user):
    client.force_login(patient_user)
    response = client.get(patient_series_url(doctor, clinic))
    assert response.status_code == 302 and "/confirm/" in response.url
    assert not Appointment.objects.exists()


def test_a_desk_only_type_is_refused_even_with_series_allowed(
    client, doctor, clinic, physiotherapy, patient_user
):
    physiotherapy.bookable_online = False
    physiotherapy.save()
    client.force_login(patient_user)
    url = patient_series_url(doctor, clinic, physiotherapy)
    response = client.post(url, {**rule_data(), "action": "book", "take": [slot_token(tuesday())]})
    assert response.status_code == 302
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (rule_data(every="0"), "greater than or equal to 1"),
        (rule_data(count="13"), "at most 12 appointments"),
        (rule_data(ends="until", until=""), "Give the date of the last appointment"),
        (rule_data(ends="until", until="31/02/2026"), "Enter a valid date"),
        (rule_data(payment_mode="barter"), "Select a valid choice"),
    ],
)
def test_bad_rules_are_shown_to_the_patient_and_book_nothing(
    client, doctor, clinic, physiotherapy, patient_user, data, message
):
    client.force_login(patient_user)
    response = client.post(
        patient_series_url(doctor, clinic, physiotherapy),
        {**data, "action": "book", "take": [slot_token(tuesday())]},
    )
    assert response.status_code == 200
    assert message in page_text(response)
    assert not Appointment.objects.exists()


def test_a_time_that_cannot_be_read_is_shown_and_books_nothing(
    client, doctor, clinic, physiotherapy, patient_user
):
    client.force_login(patient_user)
    response = client.post(
        patient_series_url(doctor, clinic, physiotherapy),
        {**rule_data(), "action": "book", "take": ["soon"]},
    )
    assert response.status_code == 200 and "could not be read" in page_text(response)
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("role", ["front_desk_user", "doctor_user", "clinic_admin_user"])
def test_staff_without_a_patient_record_are_refused(
    client, request, role, doctor, clinic, physiotherapy
):
    client.force_login(request.getfixturevalue(role))
    url = patient_series_url(doctor, clinic, physiotherapy)
    assert client.get(url).status_code == 403
    response = client.post(url, {**rule_data(), "action": "book", "take": [slot_token(tuesday())]})
    assert response.status_code == 403
    assert not Appointment.objects.exists()


def test_a_visitor_is_sent_to_log_in(client, doctor, clinic, physiotherapy):
    response = client.get(patient_series_url(doctor, clinic, physiotherapy))
    assert response.status_code == 302 and "login" in response.url


# The desk's pages -------------------------------------------------------------------------------


def test_the_desk_books_a_series_of_the_type_chosen(
    client, front_desk_user, doctor, clinic, physiotherapy, consultation
):
    patient = PatientFactory()
    client.force_login(front_desk_user)
    confirm = reverse("desk:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    query = {"start": slot_token(tuesday()), "patient": patient.pk, "type": physiotherapy.pk}
    page = client.get(f"{confirm}?{urlencode(query)}").content.decode()
    path = reverse("desk:book_series", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    link = f"{path}?{urlencode(query)}".replace("&", "&amp;")
    assert link in page
    url = link.replace("&amp;", "&")
    assert "Physiotherapy, 45 minutes" in page_text(client.get(url))
    take = [slot_token(tuesday(n)) for n in range(2)]
    response = client.post(url, {**rule_data(), "action": "book", "take": take})
    assert response.status_code == 302
    assert set(patient.appointments.values_list("visit_type", flat=True)) == {physiotherapy.pk}


def test_the_desk_is_sent_back_for_a_type_the_doctor_does_not_offer(
    client, front_desk_user, doctor, clinic, physiotherapy
):
    patient = PatientFactory()
    elsewhere = VisitTypeFactory(name="Elsewhere")
    client.force_login(front_desk_user)
    path = reverse("desk:book_series", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    query = {"start": slot_token(tuesday()), "patient": patient.pk, "type": elsewhere.pk}
    response = client.post(
        f"{path}?{urlencode(query)}",
        {**rule_data(), "action": "book", "take": [slot_token(tuesday())]},
    )
    assert response.status_code == 302 and "/clinics/" in response.url
    assert not Appointment.objects.exists()
