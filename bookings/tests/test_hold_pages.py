"""The booking pages hold the time at the confirm step: for the patient on their own pages, for
the chosen patient on the front desk's; booking consumes the hold, choosing another time lets it
go, and anyone else meets the time as taken. Plus the holds in the admin, per role.

Time is frozen at Tuesday 1 December 2026, 09:30 in Bengaluru: a hold made now lasts until 09:40.
"""

import datetime as dt
import re
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import PatientFactory
from accounts.tests.pages import page_text, read_page
from billing.models import Charge
from bookings.forms import slot_token
from bookings.models import Appointment, HoldPurpose, SlotHold
from bookings.tests.factories import AppointmentFactory, SlotHoldFactory
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=KOLKATA)
TOMORROW = NOW.date() + dt.timedelta(days=1)
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK", "COMMIT", "BEGIN")
HELD_MESSAGE = "someone else is booking that time"


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def default_rules(settings):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4
    settings.SLOT_HOLD_MINUTES = 10


def local(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=KOLKATA)


NINE = local(TOMORROW, 9)
TEN = local(TOMORROW, 10)


@pytest.fixture
def clinic():
    return ClinicFactory(name="Lakeview", timezone="Asia/Kolkata")


@pytest.fixture
def doctor(clinic):
    doctor = DoctorFactory(
        full_name="Dr Meera Nair", department=DepartmentFactory(name="Cardiology"), slot_minutes=15
    )
    for weekday in range(7):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(13)
        )
    return doctor


@pytest.fixture
def patient(patient_user):
    return patient_user.patient


@pytest.fixture
def other_patient(other_patient_user):
    return other_patient_user.patient


@pytest.fixture
def walk_in():
    return PatientFactory(full_name="Ravi Kumar", email="")


def logged_in(client, user):
    client.force_login(user)
    return client


def flashed(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def visible_text(response):
    return " ".join(re.sub(r"<[^>]+>", " ", page_text(response)).split())


def confirm_url(doctor, clinic, start=None, *, desk=False, **query):
    name = "desk:confirm" if desk else "bookings:confirm"
    path = reverse(name, kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    if start is not None:
        query = {"start": slot_token(start), **query}
    return f"{path}?{urlencode(query)}" if query else path


def day_url(doctor, clinic, *, desk=False, **query):
    name = "desk:day" if desk else "bookings:day"
    path = reverse(name, kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk, "day": TOMORROW})
    return f"{path}?{urlencode(query)}" if query else path


def booking_data(start, **extra):
    return {
        "start": slot_token(start),
        "appointment_type": "consultation",
        "payment_mode": "at_clinic",
        "reason": "",
        **extra,
    }


def offers(response, start):
    """Whether a day page links to the confirm step for `start`."""
    token = slot_token(start)
    wanted = (f"start={token}", urlencode({"start": token}))
    return any(
        any(form in (href or "") for form in wanted) for href, _ in read_page(response).links
    )


# The patient's pages -------------------------------------------------------------------------


def test_the_confirm_step_holds_the_time_for_the_patient_and_says_until_when(
    client, patient_user, patient, doctor, clinic
):
    response = logged_in(client, patient_user).get(confirm_url(doctor, clinic, NINE))

    assert response.status_code == 200
    hold = SlotHold.objects.get()
    assert (hold.doctor, hold.clinic, hold.start) == (doctor, clinic, NINE)
    assert (hold.patient, hold.held_by, hold.purpose) == (
        patient,
        patient_user,
        HoldPurpose.BOOKING_PAGE,
    )
    assert "We are keeping this time for you until 09:40" in visible_text(response)
    assert hold.token not in page_text(response)  # the portal's own pages need no handle


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "same-origin", "Sec-Purpose": "prefetch;prerender"},
        {"Purpose": "prefetch"},
    ],
)
@pytest.mark.parametrize("desk", [False, True])
def test_a_confirm_page_opened_from_another_site_or_prefetched_holds_nothing(
    client, patient_user, front_desk_user, patient, doctor, clinic, headers, desk
):
    user, extra = (front_desk_user, {"patient": patient.pk}) if desk else (patient_user, {})
    logged_in(client, user)
    earlier = client.get(confirm_url(doctor, clinic, local(TOMORROW, 10), desk=desk, **extra))
    assert earlier.status_code == 200 and SlotHold.objects.count() == 1

    response = client.get(confirm_url(doctor, clinic, NINE, desk=desk, **extra), headers=headers)

    assert response.status_code == 200  # the page is shown; its time is not kept
    assert "until 09:40" not in visible_text(response)
    [kept] = SlotHold.objects.all()  # and the time held before is not let go either
    assert kept.start == local(TOMORROW, 10)


