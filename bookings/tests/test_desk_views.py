"""The front desk's pages (/desk/) as each kind of visitor meets them, with good and bad input.

Time is frozen at Tuesday 1 December 2026, 09:30 in Bengaluru (04:00 UTC): the booking window runs
from 1 to 31 December, an hour's notice makes 10:30 the first bookable time today, and an
appointment at 12:00 today is inside the patients' 4-hour cancellation cut-off.
"""

import datetime as dt
import re
from html import unescape
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import factory
import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse

from accounts.models import Patient
from accounts.selectors import SEARCH_LIMIT
from accounts.tests.factories import PatientFactory
from accounts.tests.pages import page_text, read_page
from bookings import desk_urls
from bookings.forms import slot_token
from bookings.models import Appointment, Status
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=KOLKATA)
TODAY = NOW.date()
TOMORROW = TODAY + dt.timedelta(days=1)
YESTERDAY = TODAY - dt.timedelta(days=1)

DESK = ["front_desk_user", "clinic_admin_user"]
REFUSED = ["patient_user", "doctor_user"]


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def default_rules(settings):
    """The documented defaults, whatever the environment sets."""
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4


def local(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=KOLKATA)


def works_mon_to_sat(doctor, clinic):
    for weekday in range(6):
        for starts_at, ends_at in ((dt.time(9), dt.time(13)), (dt.time(14), dt.time(17))):
            WorkingHoursFactory(
                doctor=doctor, clinic=clinic, weekday=weekday, starts_at=starts_at, ends_at=ends_at
            )
    return doctor


@pytest.fixture
def clinic():
    return ClinicFactory(name="Lakeview", timezone="Asia/Kolkata")


@pytest.fixture
def doctor(clinic):
    """Works Monday to Saturday, 09:00-13:00 and 14:00-17:00 at Lakeview, in 15-minute slots."""
    doctor = DoctorFactory(
        full_name="Dr Meera Nair", department=DepartmentFactory(name="Cardiology"), slot_minutes=15
    )
    return works_mon_to_sat(doctor, clinic)


@pytest.fixture
def walk_in():
    """A directory entry with no login, as the front desk adds them."""
    return PatientFactory(
        full_name="Ravi Kumar",
        date_of_birth=dt.date(1980, 5, 17),
        sex="male",
        phone="+919812345678",
        email="",
    )


@pytest.fixture
def todays_appointment(walk_in, doctor, clinic):
    return AppointmentFactory(patient=walk_in, doctor=doctor, clinic=clinic, start=local(TODAY, 11))


@pytest.fixture
def appointment(walk_in, doctor, clinic):
    return AppointmentFactory(
        patient=walk_in, doctor=doctor, clinic=clinic, start=local(TOMORROW, 10)
    )


@pytest.fixture
def desk_user(front_desk_user):
    return front_desk_user


@pytest.fixture
def desk_client(client, desk_user):
    client.force_login(desk_user)
    return client


