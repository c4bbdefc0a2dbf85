"""Concurrent refunds and payments on PostgreSQL: real threads, each with its own connection.

SQLite serialises whole transactions and ignores SELECT ... FOR UPDATE, so these tests only mean
something on PostgreSQL; elsewhere they are skipped (and CI, which runs PostgreSQL, fails on skips).

Transactional tests empty the tables after each test, the rows made by data migrations included
(the receipt sequence, the roles, even the permissions after a serialized test such as the browser
tests): serialized_rollback puts them back before each test.
"""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from billing import services
from billing.models import Charge, Payment, ReceiptSequence
from billing.services import BillingError, record_payment, refund_payment
from billing.tests.factories import ChargeFactory
from bookings.services import cancel_appointment
from clinic.tests.concurrency import (
    WAIT_SECONDS,
    backend_pid,
    run_concurrently,
    until,
    waits_for_a_lock,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

D = Decimal


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency tests need PostgreSQL (set DATABASE_URL)")


def last_receipt_number():
    return ReceiptSequence.objects.get(name=services.RECEIPTS).last_number


def clinic_admin():
    admin = UserFactory(roles=[Role.CLINIC_ADMIN], is_staff=True)
    assert admin.has_perm("billing.refund_payment")  # the role's grant is back in place
    return admin


@pytest.fixture
def desk(front_desk_user):
    return front_desk_user


def pay(charge, amount, by):
    return record_payment(charge=charge, amount=amount, mode=Payment.Mode.CASH, by=by)


def only(outcomes, kind):
    unexpected = [o for o in outcomes if not isinstance(o, (Payment, BillingError))]
    assert not unexpected, unexpected
    return [o for o in outcomes if isinstance(o, kind)]


# --- Refunds ----------------------------------------------------------------------------------


def test_admins_refunding_the_whole_payment_at_once_refund_it_once(desk):
    charge = ChargeFactory()
    payment = pay(charge, "590.00", desk)
    admins = [clinic_admin() for _ in range(6)]

    outcomes = run_concurrently(
        *(
            lambda admin=admin: refund_payment(
                payment=payment, amount="590.00", reason="Doctor unwell", by=admin
            )
            for admin in admins
        )
    )

    [refund] = only(outcomes, Payment)
    refused = only(outcomes, BillingError)
    assert len(refused) == len(admins) - 1
    assert all("refunded in full already" in str(error) for error in refused)
    assert list(Payment.objects.refunds()) == [refund]
    assert Payment.objects.refunds().total_amount() == payment.total


def test_admins_refunding_parts_at_once_never_refund_more_than_was_paid(desk):
    charge = ChargeFactory()
    payment = pay(charge, "590.00", desk)
    admins = [clinic_admin() for _ in range(8)]

    outcomes = run_concurrently(
        *(
            lambda admin=admin: refund_payment(
                payment=payment, amount="200.00", reason="Part", by=admin
            )
            for admin in admins
        )
    )

    assert len(only(outcomes, Payment)) == 2  # 400.00; a third 200.00 would exceed 590.00
    assert len(only(outcomes, BillingError)) == 6
    assert Payment.objects.refunds().total_amount() == D("400.00")
    assert services.refundable(payment) == D("190.00")


# --- Payments ---------------------------------------------------------------------------------


def test_payments_on_one_charge_at_once_cannot_overpay(desk):
    charge = ChargeFactory()  # 590.00
    desks = [UserFactory(roles=[Role.FRONT_DESK], is_staff=True) for _ in range(8)]

    outcomes = run_concurrently(*(lambda by=by: pay(charge, "200.00", by) for by in desks))

    assert len(only(outcomes, Payment)) == 2
    assert len(only(outcomes, BillingError)) == 6
    paid, refunded, due = services.balance(Charge.objects.get(pk=charge.pk))
    assert (paid, refunded, due) == (D("400.00"), D("0"), D("190.00"))


def test_receipt_numbers_stay_unique_and_gapless_under_concurrency(desk):
    """Payments on eight charges, two of them paid twice at once (the second refused), and
    refunds of earlier payments, all at once: every issued number is used, once."""
    start = last_receipt_number()
    charges = [ChargeFactory() for _ in range(8)]
    earlier = [pay(ChargeFactory(), "590.00", desk) for _ in range(3)]
    admin = clinic_admin()
    base = last_receipt_number()
    assert base == start + 3
    tasks = [lambda charge=charge: pay(charge, "590.00", desk) for charge in charges]
    tasks += [lambda: pay(charges[0], "590.00", desk), lambda: pay(charges[1], "590.00", desk)]
    tasks += [
        lambda payment=payment: refund_payment(
            payment=payment, amount="590.00", reason="x", by=admin
        )
        for payment in earlier
    ]

    outcomes = run_concurrently(*tasks)

    issued = only(outcomes, Payment)
    assert len(issued) == 11
    assert len(only(outcomes, BillingError)) == 2
    numbers = sorted(entry.receipt_number for entry in issued)
    assert numbers == list(range(base + 1, base + 12))
    assert last_receipt_number() == base + 11
    assert Payment.objects.count() == 14


# --- No deadlocks between billing and bookings ------------------------------------------------


def test_a_payment_and_a_cancellation_of_the_same_appointment_do_not_deadlock(monkeypatch, desk):
    """The cancellation locks the appointment, then (billing's receiver) its charge. A payment
    that locked the charge and then waited for the appointment would deadlock with it (PostgreSQL
    kills one: a server error). Here the cancellation pauses holding the appointment, until the
    payment has finished or is seen waiting for a lock."""
    charge = ChargeFactory()
    appointment = charge.appointment
    cancel_holds_appointment = threading.Event()
    payment_finished = threading.Event()
    payer_pid = []
    real_flag_refund_due = services.flag_refund_due

    def pause_then_flag(*, appointment):
        cancel_holds_appointment.set()
        until(lambda: payment_finished.is_set() or waits_for_a_lock(payer_pid))
        return real_flag_refund_due(appointment=appointment)

    monkeypatch.setattr(services, "flag_refund_due", pause_then_flag)

    def cancel():
        return cancel_appointment(appointment=appointment, by=desk)

    def pay_meanwhile():
        payer_pid.append(backend_pid())
        try:
            assert cancel_holds_appointment.wait(WAIT_SECONDS)
            return pay(charge, "590.00", desk)
        finally:
            payment_finished.set()

    cancelled, paid = run_concurrently(cancel, pay_meanwhile)

    assert not isinstance(cancelled, BaseException), cancelled
    # The payment read the appointment before the cancellation committed, so it was taken; the
    # cancellation then saw it and flagged the refund due. Either way, nothing is lost.
    assert isinstance(paid, Payment), paid
    charge.refresh_from_db()
    assert charge.refund_due


def test_a_refund_and_a_payment_on_the_same_charge_do_not_deadlock(monkeypatch, desk):
    """Both take the charge's lock and the receipt number's. A refund that took the number first
    and then waited for the charge would deadlock with a payment holding the charge and waiting
    for the number. Here the refund pauses once it has its number, until the payment has finished
    or is seen waiting for a lock."""
    charge = ChargeFactory()
    first = pay(charge, "100.00", desk)
    admin = clinic_admin()
    refund_has_number = threading.Event()
    payment_finished = threading.Event()
    payer_pid = []
    refunder = []
    real_next_number = services._next_receipt_number

    def next_number_then_pause():
        number = real_next_number()
        if threading.get_ident() in refunder:
            refund_has_number.set()
            until(lambda: payment_finished.is_set() or waits_for_a_lock(payer_pid))
        return number

    monkeypatch.setattr(services, "_next_receipt_number", next_number_then_pause)

    def refund():
        refunder.append(threading.get_ident())
        return refund_payment(payment=first, amount="100.00", reason="Wrong card", by=admin)

    def pay_meanwhile():
        payer_pid.append(backend_pid())
        try:
            assert refund_has_number.wait(WAIT_SECONDS)
            return pay(charge, "490.00", desk)
        finally:
            payment_finished.set()

    refunded, paid = run_concurrently(refund, pay_meanwhile)

    assert isinstance(refunded, Payment), refunded
    assert isinstance(paid, Payment), paid
    assert services.balance(Charge.objects.get(pk=charge.pk)) == (
        D("590.00"),
        D("100.00"),
        D("0.00"),
    )
    assert sorted([refunded.receipt_number, paid.receipt_number]) == [
        first.receipt_number + 1,
        first.receipt_number + 2,
    ]


# --- One gateway confirmation delivered twice at once --------------------------------------------


def test_one_online_payment_confirmed_twice_at_once_is_recorded_once(desk):
    charge = ChargeFactory()

    def confirm():
        return record_payment(
            charge=charge,
            amount="100.00",
            mode=Payment.Mode.ONLINE,
            reference="gw_pay_7731",
            by=desk,
        )

    outcomes = run_concurrently(*[confirm] * 6)

    [recorded] = only(outcomes, Payment)
    refused = only(outcomes, BillingError)
    assert len(refused) == 5
    assert {error.code for error in refused} == {"already_recorded"}
    assert Payment.objects.filter(reference="gw_pay_7731").count() == 1
    assert recorded.total == D("100.00")


def test_one_online_reference_confirmed_for_two_charges_at_once_is_recorded_once(desk):
    first, second = ChargeFactory(), ChargeFactory()

    outcomes = run_concurrently(
        *(
            lambda charge=charge: record_payment(
                charge=charge,
                amount="100.00",
                mode=Payment.Mode.ONLINE,
                reference="gw_pay_9902",
                by=desk,
            )
            for charge in (first, second, first, second)
        )
    )

    assert len(only(outcomes, Payment)) == 1
    assert {error.code for error in only(outcomes, BillingError)} == {"already_recorded"}
