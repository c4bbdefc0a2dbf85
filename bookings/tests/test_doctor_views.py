"""A doctor's own pages (/schedule/) as each kind of visitor meets them, with good and bad input.

Time is frozen at Tuesday 1 December 2026, 09:30 in Bengaluru (04:00 UTC; 04:00 in London too,
which keeps GMT in December). The doctor works Monday to Saturday at Lakeview (Asia/Kolkata).
"""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from accounts.roles import Role
from accounts.tests.factories import PatientFactory, UserFactory
from accounts.tests.pages import page_text, read_page
from bookings.models import Appointment, Status
from bookings.selectors import open_slots
from bookings.tests.factories import AppointmentFactory
from doctors.models import Doctor, TimeOff
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    TimeOffFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
LONDON = ZoneInfo("Europe/London")
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=KOLKATA)
TODAY = NOW.date()  # a Tuesday
TOMORROW = TODAY + dt.timedelta(days=1)
MONDAY = dt.date(2026, 11, 30)
SUNDAY = dt.date(2026, 12, 6)

NOT_THE_DOCTOR = ["patient_user", "front_desk_user", "clinic_admin_user", "unlinked_doctor_user"]


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def default_rules(settings):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60


def local(day, hour, minute=0, zone=KOLKATA):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


@pytest.fixture
def clinic():
    return ClinicFactory(name="Lakeview", timezone="Asia/Kolkata")


@pytest.fixture
def london():
    return ClinicFactory(name="Riverside", timezone="Europe/London")


@pytest.fixture
def doctor(doctor_user, clinic):
    """Dr Meera Nair: Monday to Saturday, 09:00-13:00 and 14:00-17:00 at Lakeview."""
    doctor = doctor_user.doctor
    doctor.full_name = "Dr Meera Nair"
    doctor.department = DepartmentFactory(name="Cardiology")
    doctor.slot_minutes = 15
    doctor.save()
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
def other_doctor(clinic):
    doctor = DoctorFactory(with_account=True, full_name="Dr Other")
    WorkingHoursFactory(doctor=doctor, clinic=clinic, weekday=TODAY.weekday())
    return doctor


@pytest.fixture
def unlinked_doctor_user():
    """Has the Doctor role but no Doctor row: no schedule belongs to this login."""
    return UserFactory(roles=[Role.DOCTOR])


@pytest.fixture
def doctor_client(client, doctor):
    client.force_login(doctor.user)
    return client


@pytest.fixture
def anonymous():
    """A second browser with no login, next to the doctor's (`client` is the doctor's)."""
    return Client()


def visit(doctor, clinic, start, name, **fields):
    return AppointmentFactory(
        doctor=doctor, clinic=clinic, start=start, patient=PatientFactory(full_name=name), **fields
    )


@pytest.fixture
def appointment(doctor, clinic):
    """Booked for later this morning."""
    return visit(doctor, clinic, local(TODAY, 11), "Ravi Kumar", reason="Palpitations at night")