@pytest.mark.parametrize("fetch_site", ["same-origin", "none"])
def test_a_confirm_page_opened_from_the_portal_or_typed_holds(
    client, patient_user, patient, doctor, clinic, fetch_site
):
    logged_in(client, patient_user)
    client.get(confirm_url(doctor, clinic, NINE), headers={"Sec-Fetch-Site": fetch_site})

    assert SlotHold.objects.get().start == NINE


def test_a_taken_time_opened_from_another_site_is_not_offered(
    client, patient_user, other_patient_user, doctor, clinic
):
    logged_in(client, other_patient_user).get(confirm_url(doctor, clinic, NINE))
    client.logout()

    response = logged_in(client, patient_user).get(
        confirm_url(doctor, clinic, NINE), headers={"Sec-Fetch-Site": "cross-site"}
    )

    assert response.status_code == 302
    assert flashed(response) == [
        "Sorry, that time is no longer available. Please choose another time."
    ]


def test_booking_consumes_the_patient_s_hold(client, patient_user, patient, doctor, clinic):
    logged_in(client, patient_user).get(confirm_url(doctor, clinic, NINE))

    response = client.post(confirm_url(doctor, clinic), booking_data(NINE))

    appointment = Appointment.objects.get()
    assert response["Location"] == reverse("bookings:booked", kwargs={"pk": appointment.pk})
    assert (appointment.patient, appointment.start) == (patient, NINE)
    assert not SlotHold.objects.exists()


def test_choosing_another_time_releases_the_patient_s_previous_hold(
    client, patient_user, doctor, clinic
):
    logged_in(client, patient_user).get(confirm_url(doctor, clinic, NINE))
    client.get(confirm_url(doctor, clinic, TEN))

    assert list(SlotHold.objects.values_list("start", flat=True)) == [TEN]


def test_the_patient_still_sees_their_held_time_offered_and_can_come_back_to_it(
    client, patient_user, doctor, clinic, frozen_now
):
    logged_in(client, patient_user).get(confirm_url(doctor, clinic, NINE))
    frozen_now.shift(dt.timedelta(minutes=4))

    assert offers(client.get(day_url(doctor, clinic)), NINE)
    again = client.get(confirm_url(doctor, clinic, NINE))

    assert again.status_code == 200
    # The same hold: coming back does not stretch it.
    assert "until 09:40" in visible_text(again)
    assert SlotHold.objects.count() == 1


def test_another_patient_is_not_offered_the_held_time_and_is_told_why(
    client, patient_user, other_patient_user, doctor, clinic
):
    logged_in(client, patient_user).get(confirm_url(doctor, clinic, NINE))
    client.logout()
    logged_in(client, other_patient_user)

    day = client.get(day_url(doctor, clinic))
    shown = client.get(confirm_url(doctor, clinic, NINE))
    booked = client.post(confirm_url(doctor, clinic), booking_data(NINE))

    assert not offers(day, NINE) and offers(day, TEN)
    assert shown.status_code == 302 and shown["Location"] == day_url(doctor, clinic)
    assert any(HELD_MESSAGE in text for text in flashed(shown))
    assert booked.status_code == 302
    assert any(HELD_MESSAGE in text for text in flashed(booked))
    assert not Appointment.objects.exists()
    assert SlotHold.objects.get().patient == patient_user.patient


