"""The appointment admin's actions: no-show, cancel with a reason, CSV export. Each goes through
the booking services, refuses what their rules refuse and says so, and is offered only to staff
whose role grants it."""

import csv
import datetime as dt
import io
from html import unescape

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import PatientFactory, UserFactory
from bookings.models import Appointment, Status
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import ClinicFactory, DoctorFactory
from notifications.models import Notification

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:bookings_appointment_changelist")
STAFF = ["front_desk_user", "clinic_admin_user"]


def text_of(response):
    return unescape(response.content.decode())


def run_action(client, action, appointments, **extra):
    """Posts the change list's action form, as the page's "Go" button does."""
    data = {"action": action, "index": 0, "_selected_action": [a.pk for a in appointments]}
    return client.post(CHANGELIST, {**data, **extra}, follow=True)


def confirm_cancel(client, appointments, reason):
    """Posts the confirmation page's form (which carries no "index", unlike the change list)."""
    return client.post(
        CHANGELIST,
        {
            "action": "cancel_with_reason",
            "_selected_action": [a.pk for a in appointments],
            "confirm": "yes",
            "reason": reason,
        },
        follow=True,
    )


SESSION_SAVE = ("SAVEPOINT", "RELEASE SAVEPOINT", 'UPDATE "django_session"')


def page_queries(captured):
    """Leaves out the session's save, which happens at most once a minute (idle expiry)."""
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].startswith(SESSION_SAVE)
    ]


def statuses(appointments):
    return [Appointment.objects.get(pk=a.pk).status for a in appointments]


@pytest.fixture
def view_only_staff(db):
    """Staff who may look appointments up but not change them (no role grants this; a custom
    set-up might)."""
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_appointment"))
    return user


def started(minutes=30, **kwargs):
    return AppointmentFactory(start=timezone.now() - dt.timedelta(minutes=minutes), **kwargs)


# --- Mark as no-show ------------------------------------------------------------------------------


@pytest.mark.parametrize("staff", STAFF)
def test_no_show_action_marks_started_booked_appointments(client, request, staff):
    client.force_login(request.getfixturevalue(staff))
    first, second = started(45), started(15)
    response = run_action(client, "mark_no_show", [first, second])
    assert response.status_code == 200
    assert "Marked 2 appointment(s) as no-shows." in text_of(response)
    for appointment in (first, second):
        appointment.refresh_from_db()
        assert appointment.status == Status.NO_SHOW
        assert appointment.no_show_at is not None


def test_no_show_action_refuses_future_and_finished_appointments_and_names_them(
    client, front_desk_user
):
    client.force_login(front_desk_user)
    due = started()
    future = AppointmentFactory()
    completed = started(90, status=Status.COMPLETED)
    checked_in = started(10, status=Status.CHECKED_IN)
    response = run_action(client, "mark_no_show", [due, future, completed, checked_in])
    text = text_of(response)
    assert "Marked 1 appointment(s) as no-shows." in text
    assert "3 appointment(s) not marked as no-shows" in text
    assert f"#{future.pk} " in text
    assert "only after the appointment's start time" in text
    assert "Only a booked appointment that nobody checked in" in text
    assert statuses([due, future, completed, checked_in]) == [
        Status.NO_SHOW,
        Status.BOOKED,
        Status.COMPLETED,
        Status.CHECKED_IN,
    ]


def test_no_show_refusals_name_at_most_ten_and_count_the_rest(client, front_desk_user):
    client.force_login(front_desk_user)
    doctor = DoctorFactory()
    future = [AppointmentFactory(doctor=doctor) for _ in range(12)]
    text = text_of(run_action(client, "mark_no_show", future))
    assert "12 appointment(s) not marked as no-shows" in text
    assert "and 2 more." in text
    assert statuses(future) == [Status.BOOKED] * 12


def test_no_show_message_names_no_patient(client, front_desk_user):
    client.force_login(front_desk_user)
    future = AppointmentFactory(patient=PatientFactory(full_name="Quentin Privatename"))
    text = text_of(run_action(client, "mark_no_show", [future]))
    assert "not marked as no-shows" in text
    messages = text.split('class="messagelist"', 1)[1].split("</ul>", 1)[0]
    assert "Privatename" not in messages