def flashed(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def url(name, query=None, **kwargs):
    path = reverse(f"desk:{name}", kwargs=kwargs)
    return f"{path}?{urlencode(query)}" if query else path


def appointment_url(appointment):
    return url("appointment", pk=appointment.pk)


def confirm_url(doctor, clinic, start, **query):
    return url(
        "confirm",
        {"start": slot_token(start), **query},
        doctor_id=doctor.pk,
        clinic_id=clinic.pk,
    )


def calendar_url(doctor, clinic, **query):
    return url("calendar", query, doctor_id=doctor.pk, clinic_id=clinic.pk)


def visible_text(response):
    return " ".join(re.sub(r"<[^>]+>", " ", page_text(response)).split())


def links(response):
    return [href for href, _ in read_page(response).links]


def hidden_value(response, name):
    match = re.search(rf'name="{name}" value="([^"]*)"', response.content.decode())
    return unescape(match.group(1)) if match else None


def booking_data(start, patient, **overrides):
    data = {
        "action": "book",
        "start": slot_token(start),
        "patient": patient.pk if isinstance(patient, Patient) else patient,
        "appointment_type": "consultation",
        "payment_mode": "at_clinic",
        "reason": "Fever for three days",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def patient_data(**overrides):
    data = {
        "full_name": "Lakshmi Iyer",
        "date_of_birth": "1975-08-09",
        "sex": "female",
        "phone": "+91 98450 12345",
        "email": "",
    }
    data.update(overrides)
    return data


def appointment_state(appointment):
    appointment.refresh_from_db()
    return (appointment.status, appointment.start, appointment.cancellation_reason)


def query_count(client, path):
    client.get(path)  # warm what the first request fills (content types, sessions...)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


# --- Who gets in ---------------------------------------------------------------------------------


def every_page(appointment, patient, doctor, clinic):
    """A GET URL for every page of bookings/desk_urls.py (check-in is POST only)."""
    free = local(TOMORROW, 11)
    return [
        url("queue"),
        url("patients"),
        url("patient_new"),
        url("patient", pk=patient.pk),
        url("patient_edit", pk=patient.pk),
        url("book"),
        url("first_available", doctor_id=doctor.pk),
        calendar_url(doctor, clinic),
        url("day", doctor_id=doctor.pk, clinic_id=clinic.pk, day=TOMORROW),
        confirm_url(doctor, clinic, free),
        appointment_url(appointment),
        url("cancel", pk=appointment.pk),
        url("reschedule", pk=appointment.pk),
        url("reschedule_day", pk=appointment.pk, day=TOMORROW),
        url("reschedule_confirm", {"start": slot_token(free)}, pk=appointment.pk),
    ]


def test_the_access_tests_cover_every_desk_url(appointment, walk_in, doctor, clinic):
    opened = {
        resolve(urlsplit(page).path).url_name
        for page in every_page(appointment, walk_in, doctor, clinic)
    }
    # The POST-only ones have access tests of their own (confirm_attendance: test_desk_attendance),
    # and so do the series pages (bookings/tests/test_series_pages.py).
    own_tests = {"check_in", "confirm_attendance", "book_series", "series", "cancel_series"}
    assert opened | own_tests == {pattern.name for pattern in desk_urls.urlpatterns}


def test_anonymous_visitors_are_sent_to_log_in_everywhere(
    client, appointment, walk_in, doctor, clinic
):
    for page in every_page(appointment, walk_in, doctor, clinic):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"].startswith(f"{reverse('accounts:login')}?next="), page
    response = client.post(url("check_in", pk=appointment.pk))
    assert response["Location"].startswith(reverse("accounts:login"))
    assert appointment_state(appointment)[0] == Status.BOOKED


@pytest.mark.parametrize("visitor", REFUSED)
def test_patients_and_doctors_get_404_on_every_desk_page(
    client, request, visitor, appointment, walk_in, doctor, clinic
):
    client.force_login(request.getfixturevalue(visitor))
    for page in every_page(appointment, walk_in, doctor, clinic):
        assert client.get(page).status_code == 404, page


@pytest.mark.parametrize("visitor", DESK)
def test_front_desk_and_clinic_admins_open_every_desk_page(
    client, request, visitor, appointment, walk_in, doctor, clinic
):
    client.force_login(request.getfixturevalue(visitor))
    for page in every_page(appointment, walk_in, doctor, clinic):
        assert client.get(page).status_code == 200, page


@pytest.mark.parametrize("visitor", [None, *REFUSED])
def test_refused_visitors_change_nothing_by_posting(
    client, request, visitor, appointment, walk_in, doctor, clinic
):
    if visitor:
        client.force_login(request.getfixturevalue(visitor))
    before = appointment_state(appointment)
    patients_before = Patient.objects.count()
    posts = [
        (url("check_in", pk=appointment.pk), {"next": url("queue")}),
        (url("cancel", pk=appointment.pk), {"reason": "Patient called"}),
        (
            url("reschedule_confirm", pk=appointment.pk),
            {"start": slot_token(local(TOMORROW, 11))},
        ),
        (url("patient_new"), patient_data()),
        (url("patient_edit", pk=walk_in.pk), patient_data(full_name="Renamed")),
        (
            confirm_url(doctor, clinic, local(TOMORROW, 11)),
            booking_data(local(TOMORROW, 11), walk_in),
        ),
    ]
    for path, data in posts:
        response = client.post(path, data)
        if visitor is None:
            assert response["Location"].startswith(reverse("accounts:login")), path
        else:
            assert response.status_code == 404, path

    assert appointment_state(appointment) == before
    assert Appointment.objects.count() == 1
    assert Patient.objects.count() == patients_before
    walk_in.refresh_from_db()
    assert walk_in.full_name == "Ravi Kumar"


def test_check_in_answers_only_posts(desk_client, appointment):
    assert desk_client.get(url("check_in", pk=appointment.pk)).status_code == 405
    assert appointment_state(appointment)[0] == Status.BOOKED


def test_unknown_appointments_and_patients_answer_404(desk_client):
    for page in [
        url("appointment", pk=999999),
        url("cancel", pk=999999),
        url("reschedule", pk=999999),
        url("patient", pk=999999),
        url("patient_edit", pk=999999),
    ]:
        assert desk_client.get(page).status_code == 404, page
    assert desk_client.post(url("check_in", pk=999999)).status_code == 404


# --- Today's arrivals ----------------------------------------------------------------------------


@pytest.fixture
def arrivals(doctor, clinic):
    """Today's appointments at two clinics and two departments, plus some that must not show."""
    riverside = ClinicFactory(name="Riverside", timezone="Asia/Kolkata")
    dermatologist = works_mon_to_sat(
        DoctorFactory(full_name="Dr Arjun Rao", department=DepartmentFactory(name="Dermatology")),
        riverside,
    )

    def make(name, doctor, clinic, start, status=Status.BOOKED):
        return AppointmentFactory(
            patient=PatientFactory(full_name=name),
            doctor=doctor,
            clinic=clinic,
            start=start,
            status=status,
        )

    return {
        "riverside": riverside,
        "dermatology": dermatologist.department,
        "late": make("Asha Late", doctor, clinic, local(TODAY, 11)),
        "arrived": make(
            "Bina Arrived", dermatologist, riverside, local(TODAY, 10), Status.CHECKED_IN
        ),
        "early": make("Chetan Early", doctor, clinic, local(TODAY, 9)),
        "derm_later": make("Dilip Later", dermatologist, riverside, local(TODAY, 12)),
        "hidden": [
            make("Hidden Cancelled", doctor, clinic, local(TODAY, 12), Status.CANCELLED),
            make("Hidden Completed", dermatologist, riverside, local(TODAY, 9), Status.COMPLETED),
            make("Hidden No-show", doctor, clinic, local(TODAY, 9, 15), Status.NO_SHOW),
            make("Hidden Tomorrow", doctor, clinic, local(TOMORROW, 10)),
            make("Hidden Yesterday", doctor, clinic, local(YESTERDAY, 10)),
        ],
    }


def queued(response):
    """The appointments the queue lists, in page order (each row links to its appointment)."""
    pattern = re.compile(r"^/desk/appointments/(\d+)/$")
    found = (pattern.match(href or "") for href in links(response))
    return [int(match.group(1)) for match in found if match]


def test_queue_lists_todays_booked_and_checked_in_across_doctors_in_time_order(
    desk_client, arrivals
):
    response = desk_client.get(url("queue"))

    assert response.status_code == 200
    assert queued(response) == [
        arrivals["early"].pk,
        arrivals["arrived"].pk,
        arrivals["late"].pk,
        arrivals["derm_later"].pk,
    ]
    text = page_text(response)
    assert "Tuesday 1 December 2026" in text
    assert "Hidden" not in text


def test_only_booked_rows_offer_mark_arrived(desk_client, arrivals):
    response = desk_client.get(url("queue"))
    forms = re.findall(r'action="(/desk/appointments/\d+/check-in/)"', response.content.decode())
    assert sorted(forms) == sorted(
        url("check_in", pk=arrivals[key].pk) for key in ("early", "late", "derm_later")
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"clinic": "riverside"}, ["arrived", "derm_later"]),
        ({"department": "dermatology"}, ["arrived", "derm_later"]),
        ({"department": "cardiology"}, ["early", "late"]),
        ({"clinic": "riverside", "department": "cardiology"}, []),
    ],
)
def test_queue_filters_by_clinic_and_department(desk_client, arrivals, doctor, query, expected):
    ids = {**arrivals, "cardiology": doctor.department}
    response = desk_client.get(url("queue", {key: ids[value].pk for key, value in query.items()}))
    assert queued(response) == [arrivals[key].pk for key in expected]
    if not expected:
        assert "with these filters" in page_text(response)


