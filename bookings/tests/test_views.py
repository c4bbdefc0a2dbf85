"""The patient's booking pages as each kind of visitor meets them, with good and bad input.

Time is frozen at Tuesday 1 December 2026, 09:30 in Bengaluru (04:00 UTC), so the dates below are
fixed: the booking window runs from 1 to 31 December, and with an hour's notice the first time
offered today is 10:30.
"""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.tests.pages import page_text, read_page
from bookings.forms import slot_token
from bookings.models import Appointment, Status
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    HolidayFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=KOLKATA)
TODAY = NOW.date()
TOMORROW = TODAY + dt.timedelta(days=1)
LAST_BOOKABLE_DAY = dt.date(2026, 12, 31)
A_SUNDAY = dt.date(2026, 12, 6)

STAFF = ["doctor_user", "front_desk_user", "clinic_admin_user"]  # logins with no patient record


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def local(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=KOLKATA)


@pytest.fixture
def clinic():
    return ClinicFactory(name="Lakeview", timezone="Asia/Kolkata")


@pytest.fixture
def doctor(clinic):
    """Works Monday to Saturday, 09:00-13:00 and 14:00-17:00 at Lakeview, in 15-minute slots."""
    doctor = DoctorFactory(
        full_name="Dr Meera Nair",
        department=DepartmentFactory(name="Cardiology"),
        slot_minutes=15,
    )
    for weekday in range(6):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(13)
        )
        WorkingHoursFactory(
            doctor=doctor,
            clinic=clinic,
            weekday=weekday,
            starts_at=dt.time(14),
            ends_at=dt.time(17),
        )
    return doctor


@pytest.fixture
def patient(patient_user):
    return patient_user.patient


@pytest.fixture
def patient_client(client, patient_user):
    client.force_login(patient_user)
    return client


def calendar_url(doctor, clinic):
    return reverse("bookings:calendar", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})


def day_url(doctor, clinic, day):
    return reverse(
        "bookings:day", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk, "day": day}
    )


