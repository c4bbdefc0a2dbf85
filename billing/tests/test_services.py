"""Charges, payments and refunds: the price fixed at booking, the write-once ledger, receipt
numbers, who may refund and how much, and refunds due on paid cancellations.

Appointments are booked through the booking services with a fixed "now" (a Monday morning in
Kolkata), as bookings' own tests do, so the charge comes from the real signal.
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from accounts.tests.factories import PatientFactory
from billing import services
from billing.models import Charge, Payment, ReceiptSequence
from billing.selectors import money_summary
from billing.services import BillingError, record_payment, refund_payment
from billing.tests.factories import ChargeFactory
from bookings import signals
from bookings.models import Appointment, AppointmentType, PaymentMode
from bookings.scheduling import at
from bookings.services import (
    SlotUnavailable,
    book_appointment,
    cancel_appointment,
    reschedule_appointment,
)
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
KOLKATA = ZoneInfo("Asia/Kolkata")
MONDAY = dt.date(2030, 1, 7)


def local(days, hour, minute=0):
    return at(MONDAY + dt.timedelta(days=days), dt.time(hour, minute), KOLKATA)


NOW = local(0, 8)
TUESDAY_9 = local(1, 9)


@pytest.fixture(autouse=True)
def rules(settings):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4
    settings.GST_RATE = "0.18"
    settings.CURRENCY = "INR"
    return settings


@pytest.fixture
def clinic():
    return ClinicFactory(timezone="Asia/Kolkata")


@pytest.fixture
def doctor(clinic):
    doctor = DoctorFactory(
        consultation_fee=D("500.00"),
        registration_expires_on=MONDAY + dt.timedelta(days=365),
        department=DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20)),
    )
    for weekday in range(5):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(12)
        )
    return doctor


@pytest.fixture
def patient():
    return PatientFactory(with_account=True)


def book(patient, doctor, clinic, start=TUESDAY_9):
    return book_appointment(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=start,
        appointment_type=AppointmentType.CONSULTATION,
        payment_mode=PaymentMode.AT_CLINIC,
        by=patient.user,
        now=NOW,
    )


@pytest.fixture
def appointment(patient, doctor, clinic):
    return book(patient, doctor, clinic)


@pytest.fixture
def charge(appointment):
    return appointment.charge


def pay(charge, amount, by, mode=Payment.Mode.CASH, **kwargs):
    return record_payment(charge=charge, amount=amount, mode=mode, by=by, **kwargs)


def last_receipt_number():
    return ReceiptSequence.objects.get(name=services.RECEIPTS).last_number


def net_pieces(charge):
    """(fee, GST) paid net of refunds, from the ledger's pieces."""
    fee = gst = D("0.00")
    for entry in Payment.objects.filter(charge=charge):
        sign = -1 if entry.is_refund else 1
        fee += sign * entry.fee
        gst += sign * entry.gst
    return fee, gst


# --- The charge: fixed at booking -------------------------------------------------------------


def test_booking_opens_a_charge_with_the_doctors_fee_and_gst_at_the_configured_rate(appointment):
    charge = Charge.objects.get(appointment=appointment)
    assert (charge.fee, charge.gst, charge.total) == (D("500.00"), D("90.00"), D("590.00"))
    assert charge.gst_rate == D("0.18")
    assert charge.currency == "INR"
    assert not charge.refund_due
    assert not charge.ledger.exists()


def test_the_gst_is_rounded_half_up_on_an_odd_fee(rules, patient, doctor, clinic):
    doctor.consultation_fee = D("250.25")
    doctor.save()
    charge = book(patient, doctor, clinic).charge
    assert (charge.gst, charge.total) == (D("45.05"), D("295.30"))


def test_the_gst_rate_comes_from_settings_at_booking(rules, patient, doctor, clinic):
    rules.GST_RATE = "0.125"
    rules.CURRENCY = "USD"
    doctor.consultation_fee = D("100.10")
    doctor.save()
    charge = Charge.objects.get(appointment=book(patient, doctor, clinic))
    assert charge.gst_rate == D("0.125")
    assert (charge.gst, charge.total, charge.currency) == (D("12.51"), D("112.61"), "USD")
    assert str(charge.gst_percent) == "12.5"


