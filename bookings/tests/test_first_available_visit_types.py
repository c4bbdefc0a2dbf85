"""First available for a type of visit: the department's doctors page and a doctor's clinic page
(patients), the desk's booking page and a doctor's first times at the desk. The times are the
chosen type's (its length and buffers), each link carries the type to the confirm step, a type
not on offer falls back with a message, and the pages cost the same queries with or without a
type, however many doctors.

Time is frozen at Tuesday 1 December 2026, 09:30 in Bengaluru: with an hour's notice the first
time offered today is 10:30.
"""

import datetime as dt
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import PatientFactory
from accounts.tests.pages import page_text
from bookings.first_available import doctor_pairs, first_available
from bookings.first_available_types import active_types, department_choices, type_of_pair
from bookings.forms import slot_token
from bookings.models import SlotHold
from bookings.selectors import open_slots
from bookings.tests.factories import AppointmentFactory
from bookings.tests.test_first_available_pages import (  # noqa: F401  (fixtures)
    DESK,
    KOLKATA,
    NOT_DESK,
    NOW,
    STAFF,
    TODAY,
    TOMORROW,
    clinic,
    clinics_url,
    default_rules,
    department,
    desk_book_url,
    desk_first_url,
    doctor,
    doctors_url,
    frozen_now,
    local,
    panel_links,
    riverside,
    second_doctor,
    works,
)
from doctors.models import Doctor
from doctors.tests.factories import ClinicFactory, DepartmentFactory, DoctorFactory
from doctors.tests.factories import VisitTypeFactory as TypeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def surgeon(department, clinic):
    """Dr Vikram Shah: 30-minute grid, 10:30-13:00 every day at Lakeview, booked 12:00-12:30
    today."""
    doctor = DoctorFactory(full_name="Dr Vikram Shah", department=department, slot_minutes=30)
    works(doctor, clinic, (10, 30), (13,))
    AppointmentFactory(doctor=doctor, clinic=clinic, start=local(TODAY, 12))
    return doctor


@pytest.fixture
def types(department):
    """The department's 45-minute procedure (5 minutes before, 10 after; the default), a
    20-minute review, and a desk-only 60-minute assessment."""
    return {
        "procedure": TypeFactory(
            name="Procedure",
            department=department,
            minutes=45,
            buffer_before_minutes=5,
            buffer_after_minutes=10,
            position=1,
            fee=Decimal("2000.00"),
        ),
        "review": TypeFactory(name="Review", department=department, minutes=20, position=2),
        "desk_only": TypeFactory(
            name="Assessment",
            department=department,
            minutes=60,
            position=3,
            bookable_online=False,
        ),
    }


def with_query(url, **query):
    query = {key: value for key, value in query.items() if value is not None}
    return f"{url}?{urlencode(query)}" if query else url