@pytest.mark.parametrize(
    "query",
    [{"clinic": "999999"}, {"clinic": "abc"}, {"department": "999999"}, {"department": "1; drop"}],
)
def test_a_bogus_filter_is_ignored_rather_than_failing(desk_client, arrivals, query):
    response = desk_client.get(url("queue", query))
    assert response.status_code == 200
    assert len(queued(response)) == 4


def test_a_bogus_filter_does_not_drop_the_valid_one_beside_it(desk_client, arrivals):
    response = desk_client.get(
        url("queue", {"clinic": arrivals["riverside"].pk, "department": "999999"})
    )
    assert response.status_code == 200
    assert queued(response) == [arrivals["arrived"].pk, arrivals["derm_later"].pk]


def test_mark_arrived_checks_in_and_returns_to_the_same_filtered_queue(desk_client, arrivals):
    filtered = url("queue", {"clinic": arrivals["riverside"].pk})
    page = desk_client.get(filtered)
    assert hidden_value(page, "next") == filtered  # the row's form carries the page it is on

    response = desk_client.post(url("check_in", pk=arrivals["derm_later"].pk), {"next": filtered})

    assert response.status_code == 302
    assert response["Location"] == filtered
    assert any("Dilip Later is checked in" in text for text in flashed(response))
    arrivals["derm_later"].refresh_from_db()
    assert arrivals["derm_later"].status == Status.CHECKED_IN
    assert arrivals["derm_later"].checked_in_at == NOW
    after = desk_client.get(filtered)
    assert arrivals["derm_later"].pk in queued(after)  # still in the building, now checked in


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/",
        "///evil.example/",
        "/\\evil.example/",
        "http://testserver/desk/",
        "/accounts/profile/",
        "/desk-not/",
        "",
    ],
)
def test_check_in_never_follows_an_off_site_or_non_desk_next(
    desk_client, todays_appointment, next_url
):
    appointment = todays_appointment
    response = desk_client.post(url("check_in", pk=appointment.pk), {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == appointment_url(appointment)
    assert appointment_state(appointment)[0] == Status.CHECKED_IN


def test_check_in_from_the_appointment_page_returns_there(desk_client, todays_appointment):
    appointment = todays_appointment
    page = desk_client.get(appointment_url(appointment))
    assert url("check_in", pk=appointment.pk) in page.content.decode()
    response = desk_client.post(url("check_in", pk=appointment.pk))
    assert response["Location"] == appointment_url(appointment)
    assert appointment_state(appointment)[0] == Status.CHECKED_IN


def test_a_patient_cannot_be_marked_arrived_on_another_day(desk_client, appointment):
    response = desk_client.post(url("check_in", pk=appointment.pk), {"next": url("queue")})
    assert response["Location"] == url("queue")
    assert any("only on the day of their appointment" in text for text in flashed(response))
    assert appointment_state(appointment)[0] == Status.BOOKED


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.COMPLETED, Status.CHECKED_IN])
def test_only_a_booked_appointment_can_be_checked_in(desk_client, todays_appointment, status):
    appointment = todays_appointment
    appointment.status = status
    appointment.save()
    response = desk_client.post(url("check_in", pk=appointment.pk), {"next": url("queue")})
    assert response["Location"] == url("queue")
    assert any("Only a booked appointment" in text for text in flashed(response))
    assert appointment_state(appointment)[0] == status