def confirm_url(doctor, clinic):
    return reverse("bookings:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})


def booking_data(start, **overrides):
    data = {
        "start": slot_token(start),
        "appointment_type": "consultation",
        "payment_mode": "at_clinic",
        "reason": "Chest pain when climbing stairs",
    }
    data.update(overrides)
    return data


def flashed(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def offered_times(response):
    """The free times a day page offers, as the links' local HH:MM labels."""
    page = read_page(response)
    return [
        attrs["aria-label"].split(" to ")[0]
        for href, attrs in page.links
        if "confirm" in href and "aria-label" in attrs
    ]


DAY_LINK = re.compile(r"/(\d{4}-\d{2}-\d{2})/$")


def bookable_days(response):
    """The dates the date picker links to, in page order."""
    found = (DAY_LINK.search(href) for href, _ in read_page(response).links)
    return [dt.date.fromisoformat(match.group(1)) for match in found if match]


def login_redirect(url):
    return f"{reverse('accounts:login')}?next={url}"


# --- Browsing free times: open to everyone -------------------------------------------------------


@pytest.mark.parametrize("visitor", [None, "patient_user", *STAFF])
def test_anyone_may_browse_departments_doctors_dates_and_times(
    client, request, visitor, doctor, clinic
):
    if visitor:
        client.force_login(request.getfixturevalue(visitor))
    department = doctor.department
    pages = [
        reverse("bookings:start"),
        reverse("bookings:doctors", kwargs={"department_id": department.pk}),
        calendar_url(doctor, clinic),
        day_url(doctor, clinic, TOMORROW),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Dr Meera Nair" in page_text(response) or "Cardiology" in page_text(response)


def test_department_page_lists_only_doctors_taking_bookings(client, doctor):
    DoctorFactory(full_name="Dr Inactive", department=doctor.department, is_active=False)
    DoctorFactory(
        full_name="Dr Lapsed",
        department=doctor.department,
        registration_expires_on=TODAY - dt.timedelta(days=1),
    )
    response = client.get(
        reverse("bookings:doctors", kwargs={"department_id": doctor.department.pk})
    )
    text = page_text(response)
    assert "Dr Meera Nair" in text
    assert "Dr Inactive" not in text
    assert "Dr Lapsed" not in text


def test_doctor_at_one_clinic_goes_straight_to_the_date_picker(client, doctor, clinic):
    response = client.get(reverse("bookings:clinics", kwargs={"doctor_id": doctor.pk}))
    assert response.status_code == 302
    assert response["Location"] == calendar_url(doctor, clinic)


def test_doctor_at_two_clinics_lets_the_patient_choose(client, doctor, clinic):
    riverside = ClinicFactory(name="Riverside", timezone="Europe/London")
    WorkingHoursFactory(
        doctor=doctor, clinic=riverside, weekday=6, starts_at=dt.time(9), ends_at=dt.time(12)
    )
    response = client.get(reverse("bookings:clinics", kwargs={"doctor_id": doctor.pk}))
    assert response.status_code == 200
    links = [href for href, _ in read_page(response).links]
    assert calendar_url(doctor, clinic) in links
    assert calendar_url(doctor, riverside) in links


def test_doctor_with_an_expired_registration_is_not_offered(client, doctor, clinic):
    doctor.registration_expires_on = TODAY - dt.timedelta(days=1)
    doctor.save()
    response = client.get(reverse("bookings:clinics", kwargs={"doctor_id": doctor.pk}))
    assert response.status_code == 200
    assert "not taking new appointments" in page_text(response)
    assert client.get(calendar_url(doctor, clinic))["Location"] == reverse(
        "bookings:clinics", kwargs={"doctor_id": doctor.pk}
    )


@pytest.mark.parametrize(
    "url",
    [
        "/book/departments/999999/",
        "/book/doctors/999999/",
        "/book/doctors/999999/clinics/1/",
        "/book/doctors/{doctor}/clinics/999999/",
        "/book/doctors/{doctor}/clinics/{other_clinic}/",
        "/book/doctors/{inactive}/clinics/{clinic}/",
        "/book/doctors/{doctor}/clinics/{clinic}/2026-02-30/",
        "/book/doctors/{doctor}/clinics/{other_clinic}/confirm/",
    ],
)
def test_unknown_or_unbookable_doctors_clinics_and_dates_answer_404(
    patient_client, doctor, clinic, url
):
    inactive = DoctorFactory(is_active=False)
    WorkingHoursFactory(doctor=inactive, clinic=clinic)
    url = url.format(
        doctor=doctor.pk, clinic=clinic.pk, other_clinic=ClinicFactory().pk, inactive=inactive.pk
    )
    assert patient_client.get(url).status_code == 404


def test_date_picker_links_exactly_the_days_with_free_times(client, doctor, clinic):
    holiday = dt.date(2026, 12, 25)
    HolidayFactory(date=holiday, clinic=clinic)
    response = client.get(calendar_url(doctor, clinic))

    days = bookable_days(response)
    expected = [
        TODAY + dt.timedelta(days=n)
        for n in range((LAST_BOOKABLE_DAY - TODAY).days + 1)
        if (TODAY + dt.timedelta(days=n)).weekday() != 6 and TODAY + dt.timedelta(days=n) != holiday
    ]
    assert days == expected
    assert A_SUNDAY not in days
    assert "December 2026" in page_text(response)


def test_date_picker_costs_the_same_queries_however_busy_the_doctor(
    client, doctor, clinic, django_assert_num_queries
):
    url = calendar_url(doctor, clinic)
    client.get(url)  # warm caches that the first request fills (content types and the like)
    # 7: the doctor's visit types are one of them (bookings.visit_type_choice).
    with django_assert_num_queries(7):
        client.get(url)
    for n in range(40):
        AppointmentFactory(
            doctor=doctor,
            clinic=clinic,
            start=local(TOMORROW + dt.timedelta(days=n % 20), 9)
            + dt.timedelta(minutes=15 * (n // 20)),
        )
    with django_assert_num_queries(7):
        response = client.get(url)
    assert response.status_code == 200


def test_day_page_offers_free_times_outside_breaks_bookings_and_notice(client, doctor, clinic):
    AppointmentFactory(doctor=doctor, clinic=clinic, start=local(TODAY, 11))
    response = client.get(day_url(doctor, clinic, TODAY))

    times = offered_times(response)
    assert times[0] == "10:30"  # 09:30 now, an hour's notice
    assert "11:00" not in times  # booked
    assert "12:45" in times
    assert "13:00" not in times and "13:45" not in times  # lunch break
    assert "14:00" in times
    assert times[-1] == "16:45"


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (TODAY - dt.timedelta(days=1), "That date has passed"),
        (LAST_BOOKABLE_DAY + dt.timedelta(days=1), "up to 30 days ahead"),
    ],
)
def test_day_outside_the_window_sends_the_patient_back_to_the_calendar(
    client, doctor, clinic, day, message
):
    response = client.get(day_url(doctor, clinic, day))
    assert response.status_code == 302
    assert response["Location"] == calendar_url(doctor, clinic)
    assert any(message in text for text in flashed(response))


def test_day_without_free_times_says_so(client, doctor, clinic):
    response = client.get(day_url(doctor, clinic, A_SUNDAY))
    assert response.status_code == 200
    assert offered_times(response) == []
    assert "no free times on this day" in page_text(response)


# --- Confirming: patients only ------------------------------------------------------------------


def test_anonymous_visitor_is_asked_to_log_in_before_confirming(client, doctor, clinic):
    url = f"{confirm_url(doctor, clinic)}?start={slot_token(local(TOMORROW, 9))}"
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("staff", STAFF)
def test_logins_without_a_patient_record_cannot_book_here(client, request, staff, doctor, clinic):
    client.force_login(request.getfixturevalue(staff))
    response = client.post(confirm_url(doctor, clinic), booking_data(local(TOMORROW, 9)))
    assert response.status_code == 403
    assert not Appointment.objects.exists()


def test_confirm_page_shows_the_chosen_time_in_the_clinics_time(patient_client, doctor, clinic):
    start = local(TOMORROW, 9, 45)
    response = patient_client.get(f"{confirm_url(doctor, clinic)}?start={slot_token(start)}")
    assert response.status_code == 200
    text = page_text(response)
    assert "Wednesday 2 December 2026, 09:45–10:00" in text
    assert "Dr Meera Nair" in text
    assert read_page(response).ids.count("id_reason") == 1


def test_patient_books_a_free_time(patient_client, patient, patient_user, doctor, clinic):
    start = local(TOMORROW, 9, 45)
    response = patient_client.post(
        confirm_url(doctor, clinic), booking_data(start, appointment_type="follow_up")
    )

    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("bookings:booked", kwargs={"pk": appointment.pk})
    assert (appointment.patient, appointment.doctor, appointment.clinic) == (
        patient,
        doctor,
        clinic,
    )
    assert appointment.start == start
    assert appointment.end == start + dt.timedelta(minutes=15)
    assert appointment.appointment_type == "follow_up"
    assert appointment.reason == "Chest pain when climbing stairs"
    assert appointment.created_by == patient_user
    confirmation = patient_client.get(response["Location"])
    assert "Your appointment is booked" in page_text(confirmation)


def test_a_time_taken_between_showing_and_submitting_gives_a_clear_message(
    patient_client, patient, doctor, clinic
):
    start = local(TOMORROW, 10)
    shown = patient_client.get(f"{confirm_url(doctor, clinic)}?start={slot_token(start)}")
    assert shown.status_code == 200
    AppointmentFactory(doctor=doctor, clinic=clinic, start=start)  # someone else was quicker

    response = patient_client.post(confirm_url(doctor, clinic), booking_data(start))

    assert response.status_code == 302
    assert response["Location"] == day_url(doctor, clinic, TOMORROW)
    assert any("just taken" in text for text in flashed(response))
    assert not Appointment.objects.filter(patient=patient).exists()


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (local(TODAY, 9), "already passed"),
        (local(TODAY, 10), "at least 60 minutes ahead"),
        (local(LAST_BOOKABLE_DAY + dt.timedelta(days=1), 9), "up to 30 days ahead"),
        (local(TOMORROW, 9, 7), "not one of the doctor's appointment times"),
        (local(TOMORROW, 13, 15), "not one of the doctor's appointment times"),
        (local(A_SUNDAY, 10), "not one of the doctor's appointment times"),
    ],
    ids=["past", "inside-notice", "beyond-window", "off-grid", "lunch-break", "day-off"],
)
def test_tampered_times_are_refused_with_a_message_and_nothing_saved(
    patient_client, doctor, clinic, start, message
):
    response = patient_client.post(confirm_url(doctor, clinic), booking_data(start))

    assert response.status_code == 200
    assert any(message in error for error in read_page(response).general_errors())
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("appointment_type", "surgery", "Select a valid choice"),
        ("payment_mode", "online", "Select a valid choice"),
        ("reason", "x" * 501, "at most 500 characters"),
    ],
)
def test_bad_booking_fields_are_reported_by_the_field(
    patient_client, doctor, clinic, field, value, message
):
    response = patient_client.post(
        confirm_url(doctor, clinic), booking_data(local(TOMORROW, 9), **{field: value})
    )
    assert response.status_code == 200
    assert any(message in error for error in read_page(response).errors_for(f"id_{field}"))
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("start", ["", "tomorrow at nine", "2026-12-02T09:00", "2026-13-02T09:00Z"])
def test_an_unreadable_time_sends_the_patient_back_to_pick_one(
    patient_client, doctor, clinic, start
):
    for response in (
        patient_client.get(f"{confirm_url(doctor, clinic)}?start={start}"),
        patient_client.post(
            confirm_url(doctor, clinic), {**booking_data(local(TOMORROW, 9)), "start": start}
        ),
    ):
        assert response.status_code == 302
        assert response["Location"] == calendar_url(doctor, clinic)
        assert flashed(response)
    assert not Appointment.objects.exists()