def test_visitors_are_not_offered_a_held_time(client, patient_user, doctor, clinic):
    logged_in(client, patient_user).get(confirm_url(doctor, clinic, NINE))
    client.logout()
    assert not offers(client.get(day_url(doctor, clinic)), NINE)


def test_the_held_time_is_offered_to_everyone_again_once_the_hold_expires(
    client, patient_user, other_patient_user, doctor, clinic, frozen_now
):
    logged_in(client, patient_user).get(confirm_url(doctor, clinic, NINE))
    client.logout()
    logged_in(client, other_patient_user)
    frozen_now.shift(dt.timedelta(minutes=10))

    assert offers(client.get(day_url(doctor, clinic)), NINE)
    response = client.post(confirm_url(doctor, clinic), booking_data(NINE))

    assert Appointment.objects.get().patient == other_patient_user.patient
    assert response.status_code == 302


def test_a_patient_at_the_cap_is_told_so_and_nothing_is_held(
    client, patient_user, patient, doctor, clinic, settings
):
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 1
    AppointmentFactory(patient=patient, doctor=doctor, clinic=clinic, start=local(TOMORROW, 12))

    response = logged_in(client, patient_user).get(confirm_url(doctor, clinic, NINE))

    assert response.status_code == 302
    assert any("1 upcoming appointments" in message for message in flashed(response))
    assert not SlotHold.objects.exists()


def test_a_refused_booking_shows_the_hold_still_kept(
    client, patient_user, patient, doctor, clinic, settings
):
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 1
    logged_in(client, patient_user).get(confirm_url(doctor, clinic, NINE))
    # Booked since by another way in (the desk, say): the cap is reached.
    AppointmentFactory(patient=patient, doctor=doctor, clinic=clinic, start=local(TOMORROW, 12))

    response = client.post(confirm_url(doctor, clinic), booking_data(NINE))

    assert response.status_code == 200
    assert any("1 upcoming" in error for error in read_page(response).general_errors())
    assert "We are keeping this time for you until 09:40" in visible_text(response)


@pytest.mark.parametrize("visitor", [None, "doctor_user", "front_desk_user", "clinic_admin_user"])
def test_nobody_but_a_patient_holds_a_time_through_the_patient_s_confirm_page(
    client, request, visitor, doctor, clinic
):
    if visitor:
        logged_in(client, request.getfixturevalue(visitor))
    response = client.get(confirm_url(doctor, clinic, NINE))
    assert response.status_code in (302, 403)
    assert not SlotHold.objects.exists()


def test_moving_an_appointment_is_not_offered_someone_else_s_held_time(
    client, patient_user, patient, other_patient_user, doctor, clinic
):
    appointment = AppointmentFactory(
        patient=patient, doctor=doctor, clinic=clinic, start=local(TOMORROW, 12)
    )
    logged_in(client, other_patient_user).get(confirm_url(doctor, clinic, NINE))
    client.logout()
    logged_in(client, patient_user)

    day = client.get(
        reverse("bookings:reschedule_day", kwargs={"pk": appointment.pk, "day": TOMORROW})
    )
    confirm = client.get(
        reverse("bookings:reschedule_confirm", kwargs={"pk": appointment.pk})
        + f"?start={slot_token(NINE)}"
    )
    moved = client.post(
        reverse("bookings:reschedule_confirm", kwargs={"pk": appointment.pk}),
        {"start": slot_token(NINE)},
    )

    assert not offers(day, NINE) and offers(day, TEN)
    assert confirm.status_code == 302
    assert moved.status_code == 302
    assert any(HELD_MESSAGE in text for text in flashed(moved))
    appointment.refresh_from_db()
    assert appointment.start == local(TOMORROW, 12)