def test_queue_costs_the_same_queries_however_many_arrivals(desk_client, doctor, clinic):
    AppointmentFactory(doctor=doctor, clinic=clinic, start=local(TODAY, 11))
    few = query_count(desk_client, url("queue"))
    other_clinic = ClinicFactory(timezone="Europe/London")
    for n in range(12):
        AppointmentFactory(
            doctor=works_mon_to_sat(DoctorFactory(), other_clinic) if n % 3 == 0 else doctor,
            clinic=other_clinic if n % 3 == 0 else clinic,
            start=local(TODAY, 12) + dt.timedelta(minutes=15 * n),
            status=Status.CHECKED_IN if n % 2 else Status.BOOKED,
        )
    assert query_count(desk_client, url("queue")) == few
    assert few <= 8  # session, user, roles, authenticator, two filter lists, zones, rows


# --- The patient directory -----------------------------------------------------------------------


def found(response):
    pattern = re.compile(r"^/desk/patients/(\d+)/$")
    matches = (pattern.match(href or "") for href in links(response))
    return [int(match.group(1)) for match in matches if match]


@pytest.fixture
def directory(walk_in):
    return {
        "ravi": walk_in,
        "ravinder": PatientFactory(
            full_name="Ravinder Singh", phone="+919900011122", email="ravinder@example.com"
        ),
        "asha": PatientFactory(full_name="Asha Raman", phone="", email="asha.raman@example.com"),
    }


SHARMAS = factory.Sequence(lambda n: f"Neha Sharma {n:03d}")


def search(client, query):
    return client.post(url("patients"), {"query": query})


def test_search_form_is_posted_so_names_never_reach_the_url(desk_client, directory):
    page = desk_client.get(url("patients"))
    assert re.search(r'<form method="post"[^>]*role="search"', page.content.decode())
    assert read_page(page).label_targets >= {"id_query"}
    # A name in the query string is not searched for.
    response = desk_client.get(url("patients", {"query": "Ravi"}))
    assert found(response) == []
    assert "Ravi Kumar" not in page_text(response)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ravi", ["ravi", "ravinder"]),
        ("  KUMAR ", ["ravi"]),
        ("98123 45", ["ravi"]),
        ("+91-98123", ["ravi"]),
        ("(981) 234-5678", ["ravi"]),
        ("0001112", ["ravinder"]),
        ("asha.raman@", ["asha"]),
        ("RAVINDER@EXAMPLE", ["ravinder"]),
    ],
)
def test_directory_search_finds_by_name_phone_digits_or_email(
    desk_client, directory, query, expected
):
    response = search(desk_client, query)
    assert response.status_code == 200
    assert sorted(found(response)) == sorted(directory[key].pk for key in expected)


def test_a_search_without_matches_offers_to_add_the_patient(desk_client, directory):
    response = search(desk_client, "Zubin")
    assert found(response) == []
    assert "No patient matches" in page_text(response)
    assert url("patient_new") in links(response)


@pytest.mark.parametrize("query", ["", "a", "  b  "])
def test_a_too_short_query_is_an_error_by_the_field(desk_client, directory, query):
    response = search(desk_client, query)
    assert response.status_code == 200
    assert read_page(response).errors_for("id_query")
    assert found(response) == []


def test_search_results_are_capped_with_a_note(desk_client):
    PatientFactory.create_batch(SEARCH_LIMIT + 1, full_name=SHARMAS)
    response = search(desk_client, "Sharma")
    assert len(found(response)) == SEARCH_LIMIT
    assert "More patients match" in page_text(response)


def test_exactly_the_cap_shows_every_result_without_a_note(desk_client):
    PatientFactory.create_batch(SEARCH_LIMIT, full_name=SHARMAS)
    response = search(desk_client, "Sharma")
    assert len(found(response)) == SEARCH_LIMIT
    assert "More patients match" not in page_text(response)


def test_results_link_to_booking_for_that_patient(desk_client, directory):
    response = search(desk_client, "Asha")
    assert f"{url('book')}?patient={directory['asha'].pk}" in links(response)


# --- Walk-in patients ----------------------------------------------------------------------------


def test_front_desk_adds_a_walk_in_patient(desk_client, desk_user):
    response = desk_client.post(url("patient_new"), patient_data())

    patient = Patient.objects.get(full_name="Lakshmi Iyer")
    assert response.status_code == 302
    assert response["Location"] == url("patient", pk=patient.pk)
    assert any("added to the directory" in text for text in flashed(response))
    assert patient.user is None
    assert patient.created_by == desk_user
    assert patient.phone == "+919845012345"
    assert (patient.date_of_birth, patient.sex) == (dt.date(1975, 8, 9), "female")


def test_a_walk_in_patient_may_give_an_email_instead_of_a_phone(desk_client):
    desk_client.post(url("patient_new"), patient_data(phone="", email="lakshmi@example.com"))
    patient = Patient.objects.get()
    assert (patient.phone, patient.email) == ("", "lakshmi@example.com")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"full_name": ""}, "id_full_name", "This field is required"),
        ({"date_of_birth": "2026-12-02"}, "id_date_of_birth", "cannot be in the future"),
        ({"date_of_birth": "1850-01-01"}, "id_date_of_birth", "check the year"),
        ({"phone": "98450 12345"}, "id_phone", "country code"),
        ({"phone": "+91 98450 1234x"}, "id_phone", "country code"),
        ({"email": "not-an-email"}, "id_email", "valid email"),
        ({"sex": "unknown"}, "id_sex", "Select a valid choice"),
    ],
)
def test_bad_walk_in_details_are_reported_by_the_field_and_nothing_saved(
    desk_client, overrides, field, message
):
    response = desk_client.post(url("patient_new"), patient_data(**overrides))
    assert response.status_code == 200
    assert any(message in error for error in read_page(response).errors_for(field))
    assert not Patient.objects.exists()