def typed_confirm_url(doctor, clinic, start, visit_type):
    path = reverse("bookings:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    return f"{path}?start={slot_token(start)}&type={visit_type.pk}"


def desk_confirm_url(doctor, clinic, start, visit_type=None, patient=None):
    path = reverse("desk:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    return with_query(
        path,
        start=slot_token(start),
        patient=patient.pk if patient else None,
        type=visit_type.pk if visit_type else None,
    )


def hrefs(response):
    return [href for _, href in panel_links(response)]


def types_in(hrefs_):
    return {parse_qs(urlsplit(href).query).get("type", [None])[0] for href in hrefs_}


def flashed(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def hhmm(times):
    return [time.start.astimezone(KOLKATA).strftime("%H:%M") for time in times]


# The search itself -------------------------------------------------------------------------------


def test_a_typed_search_skips_times_whose_stretch_an_appointment_cuts(surgeon, clinic, types):
    procedure = types["procedure"]
    pairs = doctor_pairs(Doctor.objects.select_related("department").get(pk=surgeon.pk), now=NOW)

    plain = first_available(pairs, now=NOW, count=3)
    typed = first_available(pairs, now=NOW, count=3, visit_type=procedure)

    # 30 minutes fit 11:30-12:00 before the 12:00 booking; 45 and 10 after do not, nor does
    # 12:30 with 5 before; 10:30 with 5 before would start before the working hours.
    assert hhmm(plain) == ["10:30", "11:00", "11:30"]
    assert [(time.start.astimezone(KOLKATA).date(), hhmm([time])[0]) for time in typed] == [
        (TODAY, "11:00"),
        (TOMORROW, "11:00"),
        (TOMORROW, "11:30"),  # nothing booked tomorrow: 12:25 is inside the hours
    ]
    assert all(time.end - time.start == dt.timedelta(minutes=45) for time in typed)
    assert all(time.visit_type == procedure for time in typed)
    # What the booking pages offer for the type.
    offered = {
        slot.start
        for slot in open_slots(doctor=surgeon, clinic=clinic, now=NOW, visit_type=procedure)
    }
    assert {time.start for time in typed} <= offered


def test_each_pair_can_be_searched_for_its_own_type_in_the_same_queries(
    department, clinic, surgeon, django_assert_num_queries
):
    other = DoctorFactory(full_name="Dr Asha Rao", department=department, slot_minutes=30)
    works(other, clinic, (10, 30), (13,))
    own = TypeFactory(name="Long visit", department=None, doctor=other, minutes=90)
    types = active_types(departments=[department.pk], online_only=True)
    choices = department_choices(_request(), [department.pk], types)
    pairs = [
        *doctor_pairs(Doctor.objects.select_related("department").get(pk=surgeon.pk), now=NOW),
        *doctor_pairs(Doctor.objects.select_related("department").get(pk=other.pk), now=NOW),
    ]

    # One span of days: holidays, time off, bookings and holds.
    with django_assert_num_queries(3):
        times = first_available(pairs, now=NOW, count=4, visit_type_of=type_of_pair(types, choices))

    by_doctor = {time.doctor.pk: time for time in times}
    assert by_doctor[other.pk].visit_type == own
    assert by_doctor[other.pk].end - by_doctor[other.pk].start == dt.timedelta(minutes=90)
    assert by_doctor[surgeon.pk].visit_type is None  # no types: the plain slot


def _request():
    request = RequestFactory().get("/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


# The department's doctors page -------------------------------------------------------------------


@pytest.mark.parametrize("visitor", [None, "patient_user", *STAFF])
def test_department_page_offers_its_online_types_and_shows_the_firsts_times(
    client, request, visitor, surgeon, clinic, department, types
):
    if visitor:
        client.force_login(request.getfixturevalue(visitor))

    response = client.get(doctors_url(department))

    assert response.status_code == 200
    assert response.context["visit_types"] == [types["procedure"], types["review"]]
    assert response.context["visit_type"] == types["procedure"]
    text = page_text(response)
    assert "Type of visit" in text and "Assessment" not in text
    assert "Times shown for a procedure of 45 minutes." in text
    links = panel_links(response)
    assert links[0] == (
        "Tue 1 Dec at 11:00 with Dr Vikram Shah",
        typed_confirm_url(surgeon, clinic, local(TODAY, 11), types["procedure"]),
    )
    assert typed_confirm_url(surgeon, clinic, local(TODAY, 11, 30), types["procedure"]) not in {
        href for _, href in links
    }
    assert types_in(hrefs(response)) == {str(types["procedure"].pk)}
    assert "Procedure, 45 min" in text
    # The doctors' own pages keep the choice.
    assert f"{clinics_url(surgeon)}?type={types['procedure'].pk}" in response.content.decode()


def test_department_page_shows_the_chosen_types_times(client, surgeon, clinic, department, types):
    response = client.get(doctors_url(department), {"type": types["review"].pk})

    assert response.context["visit_type"] == types["review"]
    assert hrefs(response)[:3] == [
        typed_confirm_url(surgeon, clinic, local(TODAY, start, minute), types["review"])
        for start, minute in ((10, 30), (11, 0), (11, 30))
    ]
    assert not flashed(response)


@pytest.mark.parametrize("bad", ["desk_only", "other_department", "inactive", "garbage", "²"])
def test_department_page_falls_back_to_the_first_type_with_a_message(
    client, patient_user, surgeon, department, types, bad
):
    asked = {
        "desk_only": lambda: types["desk_only"].pk,
        "other_department": lambda: TypeFactory(department=DepartmentFactory()).pk,
        "inactive": lambda: TypeFactory(department=department, is_active=False).pk,
        "garbage": lambda: "12abc",
        "²": lambda: "²",
    }[bad]()
    client.force_login(patient_user)

    response = client.get(doctors_url(department), {"type": asked})

    assert response.status_code == 200
    assert response.context["visit_type"] == types["procedure"]
    assert any("cannot be chosen here" in message for message in flashed(response))
    assert types_in(hrefs(response)) == {str(types["procedure"].pk)}


def test_a_department_whose_types_are_desk_only_shows_patients_no_choice(
    client, surgeon, clinic, department
):
    TypeFactory(department=department, minutes=60, bookable_online=False)

    response = client.get(doctors_url(department))

    assert 'id="visit-type-choice"' not in response.content.decode()
    assert types_in(hrefs(response)) == {None}
    assert hrefs(response)[2] == (
        reverse("bookings:confirm", kwargs={"doctor_id": surgeon.pk, "clinic_id": clinic.pk})
        + f"?start={slot_token(local(TODAY, 11, 30))}"
    )


def test_without_department_types_a_doctors_own_type_is_their_times_type(
    client, doctor, second_doctor, clinic, department
):
    own = TypeFactory(name="Long visit", department=None, doctor=doctor, minutes=60)
    works(doctor, clinic, (15,), (17,))

    response = client.get(doctors_url(department))

    assert 'id="visit-type-choice"' not in response.content.decode()
    times = {href: text for text, href in panel_links(response)}
    # Dr Meera Nair's hour from 11:00 holds one 60-minute visit; Dr Arjun Rao's plain slots.
    assert typed_confirm_url(doctor, clinic, local(TODAY, 11), own) in times
    assert typed_confirm_url(doctor, clinic, local(TODAY, 11, 30), own) not in times
    assert types_in(times) == {None, str(own.pk)}


def test_a_patient_following_a_typed_time_holds_the_whole_visit_and_sees_its_type(
    client, patient_user, surgeon, clinic, department, types
):
    client.force_login(patient_user)
    _, href = panel_links(client.get(doctors_url(department)))[0]

    response = client.get(href)

    assert response.status_code == 200
    text = page_text(response)
    assert "Procedure, 45 minutes" in text and "11:00–11:45" in text
    hold = SlotHold.objects.get()
    assert (hold.start, hold.end) == (local(TODAY, 11), local(TODAY, 11, 45))


def test_anonymous_visitor_following_a_typed_time_logs_in_and_comes_back_to_it(
    client, surgeon, department, types
):
    _, href = panel_links(client.get(doctors_url(department)))[0]

    response = client.get(href)

    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query)["next"] == [href]


@pytest.mark.parametrize("staff", STAFF)
def test_logins_without_a_patient_record_cannot_book_a_typed_first_time(
    client, request, staff, surgeon, department, types
):
    client.force_login(request.getfixturevalue(staff))
    _, href = panel_links(client.get(doctors_url(department)))[0]

    assert client.get(href).status_code == 403
    assert not SlotHold.objects.exists()


@pytest.mark.parametrize("typed", [False, True])
def test_department_page_costs_the_same_queries_with_a_type_however_many_doctors(
    client, patient_user, clinic, department, typed
):
    client.force_login(patient_user)
    if typed:
        TypeFactory(department=department, minutes=30)

    def queries_with(doctors):
        for number in range(doctors):
            doctor = DoctorFactory(department=department, slot_minutes=30, full_name=f"Dr {number}")
            works(doctor, clinic, (10, 30), (13,))  # five times today: one span of days
            TypeFactory(department=None, doctor=doctor, minutes=45, position=9)
        client.get(doctors_url(department))
        with CaptureQueriesContext(connection) as captured:
            response = client.get(doctors_url(department))
        assert len(panel_links(response)) == 5
        assert None not in types_in(hrefs(response))  # each doctor's own type, or the chosen
        return len(captured)

    assert queries_with(1) == queries_with(9)


def test_department_page_costs_no_more_queries_with_a_type_than_without(client, clinic, department):
    for _ in range(3):
        works(DoctorFactory(department=department, slot_minutes=30), clinic, (10, 30), (13,))

    def queries():
        client.get(doctors_url(department))
        with CaptureQueriesContext(connection) as captured:
            client.get(doctors_url(department))
        return len(captured)

    plain = queries()
    TypeFactory(department=department, minutes=30)
    assert queries() == plain


# A doctor's clinic page --------------------------------------------------------------------------


@pytest.fixture
def at_two_clinics(surgeon, riverside):
    works(surgeon, riverside, (9,), (12,))
    return surgeon


@pytest.mark.parametrize("visitor", [None, "patient_user", *STAFF])
def test_clinic_page_offers_the_doctors_online_types(
    client, request, visitor, at_two_clinics, clinic, types
):
    own = TypeFactory(
        name="Own visit", department=None, doctor=at_two_clinics, minutes=90, position=9
    )
    if visitor:
        client.force_login(request.getfixturevalue(visitor))

    response = client.get(clinics_url(at_two_clinics), {"type": own.pk})

    assert response.status_code == 200
    assert response.context["visit_types"] == [types["procedure"], types["review"], own]
    assert response.context["visit_type"] == own
    times = hrefs(response)
    assert times and types_in(times) == {str(own.pk)}
    calendar = reverse(
        "bookings:calendar", kwargs={"doctor_id": at_two_clinics.pk, "clinic_id": clinic.pk}
    )
    assert f"{calendar}?type={own.pk}" in response.content.decode()


def test_clinic_page_falls_back_from_a_type_not_offered_with_a_message(
    client, at_two_clinics, types
):
    response = client.get(clinics_url(at_two_clinics), {"type": types["desk_only"].pk})

    assert response.status_code == 200
    assert response.context["visit_type"] == types["procedure"]
    assert any("cannot be booked here" in message for message in flashed(response))
    assert types_in(hrefs(response)) == {str(types["procedure"].pk)}


def test_a_one_clinic_doctor_goes_to_the_calendar_with_the_type(client, surgeon, clinic, types):
    response = client.get(clinics_url(surgeon), {"type": types["review"].pk})

    calendar = reverse(
        "bookings:calendar", kwargs={"doctor_id": surgeon.pk, "clinic_id": clinic.pk}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{calendar}?type={types['review'].pk}"
    assert client.get(clinics_url(surgeon), {"type": "x<y"})["Location"] == calendar


def test_clinic_page_costs_the_same_queries_with_a_type_however_many_clinics(
    client, surgeon, types
):
    def queries():
        client.get(clinics_url(surgeon), {"type": types["review"].pk})
        with CaptureQueriesContext(connection) as captured:
            response = client.get(clinics_url(surgeon), {"type": types["review"].pk})
        assert types_in(hrefs(response)) == {str(types["review"].pk)}
        return len(captured)

    works(surgeon, ClinicFactory(timezone="Europe/London"), (9,), (10,))
    two = queries()
    for hour, zone in ((13, "Asia/Dubai"), (14, "America/New_York"), (15, "Asia/Tokyo")):
        works(surgeon, ClinicFactory(timezone=zone), (hour,), (hour + 1,))
    assert queries() == two


# The front desk ----------------------------------------------------------------------------------


@pytest.fixture
def neurologist(clinic):
    neurology = DepartmentFactory(name="Neurology")
    doctor = DoctorFactory(full_name="Dr Kavya Iyer", department=neurology, slot_minutes=30)
    return works(doctor, clinic, (15,), (16,))


@pytest.mark.parametrize("staff", DESK)
def test_desk_booking_page_offers_each_departments_types_desk_only_too(
    client, request, staff, surgeon, neurologist, clinic, types
):
    client.force_login(request.getfixturevalue(staff))
    patient = PatientFactory()

    response = client.get(desk_book_url(), {"patient": patient.pk, "type": types["desk_only"].pk})

    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="visit-type-choice-1"' in content and 'id="visit-type-choice-2"' not in content
    assert "Assessment, 60 min (desk only)" in page_text(response)
    assert f'<input type="hidden" name="patient" value="{patient.pk}">' in content
    links = hrefs(response)
    # Cardiology's times are for the assessment asked for (60 minutes, no buffers: 10:30 fits
    # before the 12:00 booking); Neurology has no types: plain slots.
    assert desk_confirm_url(surgeon, clinic, local(TODAY, 10, 30), types["desk_only"], patient) in (
        links
    )
    assert desk_confirm_url(neurologist, clinic, local(TODAY, 15), None, patient) in links
    assert types_in(links) == {str(types["desk_only"].pk), None}


def test_desk_booking_page_defaults_each_department_to_its_first_type(
    client, front_desk_user, surgeon, clinic, types
):
    client.force_login(front_desk_user)

    response = client.get(desk_book_url())

    assert desk_confirm_url(surgeon, clinic, local(TODAY, 11), types["procedure"]) in hrefs(
        response
    )
    assert types_in(hrefs(response)) == {str(types["procedure"].pk)}


@pytest.mark.parametrize("bad", ["inactive", "doctors_own", "garbage"])
def test_desk_booking_page_falls_back_from_a_type_it_cannot_choose(
    client, front_desk_user, surgeon, types, bad
):
    asked = {
        "inactive": lambda: TypeFactory(department=surgeon.department, is_active=False).pk,
        "doctors_own": lambda: TypeFactory(department=None, doctor=surgeon).pk,
        "garbage": lambda: "1 OR 1=1",
    }[bad]()
    client.force_login(front_desk_user)

    response = client.get(desk_book_url(), {"type": asked})

    assert response.status_code == 200
    assert any("cannot be chosen here" in message for message in flashed(response))
    assert types_in(hrefs(response)) == {str(types["procedure"].pk)}


@pytest.mark.parametrize("staff", DESK)
def test_desk_first_available_offers_the_doctors_types_and_links_them(
    client, request, staff, at_two_clinics, clinic, types
):
    client.force_login(request.getfixturevalue(staff))
    patient = PatientFactory()

    response = client.get(
        desk_first_url(at_two_clinics), {"patient": patient.pk, "type": types["desk_only"].pk}
    )

    assert response.status_code == 200
    assert response.context["visit_types"] == [
        types["procedure"],
        types["review"],
        types["desk_only"],
    ]
    assert response.context["visit_type"] == types["desk_only"]
    links = hrefs(response)
    assert links and types_in(links) == {str(types["desk_only"].pk)}
    assert all(parse_qs(urlsplit(href).query)["patient"] == [str(patient.pk)] for href in links)
    # Following one opens the desk's confirm step for that type.
    client.get(links[0])
    hold = SlotHold.objects.get()
    assert (hold.patient, hold.end - hold.start) == (patient, dt.timedelta(minutes=60))


def test_desk_first_available_falls_back_from_another_doctors_type(
    client, front_desk_user, at_two_clinics, types
):
    client.force_login(front_desk_user)
    others = TypeFactory(department=None, doctor=DoctorFactory())

    response = client.get(desk_first_url(at_two_clinics), {"type": others.pk})

    assert response.status_code == 200
    assert response.context["visit_type"] == types["procedure"]
    assert any("cannot be booked here" in message for message in flashed(response))


@pytest.mark.parametrize("visitor", NOT_DESK)
def test_desk_pages_with_a_type_are_not_for_patients_or_doctors(
    client, request, visitor, surgeon, types
):
    client.force_login(request.getfixturevalue(visitor))
    query = {"type": types["procedure"].pk}

    assert client.get(desk_book_url(), query).status_code == 404
    assert client.get(desk_first_url(surgeon), query).status_code == 404


def test_anonymous_visitor_is_sent_to_log_in_from_the_desk_pages_with_a_type(
    client, surgeon, types
):
    for url in (desk_book_url(), desk_first_url(surgeon)):
        response = client.get(url, {"type": types["procedure"].pk})
        assert response.status_code == 302
        assert urlsplit(response["Location"]).path == reverse("accounts:login")


@pytest.mark.parametrize("typed", [False, True])
def test_desk_booking_page_costs_the_same_queries_however_many_departments_with_types(
    client, front_desk_user, clinic, typed
):
    client.force_login(front_desk_user)

    def queries_with(departments):
        for _ in range(departments):
            department = DepartmentFactory()
            if typed:
                TypeFactory(department=department, minutes=45)
            for number in range(3):
                doctor = DoctorFactory(department=department, slot_minutes=30)
                works(doctor, clinic, (11 + number,), (13 + number,))
        client.get(desk_book_url())
        with CaptureQueriesContext(connection) as captured:
            response = client.get(desk_book_url())
        assert (None not in types_in(hrefs(response))) is typed
        return len(captured)

    assert queries_with(1) == queries_with(5)
