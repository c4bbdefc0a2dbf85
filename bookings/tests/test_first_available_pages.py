"""First available on the booking pages: the department's doctors page and a doctor's clinic
page (patients), the desk's booking page and a doctor's first times at the desk, as each kind of
visitor meets them, with what each costs in queries.

Time is frozen at Tuesday 1 December 2026, 09:30 in Bengaluru (04:00 UTC): with an hour's notice
the first time offered today is 10:30, and the booking window runs to 31 December.
"""

import datetime as dt
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse

from accounts.tests.factories import PatientFactory
from accounts.tests.pages import page_text, read_page
from bookings.forms import parse_slot_token, slot_token
from bookings.models import SlotHold
from bookings.tests.factories import SlotHoldFactory
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
TODAY = NOW.date()
TOMORROW = TODAY + dt.timedelta(days=1)

STAFF = ["doctor_user", "front_desk_user", "clinic_admin_user"]  # logins with no patient record
DESK = ["front_desk_user", "clinic_admin_user"]
NOT_DESK = ["patient_user", "doctor_user"]


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def default_rules(settings):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4


def local(day, hour, minute=0, zone=KOLKATA):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def works(doctor, clinic, starts_at, ends_at, weekdays=range(7)):
    for weekday in weekdays:
        WorkingHoursFactory(
            doctor=doctor,
            clinic=clinic,
            weekday=weekday,
            starts_at=dt.time(*starts_at),
            ends_at=dt.time(*ends_at),
        )
    return doctor


@pytest.fixture
def clinic():
    return ClinicFactory(name="Lakeview", timezone="Asia/Kolkata")


@pytest.fixture
def riverside():
    return ClinicFactory(name="Riverside", timezone="Europe/London")


@pytest.fixture
def department():
    return DepartmentFactory(name="Cardiology")


@pytest.fixture
def doctor(department, clinic):
    """Dr Meera Nair: 30-minute slots, 11:00-12:00 every day at Lakeview."""
    doctor = DoctorFactory(full_name="Dr Meera Nair", department=department, slot_minutes=30)
    return works(doctor, clinic, (11,), (12,))


@pytest.fixture
def second_doctor(department, clinic):
    """Dr Arjun Rao: 30-minute slots, 10:30-11:30 every day at Lakeview."""
    doctor = DoctorFactory(full_name="Dr Arjun Rao", department=department, slot_minutes=30)
    return works(doctor, clinic, (10, 30), (11, 30))


def doctors_url(department):
    return reverse("bookings:doctors", kwargs={"department_id": department.pk})


def clinics_url(doctor):
    return reverse("bookings:clinics", kwargs={"doctor_id": doctor.pk})