def test_confirm_page_for_a_taken_time_sends_the_patient_to_the_days_free_times(
    patient_client, doctor, clinic
):
    start = local(TOMORROW, 9)
    AppointmentFactory(doctor=doctor, clinic=clinic, start=start)
    response = patient_client.get(f"{confirm_url(doctor, clinic)}?start={slot_token(start)}")
    assert response.status_code == 302
    assert response["Location"] == day_url(doctor, clinic, TOMORROW)
    assert any("no longer available" in text for text in flashed(response))


def test_patient_at_the_cap_of_open_appointments_is_told_so(
    patient_client, patient, doctor, clinic, settings
):
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 1
    AppointmentFactory(patient=patient, doctor=doctor, clinic=clinic, start=local(TOMORROW, 9))
    response = patient_client.post(confirm_url(doctor, clinic), booking_data(local(TOMORROW, 10)))
    assert response.status_code == 200
    assert any("1 upcoming appointments" in error for error in read_page(response).general_errors())
    assert Appointment.objects.count() == 1


# --- My appointments and their pages -----------------------------------------------------------


OWN_APPOINTMENT_PAGES = [
    "bookings:detail",
    "bookings:booked",
    "bookings:cancel",
    "bookings:reschedule",
]


def own_pages(appointment):
    urls = [reverse(name, kwargs={"pk": appointment.pk}) for name in OWN_APPOINTMENT_PAGES]
    urls.append(reverse("bookings:reschedule_day", kwargs={"pk": appointment.pk, "day": TOMORROW}))
    urls.append(
        reverse("bookings:reschedule_confirm", kwargs={"pk": appointment.pk})
        + f"?start={slot_token(local(TOMORROW, 11))}"
    )
    return urls