def flashed(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def transition_url(appointment, action):
    return reverse("schedule:transition", kwargs={"pk": appointment.pk, "action": action})


def appointment_url(appointment):
    return reverse("schedule:appointment", kwargs={"pk": appointment.pk})


def time_off_data(**overrides):
    data = {"starts_at": "2026-12-02T09:00", "ends_at": "2026-12-02T12:00", "reason": "Conference"}
    data.update(overrides)
    return data


def parsed(response):
    return Calendar.from_ical(response.content)


# --- Who gets in ---------------------------------------------------------------------------------


def pages(appointment):
    return [
        reverse("schedule:today"),
        reverse("schedule:day", kwargs={"day": TODAY}),
        reverse("schedule:week"),
        reverse("schedule:week_of", kwargs={"day": TODAY}),
        appointment_url(appointment),
        reverse("schedule:time_off"),
        reverse("schedule:hours"),
        reverse("schedule:calendar_feed"),
    ]


ACTIONS = ("check-in", "complete", "no-show")


def posts(appointment, time_off):
    """Every state-changing POST of the schedule, with data that the doctor could submit."""
    return [
        *[(transition_url(appointment, action), {}) for action in ACTIONS],
        (reverse("schedule:time_off"), time_off_data()),
        (reverse("schedule:remove_time_off", kwargs={"pk": time_off.pk}), {}),
        (reverse("schedule:calendar_feed"), {"action": "issue"}),
        (reverse("schedule:calendar_feed"), {"action": "privacy", "shows_patient_names": "on"}),
    ]


@pytest.fixture
def time_off(doctor):
    day = TODAY + dt.timedelta(days=3)
    return TimeOffFactory(doctor=doctor, starts_at=local(day, 9), ends_at=local(day, 13))


def assert_nothing_changed(appointment, doctor, time_off):
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED
    assert appointment.checked_in_at is None and appointment.no_show_at is None
    assert list(TimeOff.objects.all()) == [time_off]
    doctor.refresh_from_db()
    assert doctor.calendar_token is None
    assert doctor.calendar_shows_patient_names is False


def test_anonymous_visitors_are_sent_to_log_in_from_every_schedule_page(
    client, appointment, doctor, time_off
):
    login = reverse("accounts:login")
    for url in pages(appointment):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"{login}?next={url}", url
    for url, data in posts(appointment, time_off):
        response = client.post(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(login), url
    assert_nothing_changed(appointment, doctor, time_off)


@pytest.mark.parametrize("visitor", NOT_THE_DOCTOR)
def test_logins_without_a_doctor_of_their_own_get_404_everywhere(
    client, request, visitor, appointment, doctor, time_off
):
    client.force_login(request.getfixturevalue(visitor))
    for url in pages(appointment):
        assert client.get(url).status_code == 404, url
    for url, data in posts(appointment, time_off):
        assert client.post(url, data).status_code == 404, url
    assert_nothing_changed(appointment, doctor, time_off)


def test_the_doctor_opens_every_page_of_their_schedule(doctor_client, appointment):
    for url in pages(appointment):
        assert doctor_client.get(url).status_code == 200, url


def test_another_doctors_appointment_answers_404_and_stays_as_it_was(
    client, other_doctor, appointment, doctor, time_off
):
    client.force_login(other_doctor.user)
    assert client.get(appointment_url(appointment)).status_code == 404
    for action in ACTIONS:
        assert client.post(transition_url(appointment, action)).status_code == 404, action
    response = client.post(reverse("schedule:remove_time_off", kwargs={"pk": time_off.pk}))
    assert response.status_code == 404
    assert_nothing_changed(appointment, doctor, time_off)


def test_another_doctors_day_and_week_do_not_show_this_doctors_patients(
    client, other_doctor, appointment
):
    client.force_login(other_doctor.user)
    for url in (reverse("schedule:today"), reverse("schedule:week")):
        response = client.get(url)
        assert response.status_code == 200
        assert "Ravi Kumar" not in page_text(response)


# --- The day's timeline --------------------------------------------------------------------------


def highlighted(response):
    """The text of the timeline entries marked as the next patient."""
    html = response.content.decode()
    return re.findall(r'<li class="[^"]*timeline-next[^"]*">(.*?)</li>', html, flags=re.DOTALL)


def test_day_shows_the_doctors_own_appointments_of_that_local_day_only(
    doctor_client, doctor, clinic, london, other_doctor
):
    visit(doctor, clinic, local(TODAY, 9), "Asha Completed", status=Status.COMPLETED)
    visit(doctor, clinic, local(TODAY, 9, 15), "Hari Unmarked")  # ended at 09:30, never marked
    visit(doctor, clinic, local(TODAY, 9, 45), "Bala Next")
    visit(doctor, clinic, local(TODAY, 10, 30), "Chitra Later", status=Status.CHECKED_IN)
    visit(doctor, clinic, local(TODAY, 11), "Dev Cancelled", status=Status.CANCELLED)
    # 22:00 in London on 1 December is 03:30 on 2 December in Bengaluru: it belongs to the 1st.
    visit(doctor, london, local(TODAY, 22, zone=LONDON), "Esther London")
    visit(other_doctor, clinic, local(TODAY, 10), "Farah Otherdoctor")
    visit(doctor, clinic, local(TOMORROW, 10), "Gopal Tomorrow")

    response = doctor_client.get(reverse("schedule:today"))

    text = page_text(response)
    names = ["Asha Completed", "Hari Unmarked", "Bala Next", "Chitra Later", "Esther London"]
    positions = [text.index(name) for name in names]
    assert positions == sorted(positions)
    for absent in ("Dev Cancelled", "Farah Otherdoctor", "Gopal Tomorrow"):
        assert absent not in text
    assert "5 appointments; 1 cancelled." in text
    assert "Today, Tuesday 1 December 2026" in text
    assert "22:00–22:15" in text  # the London visit in London's time
    assert ["Bala Next" in entry for entry in highlighted(response)] == [True]
    assert text.count("Next patient") == 1

    tomorrow = page_text(doctor_client.get(reverse("schedule:day", kwargs={"day": TOMORROW})))
    assert "Gopal Tomorrow" in tomorrow
    assert "Esther London" not in tomorrow and "Bala Next" not in tomorrow


def test_a_checked_in_patient_still_under_way_is_the_next_patient(doctor_client, doctor, clinic):
    visit(doctor, clinic, local(TODAY, 9, 15), "Asha Inside", status=Status.CHECKED_IN)
    visit(doctor, clinic, local(TODAY, 9, 30), "Bala Waiting")
    # The clock reads 09:30: the 09:15 visit has just ended, so the 09:30 patient is next.
    response = doctor_client.get(reverse("schedule:today"))
    assert ["Bala Waiting" in entry for entry in highlighted(response)] == [True]


def test_only_todays_page_marks_a_next_patient(doctor_client, doctor, clinic):
    visit(doctor, clinic, local(TODAY, 11), "Bala Today")
    visit(doctor, clinic, local(TOMORROW, 9), "Chitra Tomorrow")

    today = doctor_client.get(reverse("schedule:today"))
    tomorrow = doctor_client.get(reverse("schedule:day", kwargs={"day": TOMORROW}))

    assert ["Bala Today" in entry for entry in highlighted(today)] == [True]
    # Tomorrow's first visit is not the doctor's next patient while today's is still to come.
    assert highlighted(tomorrow) == []
    assert "Next patient" not in page_text(tomorrow)


def test_a_day_with_only_cancelled_appointments_says_so(doctor_client, doctor, clinic):
    visit(doctor, clinic, local(TOMORROW, 9), "Dev Cancelled", status=Status.CANCELLED)
    text = page_text(doctor_client.get(reverse("schedule:day", kwargs={"day": TOMORROW})))
    assert "0 appointments; 1 cancelled." in text
    assert "No appointments on this day." in text
    assert "Dev Cancelled" not in text


def test_an_impossible_date_answers_404(doctor_client):
    assert doctor_client.get("/schedule/day/2026-02-30/").status_code == 404
    assert doctor_client.get("/schedule/week/2026-13-01/").status_code == 404


# What the pages cost today (session, login and navigation included); what matters most is that
# the number does not grow with the appointments shown.
DAY_PAGE_MAX_QUERIES = 13
WEEK_PAGE_MAX_QUERIES = 11


def fill_day(doctor, clinic, day, count):
    for n in range(count):
        visit(doctor, clinic, local(day, 9) + dt.timedelta(minutes=15 * n), f"Patient {day} {n}")


def test_day_page_costs_a_bounded_number_of_queries_however_busy(
    doctor_client, doctor, clinic, london, django_assert_max_num_queries
):
    url = reverse("schedule:today")
    fill_day(doctor, clinic, TODAY, 1)
    doctor_client.get(url)  # warm what the first request fills
    # Session, user, doctor, hours, zones, appointments, roles..., plus what middleware adds.
    with django_assert_max_num_queries(DAY_PAGE_MAX_QUERIES) as quiet:
        doctor_client.get(url)
    for n in range(1, 13):
        visit(
            doctor,
            clinic if n % 2 else london,
            local(TODAY, 9) + dt.timedelta(minutes=15 * n),
            f"Busy {n}",
            status=Status.CANCELLED if n % 5 == 0 else Status.BOOKED,
        )
    with django_assert_max_num_queries(DAY_PAGE_MAX_QUERIES) as busy:
        response = doctor_client.get(url)
    assert "Busy 12" in page_text(response)
    assert len(busy.captured_queries) == len(quiet.captured_queries)


# --- The week ------------------------------------------------------------------------------------


def week_sections(response):
    """{date: text of that day's card} from the week page."""
    html = response.content.decode()
    found = re.findall(
        r'<section[^>]*aria-labelledby="day-(\d{8})"[^>]*>(.*?)</section>', html, flags=re.DOTALL
    )
    return {dt.datetime.strptime(key, "%Y%m%d").date(): body for key, body in found}


def test_week_groups_the_doctors_appointments_by_local_day(
    doctor_client, doctor, clinic, london, other_doctor
):
    visit(doctor, clinic, local(MONDAY, 10), "Asha Monday")
    visit(doctor, clinic, local(TODAY, 9, 45), "Bala Tuesday")
    visit(doctor, clinic, local(TODAY, 14), "Chitra Tuesday")
    visit(doctor, clinic, local(TODAY, 11), "Dev Cancelled", status=Status.CANCELLED)
    # Sunday 23:30 in London is Monday 05:00 in Bengaluru: still this week's Sunday.
    visit(doctor, london, local(SUNDAY, 23, 30, zone=LONDON), "Esther Sunday")
    visit(doctor, clinic, local(SUNDAY + dt.timedelta(days=1), 9), "Gopal Nextweek")
    visit(other_doctor, clinic, local(TODAY, 10), "Farah Otherdoctor")

    response = doctor_client.get(reverse("schedule:week_of", kwargs={"day": dt.date(2026, 12, 3)}))

    days = week_sections(response)
    assert list(days) == [MONDAY + dt.timedelta(days=n) for n in range(7)]
    assert "Asha Monday" in days[MONDAY]
    assert "Bala Tuesday" in days[TODAY] and "Chitra Tuesday" in days[TODAY]
    assert days[TODAY].index("Bala Tuesday") < days[TODAY].index("Chitra Tuesday")
    assert "Esther Sunday" in days[SUNDAY]
    assert "No appointments" in days[dt.date(2026, 12, 2)]
    text = page_text(response)
    for absent in ("Dev Cancelled", "Gopal Nextweek", "Farah Otherdoctor"):
        assert absent not in text
    assert "Week of 30 November 2026" in text


def test_week_page_costs_a_bounded_number_of_queries_however_busy(
    doctor_client, doctor, clinic, django_assert_max_num_queries
):
    url = reverse("schedule:week")
    fill_day(doctor, clinic, TODAY, 1)
    doctor_client.get(url)
    with django_assert_max_num_queries(WEEK_PAGE_MAX_QUERIES) as quiet:
        doctor_client.get(url)
    for day in (MONDAY, TOMORROW, SUNDAY):
        fill_day(doctor, clinic, day, 6)
    with django_assert_max_num_queries(WEEK_PAGE_MAX_QUERIES) as busy:
        response = doctor_client.get(url)
    assert len(week_sections(response)[SUNDAY].split("Patient ")) == 7
    assert len(busy.captured_queries) == len(quiet.captured_queries)


# --- An appointment and its actions --------------------------------------------------------------


def test_appointment_page_shows_the_patient_and_the_actions_that_apply(doctor_client, appointment):
    response = doctor_client.get(appointment_url(appointment))
    text = page_text(response)
    assert "Ravi Kumar, 11:00" in text
    assert "Palpitations at night" in text
    html = response.content.decode()
    assert transition_url(appointment, "check-in") in html
    assert transition_url(appointment, "complete") not in html
    assert transition_url(appointment, "no-show") not in html  # it has not started yet
    assert "A no-show can be marked once the start time has passed." in text


def test_doctor_checks_in_a_booked_appointment(doctor_client, appointment):
    response = doctor_client.post(transition_url(appointment, "check-in"))

    assert response.status_code == 302
    assert response["Location"] == appointment_url(appointment)
    assert flashed(response) == ["Ravi Kumar is checked in."]
    appointment.refresh_from_db()
    assert appointment.status == Status.CHECKED_IN
    assert appointment.checked_in_at == NOW


def test_doctor_completes_a_checked_in_appointment(doctor_client, appointment):
    Appointment.objects.filter(pk=appointment.pk).update(status=Status.CHECKED_IN)
    response = doctor_client.post(transition_url(appointment, "complete"))

    assert response["Location"] == appointment_url(appointment)
    assert flashed(response) == ["The appointment with Ravi Kumar is completed."]
    appointment.refresh_from_db()
    assert appointment.status == Status.COMPLETED
    assert appointment.completed_at == NOW


def test_doctor_marks_a_no_show_after_the_start(doctor_client, doctor, clinic):
    missed = visit(doctor, clinic, local(TODAY, 9), "Hari Missing")
    assert "Mark no-show" in page_text(doctor_client.get(appointment_url(missed)))

    response = doctor_client.post(transition_url(missed, "no-show"))

    assert flashed(response) == ["Hari Missing is marked as not having come."]
    missed.refresh_from_db()
    assert missed.status == Status.NO_SHOW
    assert missed.no_show_at == NOW


def test_no_show_before_the_start_is_refused_with_a_message(doctor_client, appointment):
    response = doctor_client.post(transition_url(appointment, "no-show"))

    assert response["Location"] == appointment_url(appointment)
    assert any("only after the appointment's start time" in text for text in flashed(response))
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED
    assert appointment.no_show_at is None


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        (Status.BOOKED, "complete", "Check the patient in first"),
        (Status.CANCELLED, "check-in", "Only a booked appointment can be checked in"),
        (Status.COMPLETED, "check-in", "Only a booked appointment can be checked in"),
        (Status.CHECKED_IN, "check-in", "Only a booked appointment can be checked in"),
        (Status.NO_SHOW, "complete", "Check the patient in first"),
    ],
)
def test_illegal_transitions_are_refused_and_nothing_changes(
    doctor_client, doctor, clinic, status, action, message
):
    appointment = visit(doctor, clinic, local(TODAY, 9), "Ravi Kumar", status=status)
    before = Appointment.objects.values().get(pk=appointment.pk)

    response = doctor_client.post(transition_url(appointment, action))

    assert response["Location"] == appointment_url(appointment)
    assert any(message in text for text in flashed(response))
    assert Appointment.objects.values().get(pk=appointment.pk) == before