# The front desk's pages ----------------------------------------------------------------------


def test_the_desk_holds_the_time_once_the_patient_is_chosen(
    client, front_desk_user, walk_in, doctor, clinic
):
    logged_in(client, front_desk_user)

    searching = client.get(confirm_url(doctor, clinic, NINE, desk=True))
    assert searching.status_code == 200
    assert not SlotHold.objects.exists()  # nobody to keep it for yet

    chosen = client.get(confirm_url(doctor, clinic, NINE, desk=True, patient=walk_in.pk))

    assert chosen.status_code == 200
    hold = SlotHold.objects.get()
    assert (hold.patient, hold.held_by, hold.start) == (walk_in, front_desk_user, NINE)
    assert "This time is kept for Ravi Kumar until 09:40" in visible_text(chosen)


def test_the_desk_s_booking_consumes_the_hold_and_its_next_time_releases_the_last(
    client, front_desk_user, walk_in, doctor, clinic
):
    logged_in(client, front_desk_user)
    client.get(confirm_url(doctor, clinic, NINE, desk=True, patient=walk_in.pk))
    client.get(confirm_url(doctor, clinic, TEN, desk=True, patient=walk_in.pk))
    assert list(SlotHold.objects.values_list("start", flat=True)) == [TEN]

    response = client.post(
        confirm_url(doctor, clinic, TEN, desk=True),
        {**booking_data(TEN), "action": "book", "patient": walk_in.pk},
    )

    assert response.status_code == 302
    assert Appointment.objects.get().patient == walk_in
    assert not SlotHold.objects.exists()


def test_the_desk_is_offered_its_patient_s_held_time_but_not_another_s(
    client, front_desk_user, patient_user, patient, walk_in, doctor, clinic
):
    logged_in(client, patient_user).get(confirm_url(doctor, clinic, NINE))
    client.logout()
    logged_in(client, front_desk_user)

    for_the_patient = client.get(day_url(doctor, clinic, desk=True, patient=patient.pk))
    for_the_walk_in = client.get(day_url(doctor, clinic, desk=True, patient=walk_in.pk))
    refused = client.get(confirm_url(doctor, clinic, NINE, desk=True, patient=walk_in.pk))
    booked = client.post(
        confirm_url(doctor, clinic, NINE, desk=True),
        {**booking_data(NINE), "action": "book", "patient": patient.pk},
    )

    assert offers(for_the_patient, NINE)
    assert not offers(for_the_walk_in, NINE)
    assert refused.status_code == 302
    assert any(HELD_MESSAGE in text for text in flashed(refused))
    assert booked.status_code == 302  # the patient's own hold: the desk books it for them
    assert Appointment.objects.get().patient == patient
    assert not SlotHold.objects.exists()


@pytest.mark.parametrize("visitor", ["patient_user", "doctor_user"])
def test_the_desk_s_confirm_page_holds_nothing_for_others(
    client, request, visitor, walk_in, doctor, clinic
):
    logged_in(client, request.getfixturevalue(visitor))
    response = client.get(confirm_url(doctor, clinic, NINE, desk=True, patient=walk_in.pk))
    assert response.status_code == 404
    assert not SlotHold.objects.exists()


# What the hold costs the booking -------------------------------------------------------------


def work_statements(captured):
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].upper().startswith(TRANSACTION_CONTROL)
    ]


def test_a_booking_with_a_hold_costs_one_statement_more_the_delete_of_the_hold(
    client, patient_user, doctor, clinic
):
    logged_in(client, patient_user).get(reverse("bookings:mine"))
    ContentType.objects.get_for_models(Appointment, Charge)

    def booking_post(start, *, held):
        if held:
            client.get(confirm_url(doctor, clinic, start))
        with CaptureQueriesContext(connection) as captured:
            response = client.post(confirm_url(doctor, clinic), booking_data(start))
        assert response.status_code == 302
        return work_statements(captured)

    plain = booking_post(NINE, held=False)
    held = booking_post(TEN, held=True)

    assert len(held) == len(plain) + 1, "\n".join(held)
    [extra] = [sql for sql in held if "bookings_slothold" in sql and sql.startswith("DELETE")]
    assert not any(sql.startswith("DELETE") for sql in plain)
    assert not SlotHold.objects.exists()
    assert extra


