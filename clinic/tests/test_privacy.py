"""A patient's own data (/my-data/): downloading it, and closing the account."""

import datetime as dt
import json

import pytest
from auditlog.models import LogEntry
from django.contrib.auth import get_user
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse

from accounts.models import Patient, User
from accounts.tests.factories import DEFAULT_PASSWORD, PatientFactory
from billing.models import Payment
from bookings import services as booking_services
from bookings.models import Appointment, Status
from bookings.tests.factories import AppointmentFactory
from clinic.tests.sample_clinic import (  # noqa: F401  (fixtures)
    NOW,
    PATIENT_EMAIL,
    PATIENT_NAME,
    PATIENT_PHONE,
    REASON,
    TOMORROW,
    appointment,
    desk,
    doctor,
    frozen_now,
    lakeview,
    local,
    patient,
    payment,
    personal_details,
)

pytestmark = pytest.mark.django_db

CONFIRMED = {"password": DEFAULT_PASSWORD, "confirm": "on"}


def as_user(user):
    client = Client()
    client.force_login(user)
    return client


def events_for(patient):
    return [
        entry.additional_data.get("event")
        for entry in LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Patient),
            object_pk=str(patient.pk),
            action=LogEntry.Action.ACCESS,
        ).exclude(additional_data=None)
    ]


@pytest.fixture
def other_patients_visit(frozen_now, doctor, lakeview):
    """Another patient with a login, a booking and a payment, none of which may show up."""
    other = PatientFactory(
        with_account=True, full_name="Bartholomew Okonkwo", email="bart.okonkwo@example.com"
    )
    visit = AppointmentFactory(
        patient=other,
        doctor=doctor,
        clinic=lakeview,
        start=local(TOMORROW, 12),
        reason="Sprained left ankle",
    )
    return other, visit


@pytest.fixture
def past_visit(frozen_now, patient, doctor, lakeview, desk):
    """A completed and paid visit last week, which closing the account must keep."""
    from billing import services as billing_services
    from billing.tests.factories import ChargeFactory

    visit = AppointmentFactory(
        patient=patient,
        doctor=doctor,
        clinic=lakeview,
        start=local(NOW.date() - dt.timedelta(days=7), 10),
        status=Status.COMPLETED,
        reason=REASON,
    )
    charge = ChargeFactory(appointment=visit)
    billing_services.record_payment(charge=charge, amount=charge.total, mode="cash", by=desk)
    return visit


# Export -------------------------------------------------------------------------------------------