# --- Cancel with a reason -----------------------------------------------------------------------


@pytest.mark.parametrize("staff", STAFF)
def test_cancel_action_asks_for_a_reason_before_cancelling_anything(client, request, staff):
    client.force_login(request.getfixturevalue(staff))
    booked = AppointmentFactory()
    completed = started(90, status=Status.COMPLETED)
    response = run_action(client, "cancel_with_reason", [booked, completed])
    assert response.status_code == 200
    assert response.templates[0].name == "admin/bookings/appointment/cancel_with_reason.html"
    assert [a.pk for a in response.context["cancellable"]] == [booked.pk]
    assert [a.pk for a in response.context["not_cancellable"]] == [completed.pk]
    text = text_of(response)
    assert "Reason for cancelling" in text
    assert f'name="_selected_action" value="{booked.pk}"' in text
    assert f'name="_selected_action" value="{completed.pk}"' not in text
    assert statuses([booked, completed]) == [Status.BOOKED, Status.COMPLETED]


def test_confirmation_page_shows_times_in_each_clinics_own_zone(client, front_desk_user):
    client.force_login(front_desk_user)
    london = ClinicFactory(timezone="Europe/London")
    appointment = AppointmentFactory(clinic=london)
    response = run_action(client, "cancel_with_reason", [appointment])
    local = appointment.start.astimezone(london.zone)
    assert f"{local:%H:%M}" in text_of(response)


@pytest.mark.parametrize("staff", STAFF)
def test_cancel_action_cancels_through_the_service_with_the_reason(client, request, staff):
    user = request.getfixturevalue(staff)
    client.force_login(user)
    first, second = AppointmentFactory(), AppointmentFactory()
    response = confirm_cancel(client, [first, second], "Doctor called in sick")
    assert "Cancelled 2 appointment(s)." in text_of(response)
    for appointment in (first, second):
        appointment.refresh_from_db()
        assert appointment.status == Status.CANCELLED
        assert appointment.cancelled_by == user
        assert appointment.cancellation_reason == "Doctor called in sick"
        assert appointment.cancelled_at is not None
        # The service's side effects happened too: the patient is told.
        assert appointment.notifications.filter(kind=Notification.Kind.CANCELLATION).exists()


@pytest.mark.parametrize("reason", ["", "   ", "x" * 201])
def test_cancel_action_without_a_proper_reason_cancels_nothing(client, front_desk_user, reason):
    client.force_login(front_desk_user)
    booked = AppointmentFactory()
    response = confirm_cancel(client, [booked], reason)
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert statuses([booked]) == [Status.BOOKED]


def test_cancel_action_reports_appointments_that_started_meanwhile(client, front_desk_user):
    # Listed as cancellable, then started before the confirmation came back: the service says no.
    client.force_login(front_desk_user)
    booked, now_started = AppointmentFactory(), started(1)
    response = confirm_cancel(client, [booked, now_started], "Clinic closed early")
    text = text_of(response)
    assert "Cancelled 1 appointment(s)." in text
    assert "1 appointment(s) not cancelled" in text
    assert "already started" in text
    assert statuses([booked, now_started]) == [Status.CANCELLED, Status.BOOKED]


def test_cancel_action_with_nothing_cancellable_offers_no_form(client, front_desk_user):
    client.force_login(front_desk_user)
    completed = started(90, status=Status.COMPLETED)
    response = run_action(client, "cancel_with_reason", [completed])
    assert "None of the selected appointments can be cancelled" in text_of(response)
    assert 'name="confirm"' not in text_of(response)


# --- Who may run the actions ----------------------------------------------------------------------


def choices(client):
    form = client.get(CHANGELIST).context["action_form"]  # None when no action is allowed
    return {value for value, _ in form.fields["action"].choices if value} if form else set()


def test_front_desk_may_mark_and_cancel_but_not_export(client, front_desk_user):
    client.force_login(front_desk_user)
    assert choices(client) == {"mark_no_show", "cancel_with_reason"}