def test_a_walk_in_patient_with_neither_phone_nor_email_gets_a_clear_error(desk_client):
    response = desk_client.post(url("patient_new"), patient_data(phone="  ", email=""))
    assert response.status_code == 200
    assert any(
        "Give a phone number or an email address" in error
        for error in read_page(response).general_errors()
    )
    assert not Patient.objects.exists()


def test_patient_page_shows_details_and_appointments_split_by_time(
    desk_client, walk_in, doctor, clinic
):
    AppointmentFactory(patient=walk_in, doctor=doctor, clinic=clinic, start=local(TOMORROW, 10))
    AppointmentFactory(
        patient=walk_in,
        doctor=doctor,
        clinic=clinic,
        start=local(YESTERDAY, 11),
        status=Status.COMPLETED,
    )
    AppointmentFactory(doctor=doctor, clinic=clinic, start=local(TOMORROW, 12))  # someone else's

    response = desk_client.get(url("patient", pk=walk_in.pk))

    text = page_text(response)
    upcoming, past = text.split("Past and cancelled", 1)
    assert "Wed 2 Dec 2026, 10:00" in upcoming
    assert "Mon 30 Nov 2026, 11:00" in past and "Completed" in past
    assert "12:00" not in text
    assert "+919812345678" in text
    assert url("patient_edit", pk=walk_in.pk) in links(response)
    assert f"{url('book')}?patient={walk_in.pk}" in links(response)


def test_patient_page_costs_the_same_queries_however_many_appointments(
    desk_client, walk_in, doctor, clinic
):
    AppointmentFactory(patient=walk_in, doctor=doctor, clinic=clinic, start=local(TOMORROW, 10))
    few = query_count(desk_client, url("patient", pk=walk_in.pk))
    for n in range(8):
        moved_from = AppointmentFactory(
            patient=walk_in,
            doctor=doctor,
            clinic=ClinicFactory(),
            start=local(YESTERDAY - dt.timedelta(days=n), 9),
            status=Status.CANCELLED,
        )
        AppointmentFactory(
            patient=walk_in,
            doctor=DoctorFactory(),
            clinic=ClinicFactory(),
            start=local(TOMORROW + dt.timedelta(days=n + 1), 9),
            rescheduled_from=moved_from,
        )
    assert query_count(desk_client, url("patient", pk=walk_in.pk)) == few
    assert few <= 8  # session, user, roles, authenticator, patient, audit, upcoming, past


def test_front_desk_edits_a_patient_without_a_login(desk_client, walk_in):
    page = desk_client.get(url("patient_edit", pk=walk_in.pk))
    assert 'value="Ravi Kumar"' in page.content.decode()

    response = desk_client.post(
        url("patient_edit", pk=walk_in.pk),
        patient_data(full_name="Ravi K. Kumar", phone="", email="ravi@example.com"),
    )

    assert response["Location"] == url("patient", pk=walk_in.pk)
    walk_in.refresh_from_db()
    assert (walk_in.full_name, walk_in.phone, walk_in.email) == (
        "Ravi K. Kumar",
        "",
        "ravi@example.com",
    )
    assert walk_in.user is None


def test_a_bad_edit_is_reported_and_changes_nothing(desk_client, walk_in):
    response = desk_client.post(
        url("patient_edit", pk=walk_in.pk), patient_data(phone="", email="")
    )
    assert response.status_code == 200
    assert read_page(response).general_errors()
    walk_in.refresh_from_db()
    assert (walk_in.full_name, walk_in.phone) == ("Ravi Kumar", "+919812345678")


def test_a_patient_with_a_login_cannot_be_edited_by_the_desk(desk_client, patient_user):
    patient = patient_user.patient
    before = (patient.full_name, patient.phone, patient.email, patient.date_of_birth)
    edit = url("patient_edit", pk=patient.pk)

    for response in (
        desk_client.get(edit),
        desk_client.post(edit, patient_data(full_name="Someone Else")),
    ):
        assert response.status_code == 302
        assert response["Location"] == url("patient", pk=patient.pk)
        assert any("has a login" in text for text in flashed(response))

    patient.refresh_from_db()
    assert (patient.full_name, patient.phone, patient.email, patient.date_of_birth) == before
    assert url("patient_edit", pk=patient.pk) not in links(
        desk_client.get(url("patient", pk=patient.pk))
    )


# --- Booking for a patient -----------------------------------------------------------------------


def test_choose_doctor_page_lists_bookable_doctors_with_their_clinics(desk_client, doctor, clinic):
    riverside = ClinicFactory(name="Riverside")
    WorkingHoursFactory(doctor=doctor, clinic=riverside, weekday=6)
    works_mon_to_sat(DoctorFactory(full_name="Dr Inactive", is_active=False), clinic)
    works_mon_to_sat(
        DoctorFactory(full_name="Dr Lapsed", registration_expires_on=YESTERDAY), clinic
    )
    DoctorFactory(full_name="Dr No Hours")

    response = desk_client.get(url("book"))

    text = page_text(response)
    assert "Dr Meera Nair" in text and "Cardiology" in text
    for absent in ("Dr Inactive", "Dr Lapsed", "Dr No Hours"):
        assert absent not in text
    hrefs = links(response)
    assert calendar_url(doctor, clinic) in hrefs
    assert calendar_url(doctor, riverside) in hrefs