def test_the_export_holds_the_patients_own_data_and_nobody_elses(
    frozen_now, patient, appointment, payment, other_patients_visit
):
    other, other_visit = other_patients_visit

    response = as_user(patient.user).post(reverse("privacy:export"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith("attachment;")
    assert {"no-store", "private"} <= {
        part.strip() for part in response["Cache-Control"].split(",")
    }
    data = json.loads(response.content)
    assert data["account"]["email"] == PATIENT_EMAIL
    assert data["patient_record"]["full_name"] == PATIENT_NAME
    assert data["patient_record"]["phone"] == PATIENT_PHONE
    assert [row["id"] for row in data["appointments"]] == [appointment.pk]
    assert data["appointments"][0]["reason"] == REASON
    assert [row["receipt_number"] for row in data["payments_and_refunds"]] == [
        payment.receipt_number
    ]
    assert {row["appointment_id"] for row in data["charges"]} == {appointment.pk}
    body = response.content.decode()
    for foreign in (other.full_name, other.email, "Sprained left ankle"):
        assert foreign not in body
    assert f'"id": {other_visit.pk},' not in body


def test_the_export_is_in_the_audit_trail(frozen_now, patient):
    as_user(patient.user).post(reverse("privacy:export"))

    assert events_for(patient) == ["data exported by the patient"]
    entry = LogEntry.objects.get(additional_data__event="data exported by the patient")
    assert entry.actor == patient.user


def test_the_export_needs_a_post(frozen_now, patient):
    response = as_user(patient.user).get(reverse("privacy:export"))

    assert response.status_code == 405
    assert events_for(patient) == []


@pytest.mark.parametrize("who", ["front_desk_user", "doctor_user", "clinic_admin_user"])
def test_staff_have_nothing_to_export_here(request, who):
    response = as_user(request.getfixturevalue(who)).post(reverse("privacy:export"))
    assert response.status_code == 403


def test_visitors_are_sent_to_log_in(client):
    response = client.post(reverse("privacy:export"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


# Closing the account ------------------------------------------------------------------------------


def close(client, **data):
    return client.post(reverse("privacy:close"), data)


def assert_untouched(patient):
    fresh = Patient.objects.select_related("user").get(pk=patient.pk)
    assert fresh.full_name == PATIENT_NAME
    assert fresh.email == PATIENT_EMAIL
    assert fresh.user_id == patient.user_id
    assert fresh.user.is_active
    assert fresh.user.check_password(DEFAULT_PASSWORD)
    assert "account closed by the patient" not in events_for(patient)


def test_closing_is_refused_while_appointments_are_upcoming(frozen_now, patient, appointment):
    client = as_user(patient.user)

    response = close(client, **CONFIRMED)

    assert response.status_code == 200
    assert "You have upcoming appointments" in response.content.decode()
    assert_untouched(patient)
    assert get_user(client).is_authenticated


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"password": "not-my-password", "confirm": "on"}, "That is not your password."),
        ({"password": DEFAULT_PASSWORD}, "Tick the box to confirm."),
        ({"confirm": "on"}, "This field is required."),
    ],
)
def test_closing_needs_the_password_and_the_box(frozen_now, patient, past_visit, data, error):
    client = as_user(patient.user)

    response = close(client, **data)

    assert response.status_code == 200
    assert error in response.content.decode()
    assert_untouched(patient)
    assert get_user(client).is_authenticated


def test_closing_needs_a_post(frozen_now, patient):
    response = as_user(patient.user).get(reverse("privacy:close"))
    assert response.status_code == 405
    assert_untouched(patient)


def test_closing_anonymises_the_details_keeps_the_history_and_ends_every_session(
    frozen_now, patient, past_visit, doctor, lakeview
):
    user = patient.user
    client = as_user(user)
    phone = Client()
    phone.post(reverse("accounts:login"), {"username": PATIENT_EMAIL, "password": DEFAULT_PASSWORD})
    assert get_user(phone).is_authenticated
    payments_before = Payment.objects.filter(charge__appointment__patient=patient).count()
    born = patient.date_of_birth

    response = close(client, **CONFIRMED)

    assert response.status_code == 302
    assert not get_user(client).is_authenticated
    assert not get_user(phone).is_authenticated

    patient.refresh_from_db()
    user.refresh_from_db()
    assert patient.full_name == f"Closed account {patient.pk}"
    assert (patient.email, patient.phone, patient.user_id) == ("", "", None)
    assert patient.date_of_birth == dt.date(born.year, 1, 1)
    assert not user.is_active
    assert not user.has_usable_password()
    assert PATIENT_EMAIL not in user.email
    assert user.full_name != PATIENT_NAME
    assert not user.groups.exists()

    # The visit and its payment stay, under the anonymous name.
    assert Appointment.objects.filter(pk=past_visit.pk, patient=patient).exists()
    assert (
        Payment.objects.filter(charge__appointment__patient=patient).count() == payments_before > 0
    )

    # The login no longer works, by the old address or any other.
    again = Client()
    again.post(reverse("accounts:login"), {"username": PATIENT_EMAIL, "password": DEFAULT_PASSWORD})
    assert not get_user(again).is_authenticated

    entry = LogEntry.objects.get(additional_data__event="account closed by the patient")
    assert entry.actor == user
    assert entry.object_pk == str(patient.pk)
    assert {"full_name", "phone", "email", "login"} <= set(entry.additional_data["anonymised"])