@pytest.mark.parametrize(
    ("rate", "shown"),
    [("0.18", "18"), ("0.10", "10"), ("0.05", "5"), ("0", "0"), ("0.125", "12.5")],
)
def test_the_gst_percent_reads_as_people_write_it(rate, shown):
    charge = ChargeFactory(gst_rate=D(rate))
    charge.refresh_from_db()
    assert str(charge.gst_percent) == shown


def test_a_later_fee_or_rate_change_leaves_the_charge_alone(rules, appointment, doctor):
    doctor.consultation_fee = D("900.00")
    doctor.save()
    rules.GST_RATE = "0.28"
    charge = Charge.objects.get(appointment=appointment)
    assert (charge.fee, charge.gst_rate, charge.total) == (D("500.00"), D("0.18"), D("590.00"))


def test_a_reschedule_carries_the_charge_and_its_payments_to_the_new_appointment(
    appointment, charge, patient, front_desk_user
):
    payment = pay(charge, "200.00", front_desk_user)

    new = reschedule_appointment(
        appointment=appointment, start=local(1, 10), by=patient.user, now=NOW
    )

    moved = Charge.objects.get(appointment=new)
    assert moved.pk == charge.pk
    assert list(moved.ledger.all()) == [payment]
    assert not Charge.objects.filter(appointment=appointment).exists()
    assert not moved.refund_due  # a move is not a cancellation
    summary = money_summary(new)
    assert (summary.paid, summary.due) == (D("200.00"), D("390.00"))
    # And the rest can be paid on the new appointment.
    pay(moved, "390.00", front_desk_user)
    assert money_summary(new).due == 0


def test_a_booking_rolled_back_after_the_charge_leaves_no_charge(patient, doctor, clinic):
    class LaterFailure(Exception):
        pass

    def fail(sender, **kwargs):
        raise LaterFailure

    # Connected after billing's receiver, so the charge exists when the booking fails.
    signals.appointment_booked.connect(fail, dispatch_uid="test-fail-after-charge")
    try:
        with pytest.raises(LaterFailure):
            book(patient, doctor, clinic)
    finally:
        signals.appointment_booked.disconnect(dispatch_uid="test-fail-after-charge")

    assert not Appointment.objects.exists()
    assert not Charge.objects.exists()


def test_a_refused_booking_opens_no_charge(appointment, doctor, clinic):
    with pytest.raises(SlotUnavailable):
        book(PatientFactory(with_account=True), doctor, clinic)  # the same time
    assert Charge.objects.count() == 1


# --- Recording payments ---------------------------------------------------------------------


def test_a_full_payment_is_split_like_the_charge(charge, front_desk_user):
    payment = pay(charge, D("590.00"), front_desk_user, mode=Payment.Mode.CARD, reference="SLIP-1")
    payment.refresh_from_db()
    assert payment.kind == Payment.Kind.PAYMENT
    assert (payment.fee, payment.gst, payment.total) == (D("500.00"), D("90.00"), D("590.00"))
    assert (payment.mode, payment.reference) == (Payment.Mode.CARD, "SLIP-1")
    assert payment.recorded_by == front_desk_user
    assert services.balance(charge) == (D("590.00"), D("0"), D("0.00"))


def test_part_payments_add_up_to_the_charges_fee_and_gst(charge, front_desk_user):
    amounts = ["100.00", "0.01", "333.33", "56.66", "100.00"]
    payments = [pay(charge, amount, front_desk_user) for amount in amounts]

    assert sum(p.total for p in payments) == charge.total
    assert sum(p.fee for p in payments) == charge.fee
    assert sum(p.gst for p in payments) == charge.gst
    assert all(p.fee >= 0 and p.gst >= 0 and p.fee + p.gst == p.total for p in payments)
    assert payments[0].fee == D("84.75")  # 100 x 500/590 = 84.745... half-up


def test_part_payments_add_up_even_after_a_part_was_refunded_in_between(
    charge, front_desk_user, clinic_admin_user
):
    """Pieces are taken on the running sum of payments, while a refund takes back one payment's
    own pieces: the payments still add up to the charge's pieces, the refund to its payment's."""
    pay(charge, "100.00", front_desk_user)  # fee 84.75
    second = pay(charge, "100.00", front_desk_user)  # fee 84.74
    refund = refund_payment(
        payment=second, amount="100.00", reason="Goodwill", by=clinic_admin_user
    )

    pay(charge, "390.00", front_desk_user, mode=Payment.Mode.UPI, reference="UPI-9")

    assert services.balance(charge)[2] == 0
    assert net_pieces(charge) == (charge.fee - refund.fee, charge.gst - refund.gst)
    assert (refund.fee, refund.gst) == (second.fee, second.gst)