def test_booking_pages_carry_the_chosen_patient(desk_client, walk_in, doctor, clinic):
    book = desk_client.get(url("book", {"patient": walk_in.pk}))
    assert "For Ravi Kumar (born 17 May 1980)" in visible_text(book)
    assert calendar_url(doctor, clinic, patient=walk_in.pk) in links(book)

    calendar = desk_client.get(calendar_url(doctor, clinic, patient=walk_in.pk))
    day = url(
        "day", {"patient": walk_in.pk}, doctor_id=doctor.pk, clinic_id=clinic.pk, day=TOMORROW
    )
    assert day in links(calendar)
    assert url("book", {"patient": walk_in.pk}) in links(calendar)

    times = desk_client.get(day)
    assert confirm_url(doctor, clinic, local(TOMORROW, 9), patient=walk_in.pk) in links(times)
    assert calendar_url(doctor, clinic, patient=walk_in.pk) in links(times)


def test_a_bogus_patient_parameter_just_means_no_patient_yet(desk_client, doctor, clinic):
    for value in ("999999", "abc", "-1", "1.5"):
        response = desk_client.get(url("book", {"patient": value}))
        assert response.status_code == 200
        assert "you choose or add the patient on the last step" in visible_text(response)
        assert calendar_url(doctor, clinic) in links(response)


def test_a_doctor_no_longer_taking_bookings_sends_the_desk_back_to_the_doctors(
    desk_client, walk_in, doctor, clinic
):
    doctor.registration_expires_on = YESTERDAY
    doctor.save()
    for page in (
        calendar_url(doctor, clinic, patient=walk_in.pk),
        url("day", {"patient": walk_in.pk}, doctor_id=doctor.pk, clinic_id=clinic.pk, day=TOMORROW),
        confirm_url(doctor, clinic, local(TOMORROW, 9), patient=walk_in.pk),
    ):
        response = desk_client.get(page)
        assert response.status_code == 302, page
        assert response["Location"] == url("book", {"patient": walk_in.pk}), page
        assert any("not taking new appointments" in text for text in flashed(response)), page
    desk_client.post(
        confirm_url(doctor, clinic, local(TOMORROW, 9)), booking_data(local(TOMORROW, 9), walk_in)
    )
    assert not Appointment.objects.exists()


def test_confirm_without_a_patient_offers_search_and_adding_one(
    desk_client, directory, doctor, clinic
):
    start = local(TOMORROW, 9, 45)
    page_url = confirm_url(doctor, clinic, start)
    response = desk_client.get(page_url)

    assert response.status_code == 200
    assert "Wednesday 2 December 2026, 09:45–10:00" in page_text(response)
    assert re.search(r'<form method="post"[^>]*role="search"', response.content.decode())
    add = url("patient_new", {"next": page_url})
    assert add in links(response)

    results = desk_client.post(page_url, {"action": "search", "query": "ravi"})
    assert results.status_code == 200
    assert f"{page_url}&patient={directory['ravi'].pk}" in links(results)
    assert f"{page_url}&patient={directory['ravinder'].pk}" in links(results)
    assert not Appointment.objects.exists()


def test_a_patient_added_mid_booking_comes_back_chosen_on_the_confirm_page(
    desk_client, desk_user, doctor, clinic
):
    start = local(TOMORROW, 9, 45)
    page_url = confirm_url(doctor, clinic, start)
    add_url = next(
        href
        for href in links(desk_client.get(page_url))
        if href.startswith(f"{url('patient_new')}?")
    )
    form = desk_client.get(add_url)
    assert "You return to the booking afterwards" in page_text(form)
    next_url = hidden_value(form, "next")
    assert next_url == page_url

    response = desk_client.post(add_url, {**patient_data(), "next": next_url}, follow=True)

    patient = Patient.objects.get(full_name="Lakshmi Iyer")
    back_to_confirm = confirm_url(doctor, clinic, start, patient=patient.pk)
    assert response.redirect_chain == [(back_to_confirm, 302)]
    assert response.status_code == 200
    assert "Book for Lakshmi Iyer" in page_text(response)
    assert hidden_value(response, "patient") == str(patient.pk)

    booked = desk_client.post(page_url, booking_data(start, patient))
    appointment = Appointment.objects.get()
    assert booked["Location"] == appointment_url(appointment)
    assert (appointment.patient, appointment.created_by) == (patient, desk_user)


@pytest.mark.parametrize("visitor", DESK)
def test_desk_books_for_the_chosen_patient_through_the_service(
    client, request, visitor, walk_in, doctor, clinic
):
    staff = request.getfixturevalue(visitor)
    client.force_login(staff)
    start = local(TOMORROW, 9, 45)
    page = client.get(confirm_url(doctor, clinic, start, patient=walk_in.pk))
    assert "Book for Ravi Kumar" in page_text(page)

    response = client.post(
        confirm_url(doctor, clinic, start),
        booking_data(start, walk_in, appointment_type="follow_up"),
    )

    appointment = Appointment.objects.get()
    assert response["Location"] == appointment_url(appointment)
    assert any("Booked for Ravi Kumar" in text for text in flashed(response))
    assert (appointment.patient, appointment.doctor) == (walk_in, doctor)
    assert appointment.clinic == clinic
    assert (appointment.start, appointment.end) == (start, start + dt.timedelta(minutes=15))
    assert appointment.appointment_type == "follow_up"
    assert appointment.reason == "Fever for three days"
    assert appointment.created_by == staff
    assert appointment.status == Status.BOOKED