@pytest.mark.parametrize("action", ["cancel", "delete", "checkin", "completed"])
def test_unknown_action_answers_404_and_changes_nothing(doctor_client, appointment, action):
    assert doctor_client.post(transition_url(appointment, action)).status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED


@pytest.mark.parametrize("action", ["check-in", "complete", "no-show"])
def test_get_on_an_action_is_not_allowed(doctor_client, appointment, action):
    assert doctor_client.get(transition_url(appointment, action)).status_code == 405
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED


def test_get_on_remove_time_off_is_not_allowed(doctor_client, time_off):
    url = reverse("schedule:remove_time_off", kwargs={"pk": time_off.pk})
    assert doctor_client.get(url).status_code == 405
    assert TimeOff.objects.filter(pk=time_off.pk).exists()


# --- Time off ------------------------------------------------------------------------------------


def slot_starts(doctor, clinic, day):
    return [
        slot.start.astimezone(KOLKATA).time()
        for slot in open_slots(doctor=doctor, clinic=clinic, now=NOW, first_day=day, last_day=day)
    ]


def test_doctor_adds_time_off_and_those_slots_are_no_longer_offered(doctor_client, doctor, clinic):
    assert dt.time(9) in slot_starts(doctor, clinic, TOMORROW)

    response = doctor_client.post(reverse("schedule:time_off"), time_off_data())

    assert response.status_code == 302
    assert response["Location"] == reverse("schedule:time_off")
    assert any("time off is saved" in text for text in flashed(response))
    entry = TimeOff.objects.get()
    assert (entry.doctor, entry.reason) == (doctor, "Conference")
    # Entered in the clinic's wall-clock time: 09:00 in Bengaluru is 03:30 UTC.
    assert entry.starts_at == local(TOMORROW, 9)
    assert entry.ends_at == local(TOMORROW, 12)
    starts = slot_starts(doctor, clinic, TOMORROW)
    assert not [start for start in starts if dt.time(9) <= start < dt.time(12)]
    assert dt.time(12) in starts and dt.time(14) in starts
    listing = page_text(doctor_client.get(reverse("schedule:time_off")))
    assert "Wed 2 Dec 2026 09:00 – Wed 2 Dec 2026 12:00" in listing


