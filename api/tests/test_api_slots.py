"""GET /api/v1/slots/: free times over any range of the booking window, open to every role."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from api.slots import parse_slot_id
from api.tests.clinic_day import (
    NOW,
    ROLES,
    TODAY,
    VISIT_DAY,
    assert_error,
    frozen,  # noqa: F401
    local,
    rules,  # noqa: F401
    world,  # noqa: F401  (a fixture)
)
from bookings.models import Status
from bookings.selectors import open_slots
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import ClinicFactory, TimeOffFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/slots/"


def all_slots(client, **params):
    """Every slot over the pages of the answer."""
    params.setdefault("page_size", 100)
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    body = response.json()
    results = body["results"]
    page = 1
    while body["next"]:
        page += 1
        body = client.get(URL, {**params, "page": page}).json()
        results += body["results"]
    return results


def test_the_route_is_the_named_one():
    assert reverse("api:slots") == URL


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_free_times_as_the_pages_do(world, role):
    client = world.client(role)
    slots = all_slots(client, doctor=world.doctor.pk, clinic=world.clinic.pk, to=VISIT_DAY)
    expected = open_slots(
        doctor=world.doctor, clinic=world.clinic, now=NOW, first_day=TODAY, last_day=VISIT_DAY
    )
    assert [parse_slot_id(s["id"]).start for s in slots] == [s.start for s in expected]
    assert len(slots) > 16  # more than one day's


def test_a_slot_has_an_id_and_both_times_at_the_clinic(world):
    slots = all_slots(
        world.client("anon"),
        doctor=world.doctor.pk,
        clinic=world.clinic.pk,
        **{"from": VISIT_DAY, "to": VISIT_DAY},
    )
    first = slots[0]
    assert first["start"] == {
        "utc": "2026-12-03T03:30:00Z",
        "local": "2026-12-03T09:00:00+05:30",
        "time_zone": "Asia/Kolkata",
    }
    assert first["end"]["local"] == "2026-12-03T09:15:00+05:30"
    parsed = parse_slot_id(first["id"])
    assert (parsed.doctor_id, parsed.clinic_id) == (world.doctor.pk, world.clinic.pk)
    assert parsed.start == local(VISIT_DAY, 9)
    assert len(slots) == 16  # 09:00 to 13:00 in quarters of an hour


def test_without_dates_a_week_from_the_clinics_today(world):
    slots = all_slots(world.client("anon"), doctor=world.doctor.pk, clinic=world.clinic.pk)
    days = {dt.date.fromisoformat(s["start"]["local"][:10]) for s in slots}
    assert min(days) == TODAY
    assert max(days) == TODAY + dt.timedelta(days=6)


def test_the_whole_window_in_one_range(world):
    last = TODAY + dt.timedelta(days=30)
    slots = all_slots(
        world.client("anon"),
        doctor=world.doctor.pk,
        clinic=world.clinic.pk,
        **{"from": TODAY, "to": last},
    )
    days = {dt.date.fromisoformat(s["start"]["local"][:10]) for s in slots}
    assert max(days) == last
    # Mondays to Saturdays only: no Sunday is offered.
    assert all(day.weekday() != 6 for day in days)


def test_booked_and_time_off_times_are_not_offered(world):
    AppointmentFactory(
        doctor=world.doctor,
        clinic=world.clinic,
        patient=world.walk_in,
        start=local(VISIT_DAY, 10),
    )
    AppointmentFactory(
        doctor=world.doctor,
        clinic=world.clinic,
        patient=world.walk_in,
        start=local(VISIT_DAY, 10, 15),
        status=Status.CANCELLED,
    )
    TimeOffFactory(
        doctor=world.doctor, starts_at=local(VISIT_DAY, 12), ends_at=local(VISIT_DAY, 13)
    )
    slots = all_slots(
        world.client("anon"),
        doctor=world.doctor.pk,
        clinic=world.clinic.pk,
        **{"from": VISIT_DAY, "to": VISIT_DAY},
    )
    starts = {parse_slot_id(s["id"]).start for s in slots}
    assert local(VISIT_DAY, 10) not in starts
    assert local(VISIT_DAY, 10, 15) in starts  # a cancellation frees its time
    assert not any(local(VISIT_DAY, 12) <= start < local(VISIT_DAY, 13) for start in starts)


def test_a_doctor_whose_registration_lapsed_is_offered_nowhere(world):
    world.doctor.registration_expires_on = TODAY - dt.timedelta(days=1)
    world.doctor.save()
    body = world.client("anon").get(URL, {"doctor": world.doctor.pk, "clinic": world.clinic.pk})
    assert body.status_code == 200
    assert body.json()["count"] == 0


def test_the_same_queries_for_a_day_and_for_the_whole_window(world):
    client = world.client("anon")

    def queries(**params):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(
                URL, {"doctor": world.doctor.pk, "clinic": world.clinic.pk, **params}
            )
        assert response.status_code == 200
        return len(captured)

    one_day = queries(**{"from": VISIT_DAY, "to": VISIT_DAY})
    for day in range(5, 25):
        AppointmentFactory(
            doctor=world.doctor,
            clinic=world.clinic,
            patient=world.walk_in,
            start=local(TODAY + dt.timedelta(days=day), 9),
        )
    assert queries(**{"from": TODAY, "to": TODAY + dt.timedelta(days=30)}) == one_day


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "doctor"),
        ({"doctor": "x"}, "doctor"),
        ({"doctor": "0"}, "doctor"),
        ({"doctor": "99999999999999"}, "doctor"),
        ({"doctor": "999999"}, "doctor"),
        ({"clinic": "999999"}, "clinic"),
        ({"clinic": "-3"}, "clinic"),
        ({"from": "2026-02-30"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-11-30"}, "from"),  # before the clinic's today
        ({"to": "2027-01-01"}, "to"),  # beyond the 30-day window
        ({"from": "2026-12-05", "to": "2026-12-04"}, "to"),
        ({"from": "9999-12-31"}, "from"),
        ({"to": "0001-01-01"}, "to"),
    ],
)
def test_bad_queries_are_field_errors(world, params, field):
    query = {"doctor": world.doctor.pk, "clinic": world.clinic.pk, **params}
    if not params:  # no doctor at all
        query.pop("doctor")
    error = assert_error(world.client("anon").get(URL, query), 400, "invalid")
    assert field in error["fields"]


def test_a_clinic_where_the_doctor_does_not_work_is_a_field_error(world):
    elsewhere = ClinicFactory()
    response = world.client("desk").get(URL, {"doctor": world.doctor.pk, "clinic": elsewhere.pk})
    assert "clinic" in assert_error(response, 400, "invalid")["fields"]


def test_an_inactive_doctor_is_not_offered(world):
    world.doctor.is_active = False
    world.doctor.save()
    response = world.client("anon").get(URL, {"doctor": world.doctor.pk, "clinic": world.clinic.pk})
    assert "doctor" in assert_error(response, 400, "invalid")["fields"]


@pytest.mark.parametrize(
    "bad", ["12", "12:3", "a:b:c", "1:2:2026-13-45T25:61Z", "0:1:x", "\u00b2:1:x"]
)
def test_slot_ids_that_name_nothing_do_not_parse(bad):
    with pytest.raises(ValueError):
        parse_slot_id(bad)
