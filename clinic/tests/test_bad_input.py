"""Input that once reached a 500: each must be refused with a 4xx, on SQLite and PostgreSQL.

PostgreSQL refuses a NUL character in any text it is given, so a NUL that reached a query broke
the page there; the portal now answers 400 to a NUL anywhere in the path, the query string or a
form before any view runs.
"""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from doctors.models import Holiday, TimeOff
from doctors.services import issue_calendar_token
from doctors.tests.factories import ClinicFactory, DoctorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(clinic_admin_user):
    client = Client(raise_request_exception=False)
    client.force_login(clinic_admin_user)
    return client


@pytest.fixture
def anon():
    return Client(raise_request_exception=False)


def test_a_nul_in_the_calendar_feed_token_is_not_found(anon):
    doctor = issue_calendar_token(doctor=DoctorFactory())
    assert anon.get(f"/schedule/feed/{doctor.calendar_token}.ics").status_code == 200
    assert anon.get("/schedule/feed/%00.ics").status_code in (400, 404)


def test_a_token_that_cannot_be_one_is_not_looked_up(anon, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert anon.get(reverse("schedule:feed", kwargs={"token": "a'b\\c"})).status_code == 404


@pytest.mark.parametrize(
    "url_name",
    ["admin:bookings_appointment_changelist", "admin:notifications_notification_changelist"],
)
@pytest.mark.parametrize("parameter", ["status", "state", "q", "o", "e"])
def test_a_nul_in_an_admin_list_filter_is_a_bad_request(admin_client, url_name, parameter):
    response = admin_client.get(reverse(url_name), {parameter: "\x00"})
    assert response.status_code == 400


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_nul_anywhere_in_a_form_or_query_is_a_bad_request(anon, method):
    url = reverse("accounts:password_reset")
    for body in ({"email": "a\x00@example.com"}, {"ema\x00il": "a@example.com"}):
        assert getattr(anon, method)(url, body).status_code == 400


def test_a_nul_in_the_path_is_a_bad_request(anon):
    assert anon.get("/doctors/%00/").status_code == 400


def test_the_nul_refusal_writes_nothing_and_runs_no_query(anon, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = anon.post(reverse("accounts:login"), {"username": "\x00", "password": "x"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("url_name", "year_field"),
    [
        ("admin:bookings_appointment_changelist", "start"),
        ("admin:notifications_notification_changelist", "send_after"),
        ("admin:doctors_holiday_changelist", "date"),
        ("admin:doctors_timeoff_changelist", "starts_at"),
    ],
)
@pytest.mark.parametrize(
    "date_query",
    [
        {"__year": "99999999999"},
        {"__year": "0"},
        {"__year": "1"},
        {"__year": "9999"},
        {"__year": "2026", "__month": "13"},
        {"__year": "2026", "__month": "99999999999"},
        {"__year": "2026", "__month": "2", "__day": "31"},
        {"__year": "2026", "__month": "12", "__day": "-1"},
        {"__year": "twenty"},
    ],
)
def test_an_impossible_date_in_an_admin_list_is_a_bad_request(
    admin_client, url_name, year_field, date_query
):
    query = {f"{year_field}{suffix}": value for suffix, value in date_query.items()}
    response = admin_client.get(reverse(url_name), query)
    assert response.status_code == 400


def drilled_down_admins():
    from django.contrib import admin

    return sorted(
        (model._meta.app_label, model._meta.model_name, model_admin.date_hierarchy)
        for model, model_admin in admin.site._registry.items()
        if model_admin.date_hierarchy
    )


@pytest.mark.parametrize(("app", "model", "field"), drilled_down_admins())
def test_no_admin_list_overflows_on_a_huge_year(app, model, field):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    url = reverse(f"admin:{app}_{model}_changelist")
    assert client.get(url, {f"{field}__year": "2026"}).status_code == 200
    assert client.get(url, {f"{field}__year": "99999999999"}).status_code == 400


def test_a_real_date_in_an_admin_list_still_narrows_it(admin_client):
    response = admin_client.get(
        reverse("admin:bookings_appointment_changelist"),
        {"start__year": "2026", "start__month": "2", "start__day": "28"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("url_name", "model", "body"),
    [
        (
            "admin:doctors_timeoff_add",
            TimeOff,
            {
                "doctor": "abc",
                "starts_at_0": "2026-12-10",
                "starts_at_1": "10:00",
                "ends_at_0": "2026-12-10",
                "ends_at_1": "12:00",
                "reason": "Conference",
            },
        ),
        ("admin:doctors_holiday_add", Holiday, {"clinic": "abc", "date": "2026-12-25"}),
        ("admin:doctors_holiday_add", Holiday, {"clinic": "1e99", "date": "2026-12-25"}),
        ("admin:doctors_holiday_add", Holiday, {"clinic": "99999999999999999999999"}),
        ("admin:doctors_workinghours_add", None, {"doctor": "x", "clinic": "y", "weekday": "0"}),
    ],
)
def test_a_non_numeric_related_id_in_an_admin_form_is_a_form_error(
    admin_client, url_name, model, body
):
    ClinicFactory()
    response = admin_client.post(reverse(url_name), body)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    if model is not None:
        assert not model.objects.exists()


def test_a_non_numeric_related_id_in_an_admin_add_link_is_ignored(admin_client):
    response = admin_client.get(reverse("admin:doctors_timeoff_add"), {"doctor": "abc"})
    assert response.status_code == 200


def test_a_non_numeric_clinic_in_a_doctors_working_hours_row_is_a_form_error(admin_client):
    body = {
        "full_name": "Dr New",
        "department": "x",
        "registration_number": "REG-1",
        "registration_expires_on": "2030-01-01",
        "consultation_fee": "500",
        "slot_minutes": "15",
        "working_hours-TOTAL_FORMS": "1",
        "working_hours-INITIAL_FORMS": "0",
        "working_hours-0-clinic": "abc",
        "working_hours-0-weekday": "0",
        "working_hours-0-starts_at": "09:00",
        "working_hours-0-ends_at": "12:00",
    }
    response = admin_client.post(reverse("admin:doctors_doctor_add"), body)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