def test_time_off_is_read_in_the_zone_of_the_clinic_the_doctor_works_at(client, london):
    doctor = DoctorFactory(with_account=True)
    WorkingHoursFactory(doctor=doctor, clinic=london, weekday=2)
    client.force_login(doctor.user)

    client.post(reverse("schedule:time_off"), time_off_data())

    entry = TimeOff.objects.get(doctor=doctor)
    assert entry.starts_at == local(TOMORROW, 9, zone=LONDON)


def test_time_off_over_booked_appointments_is_refused_and_lists_them(doctor_client, doctor, clinic):
    visit(doctor, clinic, local(TOMORROW, 10), "Bala Second")
    visit(doctor, clinic, local(TOMORROW, 9, 15), "Asha First", status=Status.CHECKED_IN)
    visit(doctor, clinic, local(TOMORROW, 11), "Dev Cancelled", status=Status.CANCELLED)
    visit(doctor, clinic, local(TOMORROW, 12), "Chitra Afterwards")  # starts as it ends

    response = doctor_client.post(reverse("schedule:time_off"), time_off_data())

    assert response.status_code == 200
    assert not TimeOff.objects.exists()
    errors = read_page(response).general_errors()
    assert any("You have 2 appointments in that time" in error for error in errors)
    text = page_text(response)
    listed = text.split("Appointments in that time")[1].split("Ask the front desk")[0]
    assert "Wed 2 Dec 09:15, Asha First" in listed
    assert listed.index("Asha First") < listed.index("Bala Second")
    assert "Dev Cancelled" not in listed and "Chitra Afterwards" not in listed


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (time_off_data(ends_at="2026-12-02T08:00"), "id_ends_at", "must end after it starts"),
        (time_off_data(ends_at="2026-12-02T09:00"), "id_ends_at", "must end after it starts"),
        (
            time_off_data(starts_at="2026-11-30T09:00", ends_at="2026-12-01T09:00"),
            "id_ends_at",
            "already over",
        ),
        (time_off_data(starts_at="next tuesday"), "id_starts_at", "Enter a valid date/time"),
        (time_off_data(ends_at="2026-02-30T10:00"), "id_ends_at", "Enter a valid date/time"),
        (time_off_data(starts_at=""), "id_starts_at", "This field is required"),
        (time_off_data(reason="x" * 201), "id_reason", "at most 200 characters"),
    ],
    ids=["end-before-start", "empty", "over", "garbage-start", "impossible-end", "missing", "long"],
)
def test_bad_time_off_is_reported_by_the_field_and_nothing_saved(
    doctor_client, doctor, data, field, message
):
    response = doctor_client.post(reverse("schedule:time_off"), data)

    assert response.status_code == 200
    page = read_page(response)
    assert any(message in error for error in page.errors_for(field)), page.error_summary
    assert not TimeOff.objects.exists()


