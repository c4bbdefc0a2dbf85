"""The patient acting without a login (a link in a message, a text reply): cancelling with
by=None, and confirming attendance, by those channels or through the front desk."""

import datetime as dt

import pytest
from auditlog.models import LogEntry

from accounts.tests.factories import PatientFactory
from bookings import signals
from bookings.models import Appointment, ContactChannel, Status
from bookings.services import NotAllowed, cancel_appointment, confirm_attendance
from bookings.tests.factories import AppointmentFactory
from notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cutoff(settings):
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4


@pytest.fixture
def appointment():
    return AppointmentFactory(patient=PatientFactory(with_account=True))


def before_start(appointment, **delta):
    return appointment.start - dt.timedelta(**delta)


# --- Cancelling without a login ---------------------------------------------------------------


@pytest.mark.parametrize("via", [ContactChannel.LINK, ContactChannel.SMS])
def test_the_patient_cancels_without_a_login_through_a_channel(appointment, via):
    now = before_start(appointment, hours=5)
    cancel_appointment(appointment=appointment, by=None, via=via, reason="Better", now=now)
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    assert appointment.cancelled_at == now
    assert appointment.cancelled_by is None
    assert appointment.cancelled_via == via
    assert appointment.cancellation_reason == "Better"


def test_a_cancellation_without_a_login_keeps_the_patients_cutoff(appointment):
    with pytest.raises(NotAllowed) as refused:
        cancel_appointment(
            appointment=appointment,
            by=None,
            via=ContactChannel.LINK,
            now=before_start(appointment, hours=3, minutes=59),
        )
    assert refused.value.code == "past_cutoff"
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancelled_via) == (Status.BOOKED, "")


def test_a_walk_in_patient_without_a_login_may_cancel_by_a_channel_too():
    appointment = AppointmentFactory(patient=PatientFactory())
    cancel_appointment(
        appointment=appointment,
        by=None,
        via=ContactChannel.SMS,
        now=before_start(appointment, hours=4),
    )
    assert Appointment.objects.get(pk=appointment.pk).status == Status.CANCELLED


@pytest.mark.parametrize("via", ["", ContactChannel.DESK, "email"])
def test_a_cancellation_without_a_login_must_name_the_patients_channel(appointment, via):
    with pytest.raises(ValueError):
        cancel_appointment(appointment=appointment, by=None, via=via)
    assert Appointment.objects.get(pk=appointment.pk).status == Status.BOOKED


def test_a_login_cancelling_names_no_channel(appointment):
    with pytest.raises(ValueError):
        cancel_appointment(appointment=appointment, by=appointment.patient.user, via="link")


def test_a_login_cancelling_records_no_channel(appointment):
    cancel_appointment(
        appointment=appointment,
        by=appointment.patient.user,
        now=before_start(appointment, hours=5),
    )
    appointment.refresh_from_db()
    assert (appointment.cancelled_by, appointment.cancelled_via) == (appointment.patient.user, "")


def test_the_receivers_accept_a_cancellation_without_a_login(appointment):
    heard = []

    def listener(sender, appointment, by, now, **kwargs):
        heard.append(by)

    signals.appointment_cancelled.connect(listener)
    try:
        cancel_appointment(
            appointment=appointment,
            by=None,
            via=ContactChannel.LINK,
            now=before_start(appointment, hours=5),
        )
    finally:
        signals.appointment_cancelled.disconnect(listener)
    assert heard == [None]
    # The outbox (notifications' receiver) announced it to the patient as for any cancellation.
    assert Notification.objects.filter(
        appointment=appointment, kind=Notification.Kind.CANCELLATION
    ).exists()


# --- Confirming attendance ----------------------------------------------------------------------