def test_closing_writes_no_copy_of_the_old_details_into_the_audit_trail(
    frozen_now, patient, past_visit
):
    before = set(LogEntry.objects.values_list("pk", flat=True))

    assert close(as_user(patient.user), **CONFIRMED).status_code == 302

    written = LogEntry.objects.exclude(pk__in=before)
    assert written.exists()
    for entry in written:
        stored = json.dumps(
            [entry.object_repr, entry.changes, entry.additional_data, entry.serialized_data]
        )
        leaked = [detail for detail in personal_details() if detail.lower() in stored.lower()]
        assert leaked == [], entry


def test_a_cancelled_appointment_does_not_block_closing(frozen_now, patient, appointment):
    booking_services.cancel_appointment(appointment=appointment, by=patient.user, now=NOW)

    assert close(as_user(patient.user), **CONFIRMED).status_code == 302


def test_another_patient_cannot_close_someone_elses_account(
    frozen_now, patient, past_visit, other_patient_user
):
    # The form only ever acts on the logged-in patient, and checks that patient's password.
    response = close(as_user(other_patient_user), password=DEFAULT_PASSWORD + "x", confirm="on")

    assert response.status_code == 200
    assert_untouched(patient)
    assert User.objects.get(pk=other_patient_user.pk).is_active


@pytest.mark.parametrize("who", ["front_desk_user", "doctor_user", "clinic_admin_user"])
def test_staff_cannot_close_a_patients_account(request, frozen_now, patient, past_visit, who):
    staff = request.getfixturevalue(who)

    response = close(as_user(staff), **CONFIRMED, patient=patient.pk)

    assert response.status_code == 403
    assert_untouched(patient)
    assert User.objects.get(pk=staff.pk).is_active


# The waitlist ------------------------------------------------------------------------------------


@pytest.fixture
def waiting_with_an_offer(frozen_now, patient, doctor, lakeview):
    """The patient waits for the doctor and has a freed time offered, with its notices queued;
    another patient waits too."""
    from notifications import outbox
    from waitlist.tests.factories import (
        FreedTimeFactory,
        WaitlistEntryFactory,
        WaitlistOfferFactory,
    )

    offer = WaitlistOfferFactory(
        freed_time=FreedTimeFactory(
            doctor=doctor, clinic=lakeview, start=local(TOMORROW, 11), state="offered"
        ),
        entry=WaitlistEntryFactory(patient=patient, doctor=doctor, state="offered"),
    )
    outbox.waitlist_offer(offer, now=NOW)
    other = WaitlistEntryFactory(doctor=doctor)
    return offer, other


def test_the_export_holds_the_patients_waitlist_and_the_offers_made_to_them(
    waiting_with_an_offer, patient, doctor
):
    _offer, other = waiting_with_an_offer

    data = json.loads(as_user(patient.user).post(reverse("privacy:export")).content)

    [entry] = data["waitlist"]
    assert entry["waiting_for"] == str(doctor)
    assert entry["state"] == "Offered a time"
    assert [row["doctor"] for row in entry["times_offered"]] == [doctor.full_name]
    assert {row["kind"] for row in data["messages"]} == {"waitlist_offer"}
    assert str(other.patient.full_name) not in json.dumps(data)


def test_closing_takes_the_patient_off_the_waitlist_and_blanks_the_offer_notices(
    waiting_with_an_offer, patient
):
    from notifications.models import Notification
    from waitlist.models import EntryState, OfferState

    offer, other = waiting_with_an_offer
    assert Notification.objects.filter(offer=offer).exclude(address="").exists()

    assert close(as_user(patient.user), **CONFIRMED).status_code == 302

    offer.refresh_from_db()
    offer.entry.refresh_from_db()
    other.refresh_from_db()
    assert offer.entry.state == EntryState.WITHDRAWN
    assert offer.state == OfferState.WITHDRAWN
    assert set(Notification.objects.filter(offer=offer).values_list("state", "address")) == {
        (Notification.State.SKIPPED, "")
    }
    # Someone else's place is theirs still.
    assert other.state == EntryState.WAITING
