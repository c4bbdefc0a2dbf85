"""Each ledger row carries the doctor and clinic of its charge's appointment, so that the revenue
report reads a year of payments without joining charges and appointments to every one of them.
The copy must always equal the appointment's: after booking, after a reschedule (which moves the
charge to the new appointment), for refunds, for the bulk-written demo data, and for the rows
that existed before the columns did (the migration's backfill)."""

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F, Q
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import PatientFactory, UserFactory
from billing.models import Payment
from billing.services import record_payment, refund_payment
from billing.tests.factories import ChargeFactory, PaymentFactory
from bookings.models import AppointmentType, PaymentMode
from bookings.scheduling import at
from bookings.services import book_appointment, reschedule_appointment
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
MONDAY = dt.date(2030, 1, 7)


def local(days, hour):
    return at(MONDAY + dt.timedelta(days=days), dt.time(hour), KOLKATA)


NOW = local(0, 8)


def misattributed():
    """Ledger rows whose doctor or clinic is not their charge's appointment's."""
    return Payment.objects.filter(
        ~Q(doctor=F("charge__appointment__doctor")) | ~Q(clinic=F("charge__appointment__clinic"))
    )


@pytest.fixture(autouse=True)
def rules(settings):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4
    settings.GST_RATE = "0.18"


@pytest.fixture
def appointment():
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    doctor = DoctorFactory(
        consultation_fee=Decimal("500.00"),
        registration_expires_on=MONDAY + dt.timedelta(days=365),
        department=DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20)),
    )
    for weekday in range(5):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(12)
        )
    patient = PatientFactory(with_account=True)
    return book_appointment(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=local(1, 9),
        appointment_type=AppointmentType.CONSULTATION,
        payment_mode=PaymentMode.AT_CLINIC,
        by=patient.user,
        now=NOW,
    )


def pay(charge, amount, by):
    return record_payment(charge=charge, amount=amount, mode=Payment.Mode.CASH, by=by)


def test_a_payment_carries_its_appointments_doctor_and_clinic(appointment, front_desk_user):
    payment = pay(appointment.charge, "590.00", front_desk_user)

    payment.refresh_from_db()
    assert (payment.doctor_id, payment.clinic_id) == (appointment.doctor_id, appointment.clinic_id)


def test_payments_before_and_after_a_reschedule_carry_the_new_appointments_doctor_and_clinic(
    appointment, front_desk_user
):
    before = pay(appointment.charge, "200.00", front_desk_user)
    new = reschedule_appointment(
        appointment=appointment, start=local(2, 10), by=appointment.patient.user, now=NOW
    )
    after = pay(new.charge, "390.00", front_desk_user)

    assert new.charge.ledger.count() == 2
    for entry in (before, after):
        entry.refresh_from_db()
        assert (entry.doctor_id, entry.clinic_id) == (new.doctor_id, new.clinic_id)
    assert not misattributed().exists()


def test_a_refund_carries_the_doctor_and_clinic_of_the_payment_it_returns(
    appointment, front_desk_user, clinic_admin_user
):
    payment = pay(appointment.charge, "590.00", front_desk_user)

    refund = refund_payment(payment=payment, amount="100.00", reason="Waived", by=clinic_admin_user)

    refund.refresh_from_db()
    assert (refund.doctor_id, refund.clinic_id) == (appointment.doctor_id, appointment.clinic_id)


def test_copying_the_doctor_and_clinic_reads_no_more_rows(
    appointment, front_desk_user, clinic_admin_user
):
    """The payment's charge is locked with its appointment joined; a refund copies its payment."""

    def appointment_reads(captured):
        return [q["sql"] for q in captured.captured_queries if "bookings_appointment" in q["sql"]]

    with CaptureQueriesContext(connection) as paying:
        payment = pay(appointment.charge, "590.00", front_desk_user)
    with CaptureQueriesContext(connection) as refunding:
        refund_payment(payment=payment, amount="90.00", reason="Waived", by=clinic_admin_user)

    assert len(appointment_reads(paying)) == 1
    assert 'FROM "billing_charge"' in appointment_reads(paying)[0]  # the charge's own read
    assert appointment_reads(refunding) == []


def test_a_ledger_row_takes_its_charges_doctor_and_clinic_whatever_it_is_given():
    charge = ChargeFactory()

    payment = PaymentFactory(charge=charge, doctor=DoctorFactory(), clinic=ClinicFactory())

    payment.refresh_from_db()
    assert (payment.doctor_id, payment.clinic_id) == (
        charge.appointment.doctor_id,
        charge.appointment.clinic_id,
    )


def test_the_demo_ledger_written_in_bulk_is_attributed_to_its_appointments():
    call_command("seed_demo", "--allow-without-debug", stdout=io.StringIO())

    assert Payment.objects.filter(kind=Payment.Kind.REFUND).exists()
    assert Payment.objects.count() > 100
    assert not misattributed().exists()


# Migrating back and forth needs the real schema outside a test transaction.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_copies_each_rows_doctor_and_clinic_from_its_appointment():
    executor = MigrationExecutor(connection)
    before = [("billing", "0004_online_reference_once")]
    # Every app's leaf: going back to billing 0004 also unapplies what depends on it
    # (waitlist, notifications), which must come back too.
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    appointments = [AppointmentFactory(), AppointmentFactory()]
    Charge = old_apps.get_model("billing", "Charge")
    OldPayment = old_apps.get_model("billing", "Payment")
    user = UserFactory()
    for number, appointment in enumerate(appointments, start=1):
        charge = Charge.objects.create(
            appointment_id=appointment.pk,
            fee="500.00",
            gst_rate="0.1800",
            gst="90.00",
            total="590.00",
            currency="INR",
        )
        OldPayment.objects.create(
            charge=charge,
            kind="payment",
            mode="cash",
            fee="500.00",
            gst="90.00",
            total="590.00",
            receipt_number=number,
            recorded_by_id=user.pk,
            recorded_at=NOW,
        )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(latest)

    copied = set(Payment.objects.values_list("doctor_id", "clinic_id"))
    assert copied == {(a.doctor_id, a.clinic_id) for a in appointments}
    assert not misattributed().exists()