def test_time_off_page_lists_only_the_doctors_own_upcoming_time_off(
    doctor_client, doctor, other_doctor
):
    for owner, start, end, reason in [
        (doctor, local(TOMORROW, 14), local(TOMORROW, 17), "Own leave"),
        (doctor, local(MONDAY, 9), local(MONDAY, 13), "Past leave"),
        (other_doctor, local(TOMORROW, 9), local(TOMORROW, 13), "Someone else's leave"),
    ]:
        TimeOffFactory(doctor=owner, starts_at=start, ends_at=end, reason=reason)
    text = page_text(doctor_client.get(reverse("schedule:time_off")))
    assert "Own leave" in text
    assert "Past leave" not in text and "Someone else's leave" not in text


def test_doctor_removes_their_own_time_off(doctor_client, doctor, time_off):
    kept = TimeOffFactory(doctor=doctor, starts_at=local(TOMORROW, 9), ends_at=local(TOMORROW, 10))
    response = doctor_client.post(reverse("schedule:remove_time_off", kwargs={"pk": time_off.pk}))

    assert response["Location"] == reverse("schedule:time_off")
    assert any("time off is removed" in text for text in flashed(response))
    assert list(TimeOff.objects.all()) == [kept]


def test_another_doctors_time_off_cannot_be_removed(doctor_client, other_doctor):
    theirs = TimeOffFactory(doctor=other_doctor)
    url = reverse("schedule:remove_time_off", kwargs={"pk": theirs.pk})
    assert doctor_client.post(url).status_code == 404
    assert TimeOff.objects.filter(pk=theirs.pk).exists()


