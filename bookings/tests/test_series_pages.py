"""The recurring series pages: the desk's "Book as a series" (rule -> preview -> book), the
series page, and cancelling this and the later ones for the desk and the patient, per role and
with bad input.

Time is frozen at Monday 5 January 2026, 08:00 in Bengaluru; the booking window is 30 days.
"""

import datetime as dt
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from accounts.tests.factories import PatientFactory, UserFactory
from accounts.tests.pages import page_text
from bookings.forms import slot_token
from bookings.models import Appointment, AppointmentSeries, SeriesUnit, Status
from bookings.scheduling import at
from bookings.series import SeriesRule, book_series
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
MONDAY = dt.date(2026, 1, 5)
NOW = at(MONDAY, dt.time(8), KOLKATA)
DESK = ["front_desk_user", "clinic_admin_user"]
NOT_DESK = ["patient_user", "doctor_user"]


@pytest.fixture(autouse=True)
def rules(settings):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 12
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4
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
def patient():
    return PatientFactory(full_name="Asha Verma")


def tuesday(weeks=0, hour=9, minute=0):
    return at(MONDAY + dt.timedelta(days=1 + 7 * weeks), dt.time(hour, minute), KOLKATA)


def series_url(doctor, clinic, patient=None, start=None):
    query = {"start": slot_token(start or tuesday())}
    if patient is not None:
        query["patient"] = patient.pk
    path = reverse("desk:book_series", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    return f"{path}?{urlencode(query)}"


def rule_data(**overrides):
    data = {
        "every": "1",
        "unit": "weeks",
        "ends": "count",
        "count": "4",
        "until": "",
        "appointment_type": "follow_up",
        "payment_mode": "at_clinic",
        "reason": "Physiotherapy",
    }
    data.update(overrides)
    return data


def flashed(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def login(client, request, fixture):
    user = request.getfixturevalue(fixture)
    client.force_login(user)
    return user


# Booking a series at the desk ---------------------------------------------------------------------


@pytest.mark.parametrize("role", DESK)
def test_the_desk_previews_then_books_a_weekly_series(
    client, request, role, doctor, clinic, patient
):
    user = login(client, request, role)
    AppointmentFactory(doctor=doctor, clinic=clinic, start=tuesday(2))
    url = series_url(doctor, clinic, patient)
    assert client.get(url).status_code == 200

    preview = client.post(url, {**rule_data(), "action": "preview"})
    text = page_text(preview)
    assert preview.status_code == 200
    assert text.count("Free</span>") == 3 and "Not free" in text
    assert "Take Tue 20 Jan at 09:30 instead" in text
    assert not Appointment.objects.filter(patient=patient).exists()

    take = [slot_token(tuesday(n)) for n in (0, 1, 3)] + [slot_token(tuesday(2, 9, 30))]
    booked = client.post(url, {**rule_data(), "action": "book", "take": take})
    series = AppointmentSeries.objects.get()
    assert booked.status_code == 302 and booked.url == reverse(
        "desk:series", kwargs={"pk": series.pk}
    )
    starts = list(patient.appointments.order_by("start").values_list("start", flat=True))
    assert starts == [tuesday(0), tuesday(1), tuesday(2, 9, 30), tuesday(3)]
    assert set(patient.appointments.values_list("created_by", flat=True)) == {user.pk}
    assert series.series_links.count() == 4
    page = client.get(booked.url)
    assert "Booked 4 appointments in the series" in page_text(page)


def test_a_time_taken_between_preview_and_booking_is_reported(
    client, front_desk_user, doctor, clinic, patient
):
    client.force_login(front_desk_user)
    url = series_url(doctor, clinic, patient)
    take = [slot_token(tuesday(n)) for n in range(4)]
    AppointmentFactory(doctor=doctor, clinic=clinic, start=tuesday(1))  # after the preview
    response = client.post(url, {**rule_data(), "action": "book", "take": take}, follow=True)
    assert patient.appointments.count() == 3
    assert any(
        "Tue 13 Jan 2026 09:00 was not booked: Sorry, that time was just taken" in m
        for m in flashed(response)
    )


def test_every_time_refused_books_nothing_and_says_so(
    client, front_desk_user, doctor, clinic, patient
):
    client.force_login(front_desk_user)
    AppointmentFactory(doctor=doctor, clinic=clinic, start=tuesday(1))
    response = client.post(
        series_url(doctor, clinic, patient),
        {**rule_data(), "action": "book", "take": [slot_token(tuesday(1))]},
    )
    assert response.status_code == 200
    assert "every time chosen was refused" in page_text(response)
    assert not AppointmentSeries.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (rule_data(every=""), "Say how often"),
        (rule_data(every="0"), "greater than or equal to 1"),
        (rule_data(unit="months"), "Select a valid choice"),
        (rule_data(count=""), "Say how many appointments"),
        (rule_data(count="13"), "at most 12 appointments"),
        (rule_data(ends="until", until=""), "Give the date of the last appointment"),
        (rule_data(ends="until", until="yesterday"), "Enter a valid date"),
        (rule_data(ends="until", until="0999-01-01"), "between the years 1900 and 2999"),
        (rule_data(every="1", unit="days", ends="until", until="2026-02-28"), "would have"),
        (rule_data(reason="x" * 501), "at most 500 characters"),
    ],
)
def test_bad_rules_are_shown_on_the_page_and_book_nothing(
    client, front_desk_user, doctor, clinic, patient, data, message
):
    client.force_login(front_desk_user)
    response = client.post(
        series_url(doctor, clinic, patient),
        {**data, "action": "book", "take": [slot_token(tuesday())]},
    )
    assert response.status_code == 200
    assert message in page_text(response)
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    ("take", "message"),
    [
        ([], "Tick at least one time"),
        (["tuesday"], "could not be read"),
        ([slot_token(tuesday(n)) for n in range(13)], "at most 12 appointments"),
    ],
)
def test_bad_choices_are_shown_on_the_page_and_book_nothing(
    client, front_desk_user, doctor, clinic, patient, take, message
):
    client.force_login(front_desk_user)
    response = client.post(
        series_url(doctor, clinic, patient), {**rule_data(), "action": "book", "take": take}
    )
    assert response.status_code == 200
    assert message in page_text(response)
    assert not Appointment.objects.exists()