def test_paying_more_than_is_due_is_refused_and_saves_nothing(charge, front_desk_user):
    with pytest.raises(BillingError, match=r"more than is due. INR 590\.00 is left"):
        pay(charge, "590.01", front_desk_user)
    pay(charge, "500.00", front_desk_user)
    with pytest.raises(BillingError, match=r"INR 90\.00 is left"):
        pay(charge, "100.00", front_desk_user)
    pay(charge, "90.00", front_desk_user)
    with pytest.raises(BillingError, match="Nothing is due"):
        pay(charge, "0.01", front_desk_user)
    assert charge.ledger.count() == 2


def test_a_cancelled_appointment_cannot_be_paid(appointment, charge, front_desk_user):
    cancel_appointment(appointment=appointment, by=front_desk_user, now=NOW)
    with pytest.raises(BillingError, match="cancelled"):
        pay(charge, "590.00", front_desk_user)
    assert not charge.ledger.exists()


@pytest.mark.parametrize(
    "amount",
    [
        "0",
        "0.00",
        "0.004",
        "-1",
        D("-590.00"),
        "",
        "  ",
        "abc",
        "5OO",
        None,
        "NaN",
        "-NaN",
        "sNaN",
        "Infinity",
        "1e400",
        [],
        object(),
    ],
)
def test_zero_negative_or_garbage_amounts_are_refused(charge, front_desk_user, amount):
    before = last_receipt_number()
    with pytest.raises(BillingError):
        pay(charge, amount, front_desk_user)
    assert not charge.ledger.exists()
    assert last_receipt_number() == before


def test_an_unknown_mode_is_refused(charge, front_desk_user):
    with pytest.raises(BillingError, match="how the patient paid"):
        pay(charge, "590.00", front_desk_user, mode="cheque")
    assert not charge.ledger.exists()


def test_receipt_numbers_are_consecutive_and_a_failed_payment_takes_none(
    patient, doctor, clinic, charge, front_desk_user, clinic_admin_user
):
    other = book(patient, doctor, clinic, local(1, 10)).charge
    start = last_receipt_number()

    first = pay(charge, "100.00", front_desk_user)
    with pytest.raises(BillingError):
        pay(charge, "1000.00", front_desk_user)  # over
    second = pay(other, "590.00", front_desk_user)
    with pytest.raises(BillingError):
        refund_payment(payment=first, amount="100.01", reason="Too much", by=clinic_admin_user)
    refund = refund_payment(payment=first, amount="100.00", reason="Wrong", by=clinic_admin_user)
    third = pay(charge, "490.00", front_desk_user)

    numbers = [
        first.receipt_number,
        second.receipt_number,
        refund.receipt_number,
        third.receipt_number,
    ]
    assert numbers == [start + 1, start + 2, start + 3, start + 4]
    assert last_receipt_number() == start + 4
    assert first.receipt_label == f"R-{start + 1:06d}"


def test_a_payment_that_fails_after_taking_its_number_gives_it_back(
    charge, front_desk_user, monkeypatch
):
    """The number is taken, then writing the payment fails: the payment's transaction (durable,
    so nothing outside it can roll it back later) gives the number back with it."""
    start = last_receipt_number()

    def fail(**fields):
        assert fields["receipt_number"] == start + 1
        raise RuntimeError("failed after the receipt number was taken")

    with monkeypatch.context() as patched:
        patched.setattr(Payment.objects, "create", fail)
        with pytest.raises(RuntimeError, match="receipt number was taken"):
            pay(charge, "590.00", front_desk_user)
    assert pay(charge, "590.00", front_desk_user).receipt_number == start + 1


# --- The ledger is written once ---------------------------------------------------------------


def test_a_ledger_row_cannot_be_changed_or_deleted(charge, front_desk_user):
    payment = pay(charge, "590.00", front_desk_user)

    payment.total = D("1.00")
    with pytest.raises(ValidationError):
        payment.save()
    with pytest.raises(ValidationError):
        payment.save(update_fields=["total"])
    with pytest.raises(ValidationError):
        payment.delete()

    assert Payment.objects.get(pk=payment.pk).total == D("590.00")