@pytest.fixture
def appointment(patient, doctor, clinic):
    return AppointmentFactory(
        patient=patient, doctor=doctor, clinic=clinic, start=local(TOMORROW, 10)
    )


def test_anonymous_visitors_are_sent_to_log_in_from_every_appointment_page(client, appointment):
    for url in [reverse("bookings:mine"), *own_pages(appointment)]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login")), url


@pytest.mark.parametrize("staff", STAFF)
def test_logins_without_a_patient_record_get_403_on_patient_pages(
    client, request, staff, appointment
):
    client.force_login(request.getfixturevalue(staff))
    for url in [reverse("bookings:mine"), *own_pages(appointment)]:
        assert client.get(url).status_code == 403, url


def test_patient_opens_every_page_of_their_own_appointment(patient_client, appointment):
    for url in own_pages(appointment):
        assert patient_client.get(url).status_code == 200, url


def test_another_patients_appointment_answers_404_everywhere(
    client, other_patient_user, appointment
):
    client.force_login(other_patient_user)
    for url in own_pages(appointment):
        assert client.get(url).status_code == 404, url
    response = client.post(reverse("bookings:cancel", kwargs={"pk": appointment.pk}))
    assert response.status_code == 404
    response = client.post(
        reverse("bookings:reschedule_confirm", kwargs={"pk": appointment.pk}),
        {"start": slot_token(local(TOMORROW, 11))},
    )
    assert response.status_code == 404
    appointment.refresh_from_db()
    assert (appointment.status, appointment.start) == (Status.BOOKED, local(TOMORROW, 10))


