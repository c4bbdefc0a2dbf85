"""Odd but possible addresses that once broke pages: they answer normally now."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["²", "٣", "12abc", "-1", ""])
def test_desk_booking_pages_ignore_a_patient_number_that_is_not_one(client, front_desk_user, value):
    client.force_login(front_desk_user)
    response = client.get(reverse("desk:book"), {"patient": value})
    assert response.status_code == 200
    assert "Book for someone else" not in response.content.decode()


@pytest.mark.parametrize(
    ("name", "day", "missing_link"),
    [
        ("schedule:day", "2999-12-31", "Next day"),
        ("schedule:day", "1900-01-01", "Previous day"),
        ("schedule:week_of", "2999-12-31", "Next week"),
        ("schedule:week_of", "1900-01-01", "Previous week"),
    ],
)
def test_the_schedule_at_the_ends_of_its_range_has_no_link_past_them(
    client, doctor_user, name, day, missing_link
):
    client.force_login(doctor_user)
    response = client.get(reverse(name, kwargs={"day": day}))
    assert response.status_code == 200
    assert missing_link not in response.content.decode()


@pytest.mark.parametrize("status", ["cancelled", "completed", "no_show"])
def test_the_desk_cancel_page_offers_no_form_for_what_cannot_be_cancelled(
    client, front_desk_user, status
):
    from bookings.tests.factories import AppointmentFactory

    appointment = AppointmentFactory(status=status)
    client.force_login(front_desk_user)
    response = client.get(reverse("desk:cancel", kwargs={"pk": appointment.pk}))
    assert response["Location"] == reverse("desk:appointment", kwargs={"pk": appointment.pk})


def test_an_appointment_is_open_for_changes_only_while_booked_and_not_started():
    import datetime as dt

    from bookings.models import Appointment, Status

    start = dt.datetime(2030, 1, 7, 9, tzinfo=dt.UTC)
    before, after = start - dt.timedelta(minutes=1), start
    assert Appointment(status=Status.BOOKED, start=start).is_open_for_changes(before)
    assert not Appointment(status=Status.BOOKED, start=start).is_open_for_changes(after)
    assert not Appointment(status=Status.CANCELLED, start=start).is_open_for_changes(before)