def test_clinic_admin_may_run_every_action(client, clinic_admin_user):
    client.force_login(clinic_admin_user)
    assert choices(client) == {"mark_no_show", "cancel_with_reason", "export_csv"}


def test_view_only_staff_are_offered_no_action_and_posting_one_changes_nothing(
    client, view_only_staff
):
    client.force_login(view_only_staff)
    booked, due = AppointmentFactory(), started()
    assert client.get(CHANGELIST).status_code == 200
    assert choices(client) == set()
    run_action(client, "mark_no_show", [due])
    confirm_cancel(client, [booked], "Not allowed to")
    assert statuses([booked, due]) == [Status.BOOKED, Status.BOOKED]


def test_front_desk_posting_the_export_gets_no_file(client, front_desk_user):
    client.force_login(front_desk_user)
    response = run_action(client, "export_csv", [AppointmentFactory()])
    assert response["Content-Type"].startswith("text/html")
    assert "No action selected." in text_of(response)


@pytest.mark.parametrize("visitor", ["patient_user", "doctor_user"])
def test_patients_and_doctors_cannot_run_actions(client, request, visitor):
    client.force_login(request.getfixturevalue(visitor))
    due = started()
    response = client.post(
        CHANGELIST, {"action": "mark_no_show", "index": 0, "_selected_action": [due.pk]}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert statuses([due]) == [Status.BOOKED]


# --- CSV export -----------------------------------------------------------------------------------


def exported(client, appointments, **extra):
    response = run_action(client, "export_csv", appointments, **extra)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="appointments-')
    return response, list(csv.reader(io.StringIO(response.content.decode())))


def test_export_has_the_agreed_columns_with_start_in_clinic_time(client, clinic_admin_user):
    client.force_login(clinic_admin_user)
    london = ClinicFactory(timezone="Europe/London", name="Riverside")
    appointment = AppointmentFactory(clinic=london, appointment_type="follow_up")
    _, rows = exported(client, [appointment])
    assert rows[0] == [
        "id",
        "start_clinic_time",
        "doctor",
        "department",
        "clinic",
        "status",
        "type",
        "payment_mode",
        "created_at_utc",
    ]
    local = appointment.start.astimezone(london.zone)
    assert rows[1] == [
        str(appointment.pk),
        local.isoformat(timespec="minutes"),
        appointment.doctor.full_name,
        appointment.doctor.department.name,
        "Riverside",
        "booked",
        "follow_up",
        "at_clinic",
        appointment.created_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
    ]


def test_export_carries_no_reason_and_no_patient_details(client, clinic_admin_user):
    client.force_login(clinic_admin_user)
    patient = PatientFactory(
        full_name="Wilhelmina Secretname", phone="+919812345678", email="wil@example.org"
    )
    appointment = AppointmentFactory(patient=patient, reason="Embarrassing rash")
    cancelled = AppointmentFactory(
        status=Status.CANCELLED, cancellation_reason="Private matter", patient=patient
    )
    response, rows = exported(client, [appointment, cancelled])
    content = response.content.decode()
    for secret in ("Secretname", "+919812345678", "wil@example.org", "rash", "Private matter"):
        assert secret not in content
    assert len(rows) == 3


def test_export_neutralises_spreadsheet_formulas_in_names(client, clinic_admin_user):
    client.force_login(clinic_admin_user)
    appointment = AppointmentFactory(doctor=DoctorFactory(full_name='=HYPERLINK("x")'))
    _, rows = exported(client, [appointment])
    assert rows[1][2] == '\'=HYPERLINK("x")'


def test_export_of_everything_selected_across_pages_costs_a_fixed_number_of_queries(
    client, clinic_admin_user
):
    client.force_login(clinic_admin_user)
    everything = {"select_across": 1, "_selected_action": ["0"]}  # "all N appointments"
    AppointmentFactory.create_batch(2)
    with CaptureQueriesContext(connection) as few:
        exported(client, [], **everything)
    AppointmentFactory.create_batch(6, doctor=DoctorFactory(), clinic=ClinicFactory())
    with CaptureQueriesContext(connection) as many:
        _, rows = exported(client, [], **everything)
    assert len(rows) == 1 + 8
    assert len(page_queries(many)) == len(page_queries(few))