def test_a_taken_slot_gives_a_message_and_keeps_the_patient(desk_client, walk_in, doctor, clinic):
    start = local(TOMORROW, 10)
    shown = desk_client.get(confirm_url(doctor, clinic, start, patient=walk_in.pk))
    assert shown.status_code == 200
    AppointmentFactory(doctor=doctor, clinic=clinic, start=start)  # someone else was quicker

    response = desk_client.post(confirm_url(doctor, clinic, start), booking_data(start, walk_in))

    assert response.status_code == 302
    assert response["Location"] == calendar_url(doctor, clinic, patient=walk_in.pk)
    assert any("just taken" in text for text in flashed(response))
    assert not Appointment.objects.filter(patient=walk_in).exists()


def test_confirm_page_for_a_taken_time_sends_back_with_the_patient(
    desk_client, walk_in, doctor, clinic
):
    start = local(TOMORROW, 10)
    AppointmentFactory(doctor=doctor, clinic=clinic, start=start)
    response = desk_client.get(confirm_url(doctor, clinic, start, patient=walk_in.pk))
    assert response["Location"] == calendar_url(doctor, clinic, patient=walk_in.pk)
    assert any("no longer available" in text for text in flashed(response))


@pytest.mark.parametrize(
    ("patient", "message"),
    [
        (None, "Choose the patient first"),
        ("", "Choose the patient first"),
        ("999999", "not in the directory"),
        ("abc", "not in the directory"),
    ],
)
def test_booking_without_a_real_patient_is_a_clear_error_and_saves_nothing(
    desk_client, doctor, clinic, patient, message
):
    start = local(TOMORROW, 9)
    response = desk_client.post(confirm_url(doctor, clinic, start), booking_data(start, patient))
    assert response.status_code == 200
    assert any(message in error for error in read_page(response).errors_for("id_patient"))
    assert re.search(r'<form method="post"[^>]*role="search"', response.content.decode())
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("start", ["", "tomorrow at nine", "2026-12-02T09:00", "2026-13-02T09:00Z"])
def test_an_unreadable_start_sends_the_desk_back_to_the_calendar(
    desk_client, walk_in, doctor, clinic, start
):
    base = url("confirm", doctor_id=doctor.pk, clinic_id=clinic.pk)
    for response in (
        desk_client.get(f"{base}?{urlencode({'start': start, 'patient': walk_in.pk})}"),
        desk_client.post(
            f"{base}?{urlencode({'start': start})}", booking_data(local(TOMORROW, 9), walk_in)
        ),
    ):
        assert response.status_code == 302
        assert urlsplit(response["Location"]).path == calendar_url(doctor, clinic)
        assert flashed(response)
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (local(TODAY, 9), "already passed"),
        (local(TODAY, 10), "at least 60 minutes ahead"),
        (local(TOMORROW, 9, 7), "not one of the doctor's appointment times"),
        (local(TOMORROW, 13, 15), "not one of the doctor's appointment times"),
    ],
    ids=["past", "inside-notice", "off-grid", "lunch-break"],
)
def test_a_tampered_start_is_refused_with_a_message_and_nothing_saved(
    desk_client, walk_in, doctor, clinic, start, message
):
    shown = desk_client.get(confirm_url(doctor, clinic, start, patient=walk_in.pk))
    assert shown.status_code == 302
    assert shown["Location"] == calendar_url(doctor, clinic, patient=walk_in.pk)
    assert any("no longer available" in text for text in flashed(shown))

    # The hidden start changed after a good page was shown.
    response = desk_client.post(
        confirm_url(doctor, clinic, local(TOMORROW, 9)), booking_data(start, walk_in)
    )
    assert any(message in error for error in read_page(response).general_errors())
    assert not Appointment.objects.exists()


def test_confirm_for_a_doctor_not_at_that_clinic_answers_404(desk_client, doctor):
    response = desk_client.get(confirm_url(doctor, ClinicFactory(), local(TOMORROW, 9)))
    assert response.status_code == 404


# --- Cancelling and moving on a patient's behalf -------------------------------------------------


def test_cancelling_needs_a_reason(desk_client, appointment):
    before = appointment_state(appointment)
    response = desk_client.post(url("cancel", pk=appointment.pk), {"reason": "   "})
    assert response.status_code == 200
    assert any(
        "Say why the appointment is cancelled" in error
        for error in read_page(response).errors_for("id_reason")
    )
    assert appointment_state(appointment) == before


def test_desk_cancels_inside_the_patients_cut_off(desk_client, desk_user, walk_in, doctor, clinic):
    soon = AppointmentFactory(patient=walk_in, doctor=doctor, clinic=clinic, start=local(TODAY, 12))
    page = desk_client.get(url("cancel", pk=soon.pk))
    assert "Cancel Ravi Kumar's appointment?" in page_text(page)
    assert appointment_state(soon)[0] == Status.BOOKED  # looking changes nothing

    response = desk_client.post(url("cancel", pk=soon.pk), {"reason": "Patient phoned: unwell"})

    assert response["Location"] == appointment_url(soon)
    assert any("cancelled and its time released" in text for text in flashed(response))
    soon.refresh_from_db()
    assert (soon.status, soon.cancelled_by, soon.cancellation_reason, soon.cancelled_at) == (
        Status.CANCELLED,
        desk_user,
        "Patient phoned: unwell",
        NOW,
    )