# --- Working hours -------------------------------------------------------------------------------


def test_working_hours_page_lists_the_doctors_hours_by_day(doctor_client, doctor, london):
    WorkingHoursFactory(
        doctor=doctor, clinic=london, weekday=6, starts_at=dt.time(10), ends_at=dt.time(12)
    )
    response = doctor_client.get(reverse("schedule:hours"))
    text = page_text(response)
    assert text.count("09:00–13:00 at Lakeview") == 6
    assert text.count("14:00–17:00 at Lakeview") == 6
    assert "Sunday" in text and "10:00–12:00 at Riverside" in text
    assert text.index("Monday") < text.index("Saturday") < text.index("Sunday")
    assert "Appointments last 15 minutes." in text


def test_working_hours_page_says_when_there_are_none(client):
    doctor = DoctorFactory(with_account=True)
    client.force_login(doctor.user)
    text = page_text(client.get(reverse("schedule:hours")))
    assert "You have no working hours yet" in text


# --- The calendar feed ---------------------------------------------------------------------------


def feed_url(token):
    return reverse("schedule:feed", kwargs={"token": token})


def turn_feed_on(doctor_client, doctor):
    response = doctor_client.post(reverse("schedule:calendar_feed"), {"action": "issue"})
    assert response.status_code == 302
    doctor_client.get(response["Location"])  # shows (and so uses up) the confirmation
    doctor.refresh_from_db()
    return doctor.calendar_token


