"""The audit trail: who viewed or changed patient, appointment and payment records, readable by
clinic admins in the admin and changeable by nobody."""

import pytest
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse

from accounts.models import Patient
from accounts.tests.factories import PatientFactory, UserFactory
from billing.models import Payment
from bookings.models import Appointment, Status
from clinic.tests.sample_clinic import (  # noqa: F401  (fixtures)
    appointment,
    desk,
    doctor,
    frozen_now,
    lakeview,
    patient,
    payment,
)

pytestmark = pytest.mark.django_db


def entries_for(instance, action):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(type(instance)),
        object_pk=str(instance.pk),
        action=action,
    )


def as_user(user):
    client = Client()
    client.force_login(user)
    return client


# Views are recorded -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "url_name", "record"),
    [
        ("patient", "bookings:detail", "appointment"),
        ("doctor", "schedule:appointment", "appointment"),
        ("desk", "desk:appointment", "appointment"),
        ("desk", "desk:patient", "patient"),
        ("desk", "billing:receipt", "payment"),
        ("patient", "billing:receipt", "payment"),
    ],
)
def test_opening_a_record_leaves_an_access_entry_naming_who(
    request, frozen_now, appointment, payment, who, url_name, record
):
    actor = {
        "patient": lambda: request.getfixturevalue("patient").user,
        "doctor": lambda: request.getfixturevalue("doctor").user,
        "desk": lambda: request.getfixturevalue("desk"),
    }[who]()
    shown = {"appointment": appointment, "payment": payment, "patient": appointment.patient}[record]
    before = entries_for(shown, LogEntry.Action.ACCESS).count()

    response = as_user(actor).get(reverse(url_name, args=[shown.pk]), REMOTE_ADDR="192.0.2.44")

    assert response.status_code == 200
    entries = entries_for(shown, LogEntry.Action.ACCESS)
    assert entries.count() == before + 1
    entry = entries.latest("timestamp")
    assert entry.actor == actor
    assert entry.remote_addr == "192.0.2.44"


def test_a_refused_look_at_someone_elses_appointment_records_no_view(
    frozen_now, appointment, other_patient_user
):
    response = as_user(other_patient_user).get(reverse("bookings:detail", args=[appointment.pk]))

    assert response.status_code == 404
    assert not entries_for(appointment, LogEntry.Action.ACCESS).exists()


# Changes are recorded -----------------------------------------------------------------------------


def test_the_desk_editing_a_patient_is_recorded_with_the_old_and_new_values(frozen_now, desk):
    walk_in = PatientFactory(full_name="Old Name", phone="+919800000001")

    response = as_user(desk).post(
        reverse("desk:patient_edit", args=[walk_in.pk]),
        {
            "full_name": "New Name",
            "date_of_birth": walk_in.date_of_birth.isoformat(),
            "sex": walk_in.sex,
            "phone": "+919800000002",
            "email": walk_in.email,
        },
    )

    assert response.status_code == 302
    entry = entries_for(walk_in, LogEntry.Action.UPDATE).get()
    assert entry.actor == desk
    assert entry.changes_dict["full_name"] == ["Old Name", "New Name"]


def test_booking_cancelling_and_paying_are_recorded(frozen_now, appointment, patient, desk):
    created = entries_for(appointment, LogEntry.Action.CREATE).get()
    assert created.object_repr.startswith(f"Appointment {appointment.pk}")

    response = as_user(patient.user).post(
        reverse("bookings:cancel", args=[appointment.pk]), {"reason": "Feeling better"}
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    update = entries_for(appointment, LogEntry.Action.UPDATE).latest("timestamp")
    assert update.actor == patient.user
    assert update.changes_dict["status"][1] == Status.CANCELLED


def test_recording_a_payment_is_recorded(frozen_now, appointment, desk):
    response = as_user(desk).post(
        reverse("billing:record", args=[appointment.pk]), {"amount": "590.00", "mode": "cash"}
    )

    assert response.status_code == 302
    payment = Payment.objects.get(charge__appointment=appointment)
    entry = entries_for(payment, LogEntry.Action.CREATE).get()
    assert entry.actor == desk


# The audit trail in the admin ---------------------------------------------------------------------


def changelist():
    return reverse("admin:auditlog_logentry_changelist")


def test_clinic_admins_read_the_audit_trail(frozen_now, appointment, clinic_admin_user):
    client = as_user(clinic_admin_user)

    listing = client.get(changelist())
    one = client.get(reverse("admin:auditlog_logentry_change", args=[LogEntry.objects.first().pk]))

    assert listing.status_code == 200
    assert listing.context["cl"].result_count == LogEntry.objects.count() > 0
    assert one.status_code == 200
    assert one.context["has_change_permission"] is False


def test_the_front_desk_cannot_see_the_audit_trail(frozen_now, appointment, desk):
    client = as_user(desk)

    assert client.get(changelist()).status_code == 403
    entry = LogEntry.objects.first()
    assert client.get(reverse("admin:auditlog_logentry_change", args=[entry.pk])).status_code == 403


@pytest.fixture
def superuser(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.mark.parametrize("who", ["clinic_admin_user", "superuser"])
def test_nobody_changes_or_deletes_audit_entries_in_the_admin(
    request, frozen_now, appointment, who
):
    client = as_user(request.getfixturevalue(who))
    entry = LogEntry.objects.first()
    count = LogEntry.objects.count()
    entry_admin = admin.site.get_model_admin(LogEntry)
    listing = client.get(changelist())
    delete_url = reverse("admin:auditlog_logentry_delete", args=[entry.pk])

    assert listing.status_code == 200
    assert not entry_admin.has_add_permission(listing.wsgi_request)
    assert not entry_admin.has_change_permission(listing.wsgi_request, entry)
    assert not entry_admin.has_delete_permission(listing.wsgi_request, entry)
    assert "delete_selected" not in entry_admin.get_actions(listing.wsgi_request)
    assert client.get(reverse("admin:auditlog_logentry_add")).status_code == 403
    assert client.get(delete_url).status_code == 403
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    client.post(
        reverse("admin:auditlog_logentry_change", args=[entry.pk]), {"object_repr": "tampered"}
    )
    client.post(
        changelist(),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )

    assert LogEntry.objects.count() == count
    entry.refresh_from_db()
    assert entry.object_repr != "tampered"


def test_the_models_that_must_be_audited_are_registered():
    from auditlog.registry import auditlog

    for model in (Patient, Appointment, Payment):
        assert auditlog.contains(model), model