def test_cancelling_an_already_cancelled_appointment_says_so(desk_client, appointment):
    appointment.status = Status.CANCELLED
    appointment.cancellation_reason = "First reason"
    appointment.save()
    response = desk_client.post(url("cancel", pk=appointment.pk), {"reason": "Second reason"})
    assert response["Location"] == appointment_url(appointment)
    assert any("can no longer be cancelled" in text for text in flashed(response))
    assert appointment_state(appointment)[2] == "First reason"


def test_an_appointment_that_has_started_cannot_be_cancelled(desk_client, walk_in, doctor, clinic):
    started = AppointmentFactory(
        patient=walk_in, doctor=doctor, clinic=clinic, start=local(TODAY, 9, 15)
    )
    response = desk_client.post(url("cancel", pk=started.pk), {"reason": "Too late"})
    assert response["Location"] == appointment_url(started)
    assert any("already started" in text for text in flashed(response))
    assert appointment_state(started)[0] == Status.BOOKED


def reschedule_confirm(appointment):
    return url("reschedule_confirm", pk=appointment.pk)


def test_desk_moves_an_appointment_and_links_the_old_one(desk_client, desk_user, appointment):
    new_start = local(TOMORROW + dt.timedelta(days=1), 15)
    shown = desk_client.get(
        url("reschedule_confirm", {"start": slot_token(new_start)}, pk=appointment.pk)
    )
    assert "Thursday 3 December 2026, 15:00–15:15" in page_text(shown)

    response = desk_client.post(reschedule_confirm(appointment), {"start": slot_token(new_start)})

    moved = Appointment.objects.get(rescheduled_from=appointment)
    assert response["Location"] == appointment_url(moved)
    assert (moved.start, moved.status, moved.created_by, moved.patient) == (
        new_start,
        Status.BOOKED,
        desk_user,
        appointment.patient,
    )
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    assert appointment.cancelled_by == desk_user
    assert appointment.was_rescheduled
    old_page = desk_client.get(appointment_url(appointment))
    assert appointment_url(moved) in links(old_page)


def test_desk_moves_an_appointment_inside_the_patients_cut_off(
    desk_client, walk_in, doctor, clinic
):
    soon = AppointmentFactory(patient=walk_in, doctor=doctor, clinic=clinic, start=local(TODAY, 12))
    desk_client.post(reschedule_confirm(soon), {"start": slot_token(local(TOMORROW, 9))})
    assert Appointment.objects.get(rescheduled_from=soon).start == local(TOMORROW, 9)
    assert appointment_state(soon)[0] == Status.CANCELLED


def test_moving_to_a_taken_time_keeps_the_old_appointment(desk_client, appointment, doctor, clinic):
    taken = local(TOMORROW, 11)
    AppointmentFactory(doctor=doctor, clinic=clinic, start=taken)
    before = appointment_state(appointment)

    response = desk_client.post(reschedule_confirm(appointment), {"start": slot_token(taken)})

    assert response["Location"] == url("reschedule", pk=appointment.pk)
    assert any("just taken" in text for text in flashed(response))
    assert appointment_state(appointment) == before
    assert not Appointment.objects.filter(rescheduled_from=appointment).exists()


def test_the_reschedule_day_page_does_not_offer_the_current_time(desk_client, appointment):
    response = desk_client.get(url("reschedule_day", pk=appointment.pk, day=TOMORROW))
    offered = links(response)

    def move_to(start):
        return url("reschedule_confirm", {"start": slot_token(start)}, pk=appointment.pk)

    assert move_to(local(TOMORROW, 9, 45)) in offered
    assert move_to(local(TOMORROW, 10, 15)) in offered
    assert move_to(local(TOMORROW, 10)) not in offered  # its own time


@pytest.mark.parametrize("status", [Status.BOOKED, Status.CHECKED_IN])
def test_an_appointment_that_has_started_cannot_be_moved(
    desk_client, walk_in, doctor, clinic, status
):
    started = AppointmentFactory(
        patient=walk_in, doctor=doctor, clinic=clinic, start=local(TODAY, 9, 15), status=status
    )
    target = {"start": slot_token(local(TOMORROW, 9))}
    for response in (
        desk_client.get(url("reschedule", pk=started.pk)),
        desk_client.get(url("reschedule_day", pk=started.pk, day=TOMORROW)),
        desk_client.get(url("reschedule_confirm", target, pk=started.pk)),
        desk_client.post(reschedule_confirm(started), target),
    ):
        assert response["Location"] == appointment_url(started)
        assert any("has not started can be moved" in text for text in flashed(response))
    assert appointment_state(started)[0] == status
    assert Appointment.objects.count() == 1
    assert "Move to another time" not in page_text(desk_client.get(appointment_url(started)))


@pytest.mark.parametrize("start", ["", "soon", "2026-12-02T10:07Z", "2025-12-02T10:00Z"])
def test_bad_new_times_are_refused_and_the_appointment_kept(desk_client, appointment, start):
    before = appointment_state(appointment)
    response = desk_client.post(reschedule_confirm(appointment), {"start": start})
    assert response["Location"] == url("reschedule", pk=appointment.pk)
    assert flashed(response)
    assert appointment_state(appointment) == before
    assert Appointment.objects.count() == 1