def test_feed_is_off_until_the_doctor_turns_it_on(doctor_client, doctor):
    page = page_text(doctor_client.get(reverse("schedule:calendar_feed")))
    assert "Your feed is off." in page
    assert "/schedule/feed/" not in page

    token = turn_feed_on(doctor_client, doctor)

    assert token and len(token) >= 32
    page = doctor_client.get(reverse("schedule:calendar_feed"))
    assert f"http://testserver{feed_url(token)}" in page_text(page)


@pytest.fixture
def feed_appointments(doctor, clinic, london, other_doctor):
    """In the feed's range (30 days back, 120 ahead) and outside it, of this doctor and another."""
    return {
        "booked": visit(
            doctor, clinic, local(TOMORROW, 10), "Bala Booked", reason="Chest pain on stairs"
        ),
        "done": visit(
            doctor,
            london,
            local(MONDAY, 9, zone=LONDON),
            "Asha Done",
            status=Status.COMPLETED,
            reason="Rash on arms",
        ),
        "cancelled": visit(
            doctor, clinic, local(TOMORROW, 11), "Dev Cancelled", status=Status.CANCELLED
        ),
        "too_old": visit(doctor, clinic, local(TODAY - dt.timedelta(days=31), 10), "Old Patient"),
        "too_far": visit(doctor, clinic, local(TODAY + dt.timedelta(days=121), 10), "Far Patient"),
        "other": visit(other_doctor, clinic, local(TOMORROW, 10), "Farah Otherdoctor"),
    }


def feed_events(response):
    return {str(event["uid"]): event for event in parsed(response).walk("VEVENT")}


def test_feed_lists_the_doctors_appointments_in_range_without_names_or_reasons(
    anonymous, doctor_client, doctor, feed_appointments
):
    token = turn_feed_on(doctor_client, doctor)

    response = anonymous.get(feed_url(token))  # no login: the token is the credential

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    events = feed_events(response)
    booked, done = feed_appointments["booked"], feed_appointments["done"]
    assert set(events) == {f"appointment-{a.pk}@clinic-portal" for a in (booked, done)}
    event = events[f"appointment-{booked.pk}@clinic-portal"]
    assert event.decoded("dtstart") == booked.start
    assert event.decoded("dtend") == booked.end
    assert str(event["summary"]) == "Consultation (patient)"
    body = response.content.decode()
    for secret in ("Bala", "Asha", "Chest pain", "Rash on arms", "Dev Cancelled"):
        assert secret not in body