def test_the_patient_confirms_through_a_link(appointment):
    now = before_start(appointment, hours=30)
    confirm_attendance(appointment=appointment, via=ContactChannel.LINK, now=now)
    appointment.refresh_from_db()
    assert appointment.attendance_confirmed
    assert appointment.attendance_confirmed_at == now
    assert appointment.attendance_confirmed_via == ContactChannel.LINK
    assert appointment.attendance_confirmed_by is None


def test_the_desk_records_a_confirmation_heard_by_phone(appointment, front_desk_user):
    confirm_attendance(appointment=appointment, via=ContactChannel.DESK, by=front_desk_user)
    appointment.refresh_from_db()
    assert appointment.attendance_confirmed_via == ContactChannel.DESK
    assert appointment.attendance_confirmed_by == front_desk_user


def test_confirming_is_allowed_inside_the_cancellation_cutoff(appointment):
    confirm_attendance(
        appointment=appointment, via=ContactChannel.SMS, now=before_start(appointment, minutes=5)
    )
    assert Appointment.objects.get(pk=appointment.pk).attendance_confirmed


def test_confirming_again_keeps_the_first_confirmation(appointment, front_desk_user):
    first = before_start(appointment, hours=30)
    confirm_attendance(appointment=appointment, via=ContactChannel.LINK, now=first)
    confirm_attendance(
        appointment=appointment,
        via=ContactChannel.DESK,
        by=front_desk_user,
        now=before_start(appointment, hours=2),
    )
    appointment.refresh_from_db()
    assert (appointment.attendance_confirmed_at, appointment.attendance_confirmed_via) == (
        first,
        ContactChannel.LINK,
    )
    assert appointment.attendance_confirmed_by is None


@pytest.mark.parametrize(
    "status", [Status.CANCELLED, Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW]
)
def test_only_a_booked_appointment_can_be_confirmed(appointment, status):
    Appointment.objects.filter(pk=appointment.pk).update(status=status)
    with pytest.raises(NotAllowed) as refused:
        confirm_attendance(appointment=appointment, via=ContactChannel.LINK)
    assert refused.value.code == "invalid_status"
    assert not Appointment.objects.get(pk=appointment.pk).attendance_confirmed


def test_a_started_appointment_cannot_be_confirmed(appointment):
    with pytest.raises(NotAllowed) as refused:
        confirm_attendance(appointment=appointment, via=ContactChannel.LINK, now=appointment.start)
    assert refused.value.code == "already_started"
    assert not Appointment.objects.get(pk=appointment.pk).attendance_confirmed


@pytest.mark.parametrize(
    ("via", "by_desk"),
    [(ContactChannel.DESK, False), (ContactChannel.LINK, True), ("post", False)],
)
def test_a_confirmation_names_who_took_it_exactly_when_the_desk_did(
    appointment, front_desk_user, via, by_desk
):
    with pytest.raises(ValueError):
        confirm_attendance(
            appointment=appointment, via=via, by=front_desk_user if by_desk else None
        )
    assert not Appointment.objects.get(pk=appointment.pk).attendance_confirmed


def test_a_confirmation_is_in_the_audit_trail(appointment):
    confirm_attendance(appointment=appointment, via=ContactChannel.LINK)
    entry = LogEntry.objects.get_for_object(appointment).latest("timestamp")
    assert entry.action == LogEntry.Action.UPDATE
    assert set(entry.changes_dict) >= {"attendance_confirmed_at", "attendance_confirmed_via"}


def test_the_admin_shows_how_the_patient_confirmed_and_cancelled(client, clinic_admin_user):
    from django.urls import reverse

    confirmed = AppointmentFactory(patient=PatientFactory())
    confirm_attendance(appointment=confirmed, via=ContactChannel.LINK)
    cancel_appointment(
        appointment=confirmed,
        by=None,
        via=ContactChannel.SMS,
        now=before_start(confirmed, hours=5),
    )
    client.force_login(clinic_admin_user)
    page = client.get(reverse("admin:bookings_appointment_change", args=[confirmed.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "Attendance confirmation" in body
    assert "Link in a message" in body and "Reply to a text message" in body