# Bad input -----------------------------------------------------------------------------------

JUNK_STARTS = [
    "",
    "x",
    "2026-12-02T09:00",
    "2026-13-45T25:61Z",
    "0001-01-01T00:00Z",
    "\u202e",
    "9" * 500,
]


@pytest.mark.parametrize("start", JUNK_STARTS)
def test_junk_times_at_either_confirm_step_are_never_a_server_error_and_hold_nothing(
    client, patient_user, front_desk_user, walk_in, doctor, clinic, start
):
    logged_in(client, patient_user)
    patient_pages = [
        client.get(f"{confirm_url(doctor, clinic)}?{urlencode({'start': start})}"),
        client.post(confirm_url(doctor, clinic), {**booking_data(NINE), "start": start}),
    ]
    client.logout()
    logged_in(client, front_desk_user)
    desk_query = urlencode({"start": start, "patient": walk_in.pk})
    desk_pages = [
        client.get(f"{confirm_url(doctor, clinic, desk=True)}?{desk_query}"),
        client.post(
            f"{confirm_url(doctor, clinic, desk=True)}?{desk_query}",
            {**booking_data(NINE), "start": start, "action": "book", "patient": walk_in.pk},
        ),
    ]
    for response in patient_pages + desk_pages:
        assert response.status_code < 500
    assert not SlotHold.objects.exists()
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("patient_param", ["", "abc", "-1", "999999", "²", "1" * 40])
def test_junk_patients_at_the_desk_s_confirm_step_hold_nothing(
    client, front_desk_user, doctor, clinic, patient_param
):
    logged_in(client, front_desk_user)
    response = client.get(confirm_url(doctor, clinic, NINE, desk=True, patient=patient_param))
    assert response.status_code == 200  # the page asks for the patient instead
    assert not SlotHold.objects.exists()


# The admin -----------------------------------------------------------------------------------

CHANGELIST = reverse("admin:bookings_slothold_changelist")


@pytest.fixture
def hold(doctor, clinic, walk_in, front_desk_user):
    return SlotHoldFactory(
        doctor=doctor, clinic=clinic, start=NINE, patient=walk_in, held_by=front_desk_user
    )


@pytest.mark.parametrize("staff", ["front_desk_user", "clinic_admin_user"])
def test_staff_see_holds_read_only_and_release_them(client, request, staff, hold):
    logged_in(client, request.getfixturevalue(staff))

    listing = client.get(CHANGELIST)
    change = client.get(reverse("admin:bookings_slothold_change", args=[hold.pk]))
    assert listing.status_code == 200 and change.status_code == 200
    assert "Dr Meera Nair" in visible_text(listing)
    assert hold.token not in page_text(listing) + page_text(change)
    assert client.get(reverse("admin:bookings_slothold_add")).status_code == 403
    delete_url = reverse("admin:bookings_slothold_delete", args=[hold.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    assert SlotHold.objects.exists()

    released = client.post(
        CHANGELIST, {"action": "release", "_selected_action": [hold.pk]}, follow=True
    )

    assert released.status_code == 200
    assert "Released 1 hold(s)" in visible_text(released)
    assert not SlotHold.objects.exists()


@pytest.mark.parametrize("visitor", [None, "patient_user", "doctor_user"])
def test_patients_doctors_and_visitors_cannot_open_the_holds_admin(client, request, visitor, hold):
    if visitor:
        logged_in(client, request.getfixturevalue(visitor))
    response = client.post(CHANGELIST, {"action": "release", "_selected_action": [hold.pk]})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert SlotHold.objects.exists()