def test_more_than_the_cap_allows_is_refused_on_the_page(
    client, front_desk_user, doctor, clinic, patient, settings
):
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 2
    client.force_login(front_desk_user)
    url = series_url(doctor, clinic, patient)
    preview = client.post(url, {**rule_data(), "action": "preview"})
    assert "may have 2 more upcoming appointments at most" in page_text(preview)
    take = [slot_token(tuesday(n)) for n in range(3)]
    response = client.post(url, {**rule_data(), "action": "book", "take": take})
    assert "at most 2 more can be booked" in page_text(response)
    assert not Appointment.objects.exists()


def test_without_a_patient_the_desk_is_sent_to_choose_one(client, front_desk_user, doctor, clinic):
    client.force_login(front_desk_user)
    response = client.get(series_url(doctor, clinic))
    assert response.status_code == 302 and "/confirm/" in response.url
    assert flashed(response) == ["Choose the patient first, then book the series."]


def test_an_unreadable_first_time_goes_back_to_the_calendar(
    client, front_desk_user, doctor, clinic, patient
):
    client.force_login(front_desk_user)
    path = reverse("desk:book_series", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    response = client.get(f"{path}?start=soon&patient={patient.pk}")
    assert response.status_code == 302 and "/clinics/" in response.url


def test_a_doctor_not_taking_bookings_sends_the_desk_back(
    client, front_desk_user, doctor, clinic, patient
):
    client.force_login(front_desk_user)
    doctor.registration_expires_on = MONDAY - dt.timedelta(days=1)
    doctor.save()
    response = client.get(series_url(doctor, clinic, patient))
    assert response.status_code == 302 and response.url.startswith(reverse("desk:book"))


@pytest.mark.parametrize("role", NOT_DESK)
def test_others_get_404_from_the_desks_series_pages(client, request, role, doctor, clinic, patient):
    login(client, request, role)
    assert client.get(series_url(doctor, clinic, patient)).status_code == 404
    response = client.post(
        series_url(doctor, clinic, patient),
        {**rule_data(), "action": "book", "take": [slot_token(tuesday())]},
    )
    assert response.status_code == 404
    assert not Appointment.objects.exists()


def test_visitors_are_sent_to_log_in(client, doctor, clinic, patient):
    response = client.get(series_url(doctor, clinic, patient))
    assert response.status_code == 302 and "login" in response.url


def test_the_preview_costs_the_same_queries_for_2_or_12_times(
    client, front_desk_user, doctor, clinic, patient
):
    client.force_login(front_desk_user)
    url = series_url(doctor, clinic, patient)
    counts = []
    for count in ("2", "12"):
        data = {**rule_data(unit="days", count=count), "action": "preview"}
        with CaptureQueriesContext(connection) as queries:
            assert client.post(url, data).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


# The series page and cancelling -------------------------------------------------------------------


@pytest.fixture
def series(doctor, clinic):
    owner = PatientFactory(with_account=True)
    return book_series(
        patient=owner,
        doctor=doctor,
        clinic=clinic,
        starts=[tuesday(n) for n in range(4)],
        rule=SeriesRule(every=1, unit=SeriesUnit.WEEKS, count=4),
        appointment_type="follow_up",
        payment_mode="at_clinic",
        by=UserFactory(),
    )


def test_the_series_page_lists_its_appointments_in_fixed_queries(client, front_desk_user, series):
    client.force_login(front_desk_user)
    url = reverse("desk:series", kwargs={"pk": series.series.pk})
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert page_text(response).count("Tue ") == 4
    base = len(queries)
    book_series(
        patient=series.series.patient,
        doctor=series.series.doctor,
        clinic=series.series.clinic,
        starts=[tuesday(n, 10) for n in range(4)],
        rule=SeriesRule(every=1, unit=SeriesUnit.WEEKS, count=4),
        appointment_type="follow_up",
        payment_mode="at_clinic",
        by=UserFactory(),
    )
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    assert len(queries) == base


@pytest.mark.parametrize("role", NOT_DESK)
def test_others_get_404_from_the_series_page(client, request, role, series):
    login(client, request, role)
    assert client.get(reverse("desk:series", kwargs={"pk": series.series.pk})).status_code == 404


def test_the_desks_appointment_page_offers_cancelling_this_and_later(
    client, front_desk_user, series
):
    client.force_login(front_desk_user)
    response = client.get(reverse("desk:appointment", kwargs={"pk": series.booked[1].pk}))
    text = page_text(response)
    assert "Part of a series" in text and "Cancel this and the 2 later ones" in text


def test_the_desk_cancels_this_and_later(client, front_desk_user, series):
    client.force_login(front_desk_user)
    url = reverse("desk:cancel_series", kwargs={"pk": series.booked[1].pk})
    page = client.get(url)
    assert "Cancel 3 appointments" in page_text(page)
    response = client.post(url, {"reason": "Treatment ended"})
    assert response.status_code == 302
    statuses = list(Appointment.objects.order_by("start").values_list("status", flat=True))
    assert statuses == ["booked", "cancelled", "cancelled", "cancelled"]
    assert flashed(response) == ["3 appointments cancelled and their times released."]


def test_the_desk_must_give_a_reason(client, front_desk_user, series):
    client.force_login(front_desk_user)
    url = reverse("desk:cancel_series", kwargs={"pk": series.booked[1].pk})
    response = client.post(url, {"reason": ""})
    assert response.status_code == 200 and "Say why" in page_text(response)
    assert not Appointment.objects.filter(status=Status.CANCELLED).exists()


def test_an_appointment_in_no_series_has_no_series_cancel(client, front_desk_user, doctor, clinic):
    client.force_login(front_desk_user)
    single = AppointmentFactory(doctor=doctor, clinic=clinic, start=tuesday())
    assert client.get(reverse("desk:cancel_series", kwargs={"pk": single.pk})).status_code == 404
    assert "Part of a series" not in page_text(
        client.get(reverse("desk:appointment", kwargs={"pk": single.pk}))
    )


def test_a_cancelled_appointment_offers_no_series_cancel(client, front_desk_user, series):
    client.force_login(front_desk_user)
    first = series.booked[0]
    Appointment.objects.filter(pk=first.pk).update(status=Status.CANCELLED)
    response = client.get(reverse("desk:cancel_series", kwargs={"pk": first.pk}))
    assert response.status_code == 302
    page = client.get(reverse("desk:appointment", kwargs={"pk": first.pk}))
    assert "Part of a series" in page_text(page) and "later one" not in page_text(page)


@pytest.mark.parametrize("role", NOT_DESK)
def test_others_get_404_from_the_desks_series_cancel(client, request, role, series):
    login(client, request, role)
    url = reverse("desk:cancel_series", kwargs={"pk": series.booked[1].pk})
    assert client.post(url, {"reason": "x"}).status_code == 404
    assert not Appointment.objects.filter(status=Status.CANCELLED).exists()


def test_the_patient_cancels_this_and_later(client, series):
    owner = series.series.patient
    client.force_login(owner.user)
    detail = client.get(reverse("bookings:detail", kwargs={"pk": series.booked[2].pk}))
    assert "Cancel this and the 1 later one" in page_text(detail)
    url = reverse("bookings:cancel_series", kwargs={"pk": series.booked[2].pk})
    assert "Yes, cancel 2 appointments" in page_text(client.get(url))
    response = client.post(url, {"reason": ""})
    assert response.status_code == 302 and response.url == reverse("bookings:mine")
    statuses = list(Appointment.objects.order_by("start").values_list("status", flat=True))
    assert statuses == ["booked", "booked", "cancelled", "cancelled"]


def test_the_patients_cut_off_is_checked_for_each(client, series, settings):
    client.force_login(series.series.patient.user)
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 24 * 8
    # The first is a day away: inside the cut-off, so the page is not offered at all.
    first = reverse("bookings:cancel_series", kwargs={"pk": series.booked[0].pk})
    assert client.post(first, {"reason": ""}).status_code == 302
    assert not Appointment.objects.filter(status=Status.CANCELLED).exists()


def test_a_patient_reason_too_long_is_shown(client, series):
    client.force_login(series.series.patient.user)
    url = reverse("bookings:cancel_series", kwargs={"pk": series.booked[1].pk})
    response = client.post(url, {"reason": "x" * 201})
    assert response.status_code == 200 and "at most 200 characters" in page_text(response)
    assert not Appointment.objects.filter(status=Status.CANCELLED).exists()


def test_a_patients_single_appointment_goes_to_the_plain_cancel(
    client, patient_user, doctor, clinic
):
    client.force_login(patient_user)
    single = AppointmentFactory(
        patient=patient_user.patient, doctor=doctor, clinic=clinic, start=tuesday()
    )
    response = client.get(reverse("bookings:cancel_series", kwargs={"pk": single.pk}))
    assert response.url == reverse("bookings:cancel", kwargs={"pk": single.pk})


def test_another_patient_gets_404(client, other_patient_user, series):
    client.force_login(other_patient_user)
    url = reverse("bookings:cancel_series", kwargs={"pk": series.booked[1].pk})
    assert client.post(url, {"reason": ""}).status_code == 404
    assert not Appointment.objects.filter(status=Status.CANCELLED).exists()


def test_the_doctor_sees_no_series_cancel(client, doctor_user, series):
    client.force_login(doctor_user)
    url = reverse("bookings:cancel_series", kwargs={"pk": series.booked[1].pk})
    assert client.post(url, {"reason": ""}).status_code == 403
    assert not Appointment.objects.filter(status=Status.CANCELLED).exists()


def test_a_visitor_is_sent_to_log_in(client, series):
    url = reverse("bookings:cancel_series", kwargs={"pk": series.booked[1].pk})
    response = client.post(url, {"reason": ""})
    assert response.status_code == 302 and "login" in response.url


def test_the_desks_confirm_step_links_to_the_series(
    client, front_desk_user, doctor, clinic, patient
):
    client.force_login(front_desk_user)
    path = reverse("desk:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    response = client.get(
        f"{path}?{urlencode({'start': slot_token(tuesday()), 'patient': patient.pk})}"
    )
    assert series_url(doctor, clinic, patient).replace("&", "&amp;") in response.content.decode()


def test_a_full_day_at_the_end_of_the_window_says_no_time_is_left(
    client, front_desk_user, doctor, clinic, patient, settings
):
    settings.BOOKING_WINDOW_DAYS = 8
    for minute in range(0, 120, 30):
        AppointmentFactory(
            doctor=doctor, clinic=clinic, start=tuesday(1) + dt.timedelta(minutes=minute)
        )
    client.force_login(front_desk_user)
    response = client.post(
        series_url(doctor, clinic, patient), {**rule_data(count="3"), "action": "preview"}
    )
    text = page_text(response)
    assert "No free time left in the booking window." in text
    assert "Beyond the booking window" in text


def test_an_appointment_refused_while_cancelling_the_rest_is_reported(
    client, front_desk_user, series, monkeypatch
):
    from bookings import services

    cancel = services.cancel_appointment
    last = series.booked[3]

    def cancel_all_but_the_last(*, appointment, **kwargs):
        if appointment.pk == last.pk:
            raise services.NotAllowed("This appointment can no longer be cancelled.")
        return cancel(appointment=appointment, **kwargs)

    monkeypatch.setattr(services, "cancel_appointment", cancel_all_but_the_last)
    client.force_login(front_desk_user)
    url = reverse("desk:cancel_series", kwargs={"pk": series.booked[2].pk})
    response = client.post(url, {"reason": "Treatment ended"})
    assert flashed(response) == [
        "1 appointment cancelled and their times released.",
        "Tue 27 Jan 2026 09:00 was not cancelled: This appointment can no longer be cancelled.",
    ]
    last.refresh_from_db()
    assert last.status == Status.BOOKED


def test_the_doctors_appointment_page_has_no_series_section(client, series):
    doctor = series.series.doctor
    doctor.user = UserFactory(roles=[Role.DOCTOR])
    doctor.save()
    client.force_login(doctor.user)
    response = client.get(reverse("schedule:appointment", kwargs={"pk": series.booked[1].pk}))
    assert response.status_code == 200
    assert "Part of a series" not in page_text(response)


# The admin ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", DESK)
def test_the_admin_shows_a_series_and_its_appointments_read_only(client, request, role, series):
    login(client, request, role)
    changelist = client.get(reverse("admin:bookings_appointmentseries_changelist"))
    assert changelist.status_code == 200
    assert "every 1 weeks, 4 times" in page_text(changelist)
    page = client.get(reverse("admin:bookings_appointmentseries_change", args=[series.series.pk]))
    text = page_text(page)
    assert page.status_code == 200
    assert text.count("/admin/bookings/appointment/") >= 4  # each appointment links to its page
    assert 'name="_save"' not in text
    assert client.get(reverse("admin:bookings_appointmentseries_add")).status_code == 403