def test_feed_shows_patients_names_only_once_the_doctor_turns_them_on(
    anonymous, doctor_client, doctor, feed_appointments
):
    token = turn_feed_on(doctor_client, doctor)
    response = doctor_client.post(
        reverse("schedule:calendar_feed"), {"action": "privacy", "shows_patient_names": "on"}
    )
    assert any("settings are saved" in text for text in flashed(response))

    response = anonymous.get(feed_url(token))

    body = response.content.decode()
    events = parsed(response).walk("VEVENT")
    summaries = sorted(str(event["summary"]) for event in events)
    assert summaries == ["Consultation: Asha Done", "Consultation: Bala Booked"]
    assert "Chest pain" not in body and "Rash on arms" not in body

    doctor_client.post(reverse("schedule:calendar_feed"), {"action": "privacy"})
    assert "Bala Booked" not in anonymous.get(feed_url(token)).content.decode()


def test_a_new_address_retires_the_old_one(anonymous, doctor_client, doctor):
    old = turn_feed_on(doctor_client, doctor)
    assert anonymous.get(feed_url(old)).status_code == 200
    new = turn_feed_on(doctor_client, doctor)

    assert new != old
    assert anonymous.get(feed_url(old)).status_code == 404
    assert anonymous.get(feed_url(new)).status_code == 200
    page = page_text(doctor_client.get(reverse("schedule:calendar_feed")))
    assert feed_url(new) in page and feed_url(old) not in page


def test_turning_the_feed_off_makes_its_address_404(anonymous, doctor_client, doctor):
    token = turn_feed_on(doctor_client, doctor)
    response = doctor_client.post(reverse("schedule:calendar_feed"), {"action": "revoke"})

    assert any("turned off" in text for text in flashed(response))
    doctor.refresh_from_db()
    assert doctor.calendar_token is None
    assert anonymous.get(feed_url(token)).status_code == 404
    assert "Your feed is off." in page_text(doctor_client.get(reverse("schedule:calendar_feed")))


@pytest.mark.parametrize("token", ["not-a-token", "None", "x" * 43])
def test_an_unknown_feed_token_answers_404(anonymous, doctor_client, doctor, token):
    turn_feed_on(doctor_client, doctor)
    assert anonymous.get(feed_url(token)).status_code == 404


@pytest.mark.parametrize("data", [{}, {"action": "delete"}, {"action": ""}])
def test_an_unknown_feed_action_gives_a_message_and_changes_nothing(doctor_client, doctor, data):
    token = turn_feed_on(doctor_client, doctor)
    response = doctor_client.post(reverse("schedule:calendar_feed"), data)

    assert response["Location"] == reverse("schedule:calendar_feed")
    assert flashed(response) == ["Please use one of the buttons on this page."]
    doctor.refresh_from_db()
    assert doctor.calendar_token == token
    assert doctor.calendar_shows_patient_names is False


def test_each_doctors_feed_holds_only_their_own_appointments(
    anonymous, doctor_client, doctor, other_doctor, feed_appointments
):
    turn_feed_on(doctor_client, doctor)
    other_client = Client()
    other_client.force_login(other_doctor.user)
    turn_feed_on(other_client, other_doctor)

    events = feed_events(anonymous.get(feed_url(other_doctor.calendar_token)))

    assert set(events) == {f"appointment-{feed_appointments['other'].pk}@clinic-portal"}
    assert Doctor.objects.exclude(calendar_token=None).count() == 2


def test_feed_costs_the_same_queries_however_many_appointments(
    anonymous, doctor_client, doctor, clinic, django_assert_max_num_queries
):
    token = turn_feed_on(doctor_client, doctor)
    fill_day(doctor, clinic, TOMORROW, 1)
    with django_assert_max_num_queries(2) as quiet:  # the doctor, the appointments
        anonymous.get(feed_url(token))
    fill_day(doctor, clinic, TOMORROW + dt.timedelta(days=1), 12)
    with django_assert_max_num_queries(2) as busy:
        response = anonymous.get(feed_url(token))
    assert len(parsed(response).walk("VEVENT")) == 13
    assert len(busy.captured_queries) == len(quiet.captured_queries)