def test_a_ledger_row_cannot_be_changed_or_deleted_in_bulk_either(charge, front_desk_user):
    payment = pay(charge, "590.00", front_desk_user)

    with pytest.raises(ValidationError):
        Payment.objects.filter(pk=payment.pk).update(total=D("1.00"), fee=D("1.00"), gst=0)
    with pytest.raises(ValidationError):
        Payment.objects.filter(pk=payment.pk).delete()
    with pytest.raises(ValidationError):
        charge.ledger.all().delete()

    assert Payment.objects.get(pk=payment.pk).total == D("590.00")


# --- Refunds ----------------------------------------------------------------------------------


@pytest.fixture
def paid(charge, front_desk_user):
    return pay(charge, "590.00", front_desk_user, mode=Payment.Mode.CARD, reference="SLIP-7")


@pytest.mark.parametrize("user", ["patient_user", "doctor_user", "front_desk_user"])
def test_only_clinic_admins_may_refund(request, paid, user):
    with pytest.raises(BillingError, match="Only clinic admins"):
        refund_payment(
            payment=paid, amount="590.00", reason="Asked", by=request.getfixturevalue(user)
        )
    assert not Payment.objects.refunds().exists()


def test_a_full_refund_is_a_new_row_pointing_at_the_payment(paid, clinic_admin_user):
    refund = refund_payment(
        payment=paid, amount="590.00", reason="  Doctor unwell  ", by=clinic_admin_user
    )
    refund.refresh_from_db()
    assert refund.pk != paid.pk
    assert (refund.kind, refund.refund_of, refund.mode) == (Payment.Kind.REFUND, paid, "card")
    assert (refund.fee, refund.gst, refund.total) == (D("500.00"), D("90.00"), D("590.00"))
    assert refund.reason == "Doctor unwell"
    assert refund.recorded_by == clinic_admin_user
    paid.refresh_from_db()
    assert (paid.kind, paid.total) == (Payment.Kind.PAYMENT, D("590.00"))  # untouched
    assert services.refundable(paid) == 0


def test_part_refunds_add_up_to_the_payments_fee_and_gst(paid, clinic_admin_user):
    amounts = ["100.00", "0.01", "245.33", "244.66"]
    refunds = [
        refund_payment(payment=paid, amount=a, reason="In parts", by=clinic_admin_user)
        for a in amounts
    ]
    assert sum(r.total for r in refunds) == paid.total
    assert sum(r.fee for r in refunds) == paid.fee
    assert sum(r.gst for r in refunds) == paid.gst
    assert all(r.fee >= 0 and r.gst >= 0 for r in refunds)


def test_never_more_than_was_paid_net_of_earlier_refunds(paid, clinic_admin_user):
    with pytest.raises(BillingError, match=r"At most INR 590\.00"):
        refund_payment(payment=paid, amount="590.01", reason="x", by=clinic_admin_user)
    refund_payment(payment=paid, amount="400.00", reason="x", by=clinic_admin_user)
    with pytest.raises(BillingError, match=r"At most INR 190\.00"):
        refund_payment(payment=paid, amount="190.01", reason="x", by=clinic_admin_user)
    refund_payment(payment=paid, amount="190.00", reason="x", by=clinic_admin_user)
    with pytest.raises(BillingError, match="refunded in full already"):
        refund_payment(payment=paid, amount="0.01", reason="x", by=clinic_admin_user)
    assert Payment.objects.refunds().total_amount() == D("590.00")


def test_refunds_are_limited_per_payment_not_per_charge(charge, front_desk_user, clinic_admin_user):
    first = pay(charge, "90.00", front_desk_user)
    pay(charge, "500.00", front_desk_user)
    with pytest.raises(BillingError, match=r"At most INR 90\.00"):
        refund_payment(payment=first, amount="100.00", reason="x", by=clinic_admin_user)


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_refund_needs_a_reason(paid, clinic_admin_user, reason):
    with pytest.raises(BillingError, match="reason"):
        refund_payment(payment=paid, amount="10.00", reason=reason, by=clinic_admin_user)
    assert not Payment.objects.refunds().exists()


@pytest.mark.parametrize("amount", ["0", "-10", "abc", "NaN", None])
def test_a_refund_of_nothing_or_garbage_is_refused(paid, clinic_admin_user, amount):
    with pytest.raises(BillingError):
        refund_payment(payment=paid, amount=amount, reason="x", by=clinic_admin_user)
    assert not Payment.objects.refunds().exists()