def test_my_appointments_splits_upcoming_from_past_and_shows_only_mine(
    patient_client, patient, doctor, clinic, django_assert_max_num_queries
):
    upcoming = AppointmentFactory(
        patient=patient, doctor=doctor, clinic=clinic, start=local(TOMORROW, 10)
    )
    AppointmentFactory(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=local(TODAY - dt.timedelta(days=3), 10),
        status=Status.COMPLETED,
    )
    AppointmentFactory(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=local(TOMORROW, 11),
        status=Status.CANCELLED,
    )
    AppointmentFactory(doctor=doctor, clinic=clinic, start=local(TOMORROW, 12))  # someone else's

    with django_assert_max_num_queries(7):
        response = patient_client.get(reverse("bookings:mine"))

    text = page_text(response)
    upcoming_part, past_part = text.split("Past and cancelled")
    assert upcoming_part.count("Dr Meera Nair") == 1
    assert "Wed 2 Dec 2026, 10:00" in upcoming_part
    assert "Completed" in past_part and "Cancelled" in past_part
    assert "12:00" not in text
    links = [href for href, _ in read_page(response).links]
    assert reverse("bookings:detail", kwargs={"pk": upcoming.pk}) in links


def test_details_offer_changes_only_before_the_cutoff(patient_client, patient, doctor, clinic):
    later = AppointmentFactory(
        patient=patient, doctor=doctor, clinic=clinic, start=local(TOMORROW, 10)
    )
    soon = AppointmentFactory(patient=patient, doctor=doctor, clinic=clinic, start=local(TODAY, 12))

    assert "Cancel appointment" in page_text(
        patient_client.get(reverse("bookings:detail", kwargs={"pk": later.pk}))
    )
    text = page_text(patient_client.get(reverse("bookings:detail", kwargs={"pk": soon.pk})))
    assert "Cancel appointment" not in text
    assert "too late to change this appointment online" in text


def test_patient_cancels_after_a_confirm_step(patient_client, patient_user, appointment):
    url = reverse("bookings:cancel", kwargs={"pk": appointment.pk})
    assert "Cancel this appointment?" in page_text(patient_client.get(url))
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED  # looking at the confirm page changes nothing

    response = patient_client.post(url, {"reason": "Feeling better"})

    assert response["Location"] == reverse("bookings:mine")
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    assert appointment.cancelled_by == patient_user
    assert appointment.cancellation_reason == "Feeling better"


def test_a_too_long_cancellation_reason_is_reported_and_nothing_changes(
    patient_client, appointment
):
    response = patient_client.post(
        reverse("bookings:cancel", kwargs={"pk": appointment.pk}), {"reason": "x" * 201}
    )
    assert response.status_code == 200
    assert read_page(response).errors_for("id_reason")
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED


def test_patient_cannot_cancel_inside_the_cutoff(patient_client, patient, doctor, clinic):
    soon = AppointmentFactory(patient=patient, doctor=doctor, clinic=clinic, start=local(TODAY, 12))
    response = patient_client.post(reverse("bookings:cancel", kwargs={"pk": soon.pk}))
    assert response["Location"] == reverse("bookings:detail", kwargs={"pk": soon.pk})
    assert any("up to 4 hours before" in text for text in flashed(response))
    soon.refresh_from_db()
    assert soon.status == Status.BOOKED