def confirm_url(doctor, clinic, start):
    path = reverse("bookings:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    return f"{path}?start={slot_token(start)}"


class _PanelReader(HTMLParser):
    """Collects (href, visible text) of the links inside first-available sections."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []
        self._depth = 0  # >0 inside a first-available section
        self._link = None  # [href, text parts] of the link being read

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and (self._depth or "first-available" in attrs.get("class", "")):
            self._depth += 1
        if tag == "a" and self._depth:
            self._link = [attrs["href"], []]

    def handle_endtag(self, tag):
        if tag == "section" and self._depth:
            self._depth -= 1
        if tag == "a" and self._link is not None:
            href, parts = self._link
            self.links.append((href, " ".join("".join(parts).split())))
            self._link = None

    def handle_data(self, data):
        if self._link is not None:
            self._link[1].append(data)


def panel_links(response):
    """The first-available panels' links as (link text, href), in page order."""
    reader = _PanelReader()
    reader.feed(response.content.decode())
    return [(text, href) for href, text in reader.links]


def panel_links_by_href(response):
    return {href: text for text, href in panel_links(response)}


# The department's doctors page -------------------------------------------------------------------


@pytest.mark.parametrize("visitor", [None, "patient_user", *STAFF])
def test_department_page_shows_the_first_times_across_its_doctors_to_anyone(
    client, request, visitor, doctor, second_doctor, clinic, department
):
    if visitor:
        client.force_login(request.getfixturevalue(visitor))

    response = client.get(doctors_url(department))

    assert response.status_code == 200
    arjun, meera, tomorrow_10_30 = second_doctor, doctor, local(TOMORROW, 10, 30)
    assert panel_links(response) == [
        ("Tue 1 Dec at 10:30 with Dr Arjun Rao", confirm_url(arjun, clinic, local(TODAY, 10, 30))),
        ("Tue 1 Dec at 11:00 with Dr Arjun Rao", confirm_url(arjun, clinic, local(TODAY, 11))),
        ("Tue 1 Dec at 11:00 with Dr Meera Nair", confirm_url(meera, clinic, local(TODAY, 11))),
        ("Tue 1 Dec at 11:30 with Dr Meera Nair", confirm_url(meera, clinic, local(TODAY, 11, 30))),
        ("Wed 2 Dec at 10:30 with Dr Arjun Rao", confirm_url(arjun, clinic, tomorrow_10_30)),
    ]  # fmt: skip
    page = read_page(response)
    assert "first-available" in page.ids
    text = page_text(response)
    assert "First available in Cardiology" in text
    assert "at Lakeview (Asia/Kolkata time)" in text


def test_times_are_shown_in_each_clinics_own_zone(client, department, riverside):
    doctor = DoctorFactory(full_name="Dr Hannah Lee", department=department, slot_minutes=30)
    works(doctor, riverside, (9,), (10,))  # 09:00 in London, 14:30 in Bengaluru

    response = client.get(doctors_url(department))

    texts = [text for text, _ in panel_links(response)]
    assert texts[:2] == [
        "Tue 1 Dec at 09:00 with Dr Hannah Lee",
        "Tue 1 Dec at 09:30 with Dr Hannah Lee",
    ]
    assert "at Riverside (Europe/London time)" in page_text(response)


def test_anonymous_visitor_following_a_first_time_is_asked_to_log_in_and_comes_back(
    client, doctor, clinic, department
):
    _, href = panel_links(client.get(doctors_url(department)))[0]

    response = client.get(href)

    assert response.status_code == 302
    login = urlsplit(response["Location"])
    assert login.path == reverse("accounts:login")
    assert parse_qs(login.query)["next"] == [href]


def test_a_patient_following_a_first_time_reaches_the_confirm_step_holding_it(
    client, patient_user, doctor, clinic, department
):
    client.force_login(patient_user)
    _, href = panel_links(client.get(doctors_url(department)))[0]

    response = client.get(href)

    assert response.status_code == 200
    assert resolve(urlsplit(href).path).url_name == "confirm"
    start = parse_slot_token(parse_qs(urlsplit(href).query)["start"][0])
    assert start == local(TODAY, 11)
    hold = SlotHold.objects.get()
    assert (hold.patient, hold.doctor, hold.start) == (patient_user.patient, doctor, start)


@pytest.mark.parametrize("staff", STAFF)
def test_logins_without_a_patient_record_cannot_book_a_first_time(
    client, request, staff, doctor, clinic, department
):
    client.force_login(request.getfixturevalue(staff))
    _, href = panel_links(client.get(doctors_url(department)))[0]

    assert client.get(href).status_code == 403
    assert not SlotHold.objects.exists()


def test_another_patients_held_time_is_not_offered_but_ones_own_is(
    client, patient_user, doctor, clinic, department
):
    SlotHoldFactory(doctor=doctor, clinic=clinic, start=local(TODAY, 11))
    SlotHoldFactory(
        doctor=doctor, clinic=clinic, start=local(TODAY, 11, 30), patient=patient_user.patient
    )

    anonymous = [text for text, _ in panel_links(client.get(doctors_url(department)))]
    client.force_login(patient_user)
    holder = [text for text, _ in panel_links(client.get(doctors_url(department)))]

    assert anonymous[0] == "Wed 2 Dec at 11:00 with Dr Meera Nair"
    assert holder[0] == "Tue 1 Dec at 11:30 with Dr Meera Nair"


def test_nothing_free_in_the_window_says_so(client, doctor, clinic, department):
    TimeOffFactory(
        doctor=doctor, starts_at=local(TODAY, 0), ends_at=local(TODAY + dt.timedelta(days=40), 0)
    )

    response = client.get(doctors_url(department))

    assert panel_links(response) == []
    assert "No free times in the next 30 days." in page_text(response)
    assert "Dr Meera Nair" in page_text(response)  # still listed, to pick another way


def test_a_department_without_bookable_doctors_shows_no_panel(client, department):
    response = client.get(doctors_url(department))

    assert response.status_code == 200
    assert "First available" not in page_text(response)


def test_unknown_department_answers_404(client):
    assert (
        client.get(reverse("bookings:doctors", kwargs={"department_id": 999999})).status_code == 404
    )


def test_department_page_costs_the_same_queries_however_many_doctors(
    client, patient_user, clinic, department
):
    client.force_login(patient_user)

    def queries_with(doctors):
        for number in range(doctors):
            doctor = DoctorFactory(department=department, slot_minutes=30, full_name=f"Dr {number}")
            works(doctor, clinic, (10, 30), (13,))  # five times today: one span of days
        client.get(doctors_url(department))  # warm what the first request fills
        with CaptureQueriesContext(connection) as captured:
            response = client.get(doctors_url(department))
        assert len(panel_links(response)) == 5
        return len(captured)

    assert queries_with(1) == queries_with(9)


# A doctor's clinic page --------------------------------------------------------------------------


@pytest.mark.parametrize("visitor", [None, "patient_user", *STAFF])
def test_clinic_page_shows_the_doctors_first_times_across_their_clinics(
    client, request, visitor, doctor, clinic, riverside
):
    if visitor:
        client.force_login(request.getfixturevalue(visitor))
    works(doctor, riverside, (9,), (10,))  # 14:30 in Bengaluru
    TimeOffFactory(doctor=doctor, starts_at=local(TODAY, 0), ends_at=local(TODAY, 14))

    response = client.get(clinics_url(doctor))

    assert response.status_code == 200
    london_9, london_9_30 = local(TODAY, 9, zone=LONDON), local(TODAY, 9, 30, zone=LONDON)
    assert panel_links(response)[:3] == [
        ("Tue 1 Dec at 09:00 with Dr Meera Nair", confirm_url(doctor, riverside, london_9)),
        ("Tue 1 Dec at 09:30 with Dr Meera Nair", confirm_url(doctor, riverside, london_9_30)),
        ("Wed 2 Dec at 11:00 with Dr Meera Nair", confirm_url(doctor, clinic, local(TOMORROW, 11))),
    ]
    assert "First available with Dr Meera Nair" in page_text(response)


def test_clinic_page_of_a_doctor_taking_no_bookings_shows_no_panel(
    client, doctor, clinic, riverside
):
    works(doctor, riverside, (9,), (10,))
    doctor.registration_expires_on = TODAY - dt.timedelta(days=1)
    doctor.save()

    response = client.get(clinics_url(doctor))

    assert "is not taking new appointments" in page_text(response)
    assert "First available" not in page_text(response)


def test_clinic_page_costs_the_same_queries_however_many_clinics(client, doctor, clinic):
    def queries():
        client.get(clinics_url(doctor))
        with CaptureQueriesContext(connection) as captured:
            response = client.get(clinics_url(doctor))
        assert response.status_code == 200
        return len(captured)

    works(doctor, ClinicFactory(timezone="Europe/London"), (9,), (10,))
    two = queries()
    for hour, zone in ((13, "Asia/Dubai"), (14, "America/New_York"), (15, "Asia/Tokyo")):
        works(doctor, ClinicFactory(timezone=zone), (hour,), (hour + 1,))
    assert queries() == two


# The front desk ----------------------------------------------------------------------------------


def desk_book_url(patient=None):
    url = reverse("desk:book")
    return f"{url}?patient={patient.pk}" if patient else url


def desk_first_url(doctor, patient=None):
    url = reverse("desk:first_available", kwargs={"doctor_id": doctor.pk})
    return f"{url}?patient={patient.pk}" if patient else url


def desk_confirm_url(doctor, clinic, start, patient=None):
    path = reverse("desk:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    query = {"start": slot_token(start), **({"patient": patient.pk} if patient else {})}
    return f"{path}?{urlencode(query)}"


@pytest.mark.parametrize("staff", DESK)
def test_desk_booking_page_shows_each_departments_first_times(
    client, request, staff, doctor, second_doctor, clinic
):
    neurology = DepartmentFactory(name="Neurology")
    neurologist = DoctorFactory(full_name="Dr Kavya Iyer", department=neurology, slot_minutes=30)
    works(neurologist, clinic, (15,), (16,), weekdays=[4])  # Fridays only
    client.force_login(request.getfixturevalue(staff))
    patient = PatientFactory()

    response = client.get(desk_book_url(patient))

    assert response.status_code == 200
    links = panel_links_by_href(response)
    assert links[desk_confirm_url(second_doctor, clinic, local(TODAY, 10, 30), patient)] == (
        "Tue 1 Dec at 10:30 with Dr Arjun Rao"
    )
    friday = dt.date(2026, 12, 4)
    assert links[desk_confirm_url(neurologist, clinic, local(friday, 15), patient)] == (
        "Fri 4 Dec at 15:00 with Dr Kavya Iyer"
    )
    assert len(links) == 10  # five for each department
    text = page_text(response)
    assert "First available in Cardiology" in text
    assert "First available in Neurology" in text
    ids = read_page(response).ids
    assert "first-available-1" in ids and "first-available-2" in ids


def test_desk_first_time_opens_the_desk_confirm_step_holding_it_for_the_patient(
    client, front_desk_user, doctor, clinic
):
    client.force_login(front_desk_user)
    patient = PatientFactory()
    href = desk_confirm_url(doctor, clinic, local(TODAY, 11), patient)
    assert href in panel_links_by_href(client.get(desk_book_url(patient)))

    response = client.get(href)

    assert response.status_code == 200
    assert SlotHold.objects.get().patient == patient


@pytest.mark.parametrize("visitor", NOT_DESK)
def test_desk_first_available_pages_are_not_for_patients_or_doctors(
    client, request, visitor, doctor
):
    client.force_login(request.getfixturevalue(visitor))

    assert client.get(desk_book_url()).status_code == 404
    assert client.get(desk_first_url(doctor)).status_code == 404


def test_anonymous_visitor_is_sent_to_log_in_from_the_desks_first_available_page(client, doctor):
    url = desk_first_url(doctor)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next={url}"


@pytest.mark.parametrize("staff", DESK)
def test_desk_sees_one_doctors_first_times_across_their_clinics(
    client, request, staff, doctor, clinic, riverside
):
    works(doctor, riverside, (9,), (10,))
    client.force_login(request.getfixturevalue(staff))
    patient = PatientFactory(full_name="Ravi Kumar")

    response = client.get(desk_first_url(doctor, patient))

    assert response.status_code == 200
    links = list(panel_links_by_href(response).items())
    assert links[0] == (
        desk_confirm_url(doctor, clinic, local(TODAY, 11), patient),
        "Tue 1 Dec at 11:00 with Dr Meera Nair",
    )
    assert links[2] == (
        desk_confirm_url(doctor, riverside, local(TODAY, 9, zone=LONDON), patient),
        "Tue 1 Dec at 09:00 with Dr Meera Nair",
    )
    text = page_text(response)
    assert "First available with Dr Meera Nair" in text
    assert "Ravi Kumar" in text
    # The booking page links here, with the patient carried along.
    assert desk_first_url(doctor, patient) in {
        href for href, _ in read_page(client.get(desk_book_url(patient))).links
    }


@pytest.mark.parametrize("patient_param", ["", "abc", "²", "999999"])
def test_desk_first_available_without_a_usable_patient_links_times_without_one(
    client, front_desk_user, doctor, clinic, patient_param
):
    client.force_login(front_desk_user)
    url = reverse("desk:first_available", kwargs={"doctor_id": doctor.pk})

    response = client.get(url, {"patient": patient_param})

    assert response.status_code == 200
    assert desk_confirm_url(doctor, clinic, local(TODAY, 11)) in panel_links_by_href(response)


def test_desk_first_available_of_an_unknown_or_inactive_doctor_answers_404(
    client, front_desk_user, doctor
):
    client.force_login(front_desk_user)
    inactive = DoctorFactory(is_active=False)

    assert client.get(desk_first_url(inactive)).status_code == 404
    missing = reverse("desk:first_available", kwargs={"doctor_id": 999999})
    assert client.get(missing).status_code == 404


def test_desk_first_available_when_nothing_is_free_says_so(client, front_desk_user, doctor):
    TimeOffFactory(
        doctor=doctor, starts_at=local(TODAY, 0), ends_at=local(TODAY + dt.timedelta(days=40), 0)
    )
    client.force_login(front_desk_user)

    response = client.get(desk_first_url(doctor))

    assert "No free times in the next 30 days." in page_text(response)
    assert panel_links_by_href(response) == {}


def test_desk_booking_page_costs_the_same_queries_however_many_doctors_and_departments(
    client, front_desk_user, clinic
):
    client.force_login(front_desk_user)

    def queries_with(departments):
        for _ in range(departments):
            department = DepartmentFactory()
            for number in range(3):
                doctor = DoctorFactory(department=department, slot_minutes=30)
                works(doctor, clinic, (11 + number,), (12 + number,))
        client.get(desk_book_url())
        with CaptureQueriesContext(connection) as captured:
            response = client.get(desk_book_url())
        assert response.status_code == 200
        return len(captured)

    assert queries_with(1) == queries_with(5)