def test_a_refund_cannot_be_refunded(paid, clinic_admin_user):
    refund = refund_payment(payment=paid, amount="100.00", reason="x", by=clinic_admin_user)
    with pytest.raises(BillingError, match="not a refund"):
        refund_payment(payment=refund, amount="50.00", reason="x", by=clinic_admin_user)
    assert Payment.objects.refunds().count() == 1


def test_a_refunded_amount_is_not_due_again_on_an_open_appointment(
    charge, paid, front_desk_user, clinic_admin_user
):
    refund_payment(payment=paid, amount="90.00", reason="Goodwill", by=clinic_admin_user)
    assert services.balance(charge) == (D("590.00"), D("90.00"), D("0.00"))
    with pytest.raises(BillingError, match="Nothing is due"):
        pay(charge, "90.00", front_desk_user)


# --- Refund due on a paid cancellation --------------------------------------------------------


def test_cancelling_a_paid_appointment_flags_a_refund_due(
    appointment, charge, paid, front_desk_user
):
    cancel_appointment(appointment=appointment, by=front_desk_user, now=NOW)
    charge.refresh_from_db()
    assert charge.refund_due


def test_cancelling_a_part_paid_appointment_flags_a_refund_due(
    appointment, charge, patient, front_desk_user
):
    pay(charge, "1.00", front_desk_user)
    cancel_appointment(appointment=appointment, by=patient.user, now=NOW)
    charge.refresh_from_db()
    assert charge.refund_due


def test_cancelling_an_unpaid_appointment_flags_nothing(appointment, charge, patient):
    cancel_appointment(appointment=appointment, by=patient.user, now=NOW)
    charge.refresh_from_db()
    assert not charge.refund_due


def test_cancelling_an_appointment_refunded_already_flags_nothing(
    appointment, charge, paid, front_desk_user, clinic_admin_user
):
    refund_payment(payment=paid, amount="590.00", reason="x", by=clinic_admin_user)
    cancel_appointment(appointment=appointment, by=front_desk_user, now=NOW)
    charge.refresh_from_db()
    assert not charge.refund_due


def test_a_full_refund_clears_the_refund_due_and_a_part_one_does_not(
    appointment, charge, paid, front_desk_user, clinic_admin_user
):
    cancel_appointment(appointment=appointment, by=front_desk_user, now=NOW)

    refund_payment(payment=paid, amount="500.00", reason="Cancelled", by=clinic_admin_user)
    charge.refresh_from_db()
    assert charge.refund_due

    refund_payment(payment=paid, amount="90.00", reason="Cancelled", by=clinic_admin_user)
    charge.refresh_from_db()
    assert not charge.refund_due


def test_the_same_online_payment_reported_twice_is_recorded_once(db):
    from accounts.tests.factories import UserFactory
    from billing import services as billing_services
    from billing.tests.factories import ChargeFactory

    charge = ChargeFactory(total=D("590.00"), fee=D("500.00"), gst=D("90.00"))
    user = UserFactory()
    billing_services.record_payment(
        charge=charge, amount=D("100.00"), mode="online", reference="pay_ABC", by=user
    )
    with pytest.raises(billing_services.BillingError, match="recorded already"):
        billing_services.record_payment(
            charge=charge, amount=D("100.00"), mode="online", reference="pay_ABC", by=user
        )
    assert charge.ledger.count() == 1


def test_a_flushed_database_gets_its_receipt_sequence_back(db):
    from accounts.tests.factories import UserFactory
    from billing import services as billing_services
    from billing.models import ReceiptSequence
    from billing.tests.factories import ChargeFactory, PaymentFactory

    ReceiptSequence.objects.all().delete()
    PaymentFactory(receipt_number=41)
    charge = ChargeFactory()
    payment = billing_services.record_payment(
        charge=charge, amount=D("10.00"), mode="cash", by=UserFactory()
    )
    assert payment.receipt_number == 42


def test_too_long_references_and_reasons_are_refused_with_a_message(db, clinic_admin_user):
    from billing import services as billing_services
    from billing.tests.factories import ChargeFactory, PaymentFactory

    with pytest.raises(billing_services.BillingError, match="too long"):
        billing_services.record_payment(
            charge=ChargeFactory(),
            amount=D("1.00"),
            mode="card",
            reference="x" * 101,
            by=clinic_admin_user,
        )
    with pytest.raises(billing_services.BillingError, match="too long"):
        billing_services.refund_payment(
            payment=PaymentFactory(), amount=D("1.00"), reason="y" * 201, by=clinic_admin_user
        )