def test_a_cancelled_appointment_cannot_be_cancelled_or_moved_again(patient_client, appointment):
    appointment.status = Status.CANCELLED
    appointment.save()
    for name in ("bookings:cancel", "bookings:reschedule"):
        response = patient_client.get(reverse(name, kwargs={"pk": appointment.pk}))
        assert response["Location"] == reverse("bookings:detail", kwargs={"pk": appointment.pk})
        assert any("can no longer be changed" in text for text in flashed(response))
    booked_page = patient_client.get(reverse("bookings:booked", kwargs={"pk": appointment.pk}))
    assert booked_page["Location"] == reverse("bookings:detail", kwargs={"pk": appointment.pk})


# --- Rescheduling --------------------------------------------------------------------------------


def reschedule_confirm_url(appointment):
    return reverse("bookings:reschedule_confirm", kwargs={"pk": appointment.pk})


def test_reschedule_day_offers_free_times_but_not_the_current_one(patient_client, appointment):
    response = patient_client.get(
        reverse("bookings:reschedule_day", kwargs={"pk": appointment.pk, "day": TOMORROW})
    )
    times = offered_times(response)
    assert "10:00" not in times
    assert "09:45" in times and "10:15" in times
    assert "It keeps that time until the new one is confirmed" in page_text(response)


def test_patient_moves_an_appointment_and_the_old_time_is_released(
    patient_client, patient_user, appointment
):
    new_start = local(TOMORROW + dt.timedelta(days=1), 15)
    response = patient_client.post(
        reschedule_confirm_url(appointment), {"start": slot_token(new_start)}
    )

    moved = Appointment.objects.get(rescheduled_from=appointment)
    assert response["Location"] == reverse("bookings:detail", kwargs={"pk": moved.pk})
    assert moved.start == new_start and moved.status == Status.BOOKED
    assert moved.created_by == patient_user
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    assert appointment.was_rescheduled
    old_page = page_text(
        patient_client.get(reverse("bookings:detail", kwargs={"pk": appointment.pk}))
    )
    assert "This appointment was moved to a new time" in old_page


def test_moving_to_a_taken_time_keeps_the_old_appointment(
    patient_client, appointment, doctor, clinic
):
    taken = local(TOMORROW, 11)
    AppointmentFactory(doctor=doctor, clinic=clinic, start=taken)
    response = patient_client.post(
        reschedule_confirm_url(appointment), {"start": slot_token(taken)}
    )

    assert response["Location"] == reverse("bookings:reschedule", kwargs={"pk": appointment.pk})
    assert any("just taken" in text for text in flashed(response))
    appointment.refresh_from_db()
    assert (appointment.status, appointment.start) == (Status.BOOKED, local(TOMORROW, 10))
    assert not Appointment.objects.filter(rescheduled_from=appointment).exists()


@pytest.mark.parametrize("start", ["", "soon", "2026-12-02T10:07Z", "2025-12-02T10:00Z"])
def test_bad_new_times_are_refused_and_the_appointment_kept(patient_client, appointment, start):
    response = patient_client.post(reschedule_confirm_url(appointment), {"start": start})
    assert response["Location"] == reverse("bookings:reschedule", kwargs={"pk": appointment.pk})
    assert flashed(response)
    appointment.refresh_from_db()
    assert (appointment.status, appointment.start) == (Status.BOOKED, local(TOMORROW, 10))
    assert Appointment.objects.count() == 1


def test_reschedule_pages_outside_the_window_redirect_with_a_message(patient_client, appointment):
    url = reverse(
        "bookings:reschedule_day",
        kwargs={"pk": appointment.pk, "day": LAST_BOOKABLE_DAY + dt.timedelta(days=1)},
    )
    response = patient_client.get(url)
    assert response["Location"] == reverse("bookings:reschedule", kwargs={"pk": appointment.pk})
    assert any("up to 30 days ahead" in text for text in flashed(response))


def test_patient_from_another_patients_page_cannot_book_under_their_name(
    client, other_patient_user, patient, doctor, clinic
):
    # Whoever is logged in books for themselves: the form has no patient field to tamper with.
    client.force_login(other_patient_user)
    client.post(
        confirm_url(doctor, clinic), {**booking_data(local(TOMORROW, 9)), "patient": patient.pk}
    )
    appointment = Appointment.objects.get()
    assert appointment.patient == other_patient_user.patient
