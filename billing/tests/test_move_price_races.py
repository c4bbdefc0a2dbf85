"""A move into another visit type racing a payment of the same visit, on PostgreSQL: real
threads, each with its own connection (skipped elsewhere; CI fails on skips).

Both take the charge's row lock, so one waits for the other: a payment first makes the move a
refusal (`visit_type_paid`, nothing of the move left); a move first makes the payment count
against the new price. Never a price changed under a payment, never a deadlock.
"""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from billing import services
from billing.models import Charge, Payment
from billing.selectors import money_summary
from billing.tests.test_move_price import (  # noqa: F401  (fixtures)
    book,
    clinic,
    doctor,
    move,
    patient,
    procedure,
    rules,
)
from bookings import signals
from bookings.models import Appointment, Status
from bookings.services import NotAllowed
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


@pytest.fixture(params=["keeping_the_type", "into_another_type"])
def change(request, procedure):
    return {} if request.param == "keeping_the_type" else {"visit_type": procedure}


@pytest.fixture
def pause_moves():
    """Makes a move wait, once billing's receiver has moved (or priced) the charge and so holds
    its lock, until `until_this()` holds."""
    waiting = {"until": lambda: True}
    moved_the_charge = threading.Event()

    def pause(**kwargs):
        moved_the_charge.set()
        until(waiting["until"])

    # Connected after billing's receiver (at start-up), so it runs after it.
    signals.appointment_rescheduled.connect(pause, dispatch_uid="test-pause-move")
    yield waiting, moved_the_charge
    signals.appointment_rescheduled.disconnect(dispatch_uid="test-pause-move")


def test_a_payment_during_a_move_counts_against_the_moved_charge(
    pause_moves, patient, doctor, clinic, front_desk_user, change
):
    old = book(patient, doctor, clinic)
    waiting, move_holds_charge = pause_moves
    payment_finished = threading.Event()
    payer_pid = []
    waiting["until"] = lambda: payment_finished.is_set() or waits_for_a_lock(payer_pid)

    def pay_meanwhile():
        payer_pid.append(backend_pid())
        try:
            assert move_holds_charge.wait(WAIT_SECONDS)
            return services.record_payment(
                charge=old.charge, amount="590.00", mode="cash", by=front_desk_user
            )
        finally:
            payment_finished.set()

    moved, paid = run_concurrently(lambda: move(old, front_desk_user, **change), pay_meanwhile)

    assert isinstance(moved, Appointment), moved
    assert isinstance(paid, Payment), paid
    summary = money_summary(moved)
    total = D("885.00") if change else D("590.00")
    assert (summary.charge.total, summary.paid, summary.due) == (
        total,
        D("590.00"),
        total - D("590.00"),
    )
    # The payment's pieces are shares of the moved charge's price (590/885 of 750.00 and of
    # 135.00 after a new type).
    assert (paid.fee, paid.gst) == (D("500.00"), D("90.00"))


def test_a_move_during_a_payment_waits_for_it(
    monkeypatch, patient, doctor, clinic, front_desk_user, change
):
    old = book(patient, doctor, clinic)
    payment_holds_charge = threading.Event()
    move_finished = threading.Event()
    mover_pid = []
    real_next_number = services._next_receipt_number

    # The payment takes its receipt number under the charge's lock.
    def number_then_pause():
        number = real_next_number()
        payment_holds_charge.set()
        until(lambda: move_finished.is_set() or waits_for_a_lock(mover_pid))
        return number

    monkeypatch.setattr(services, "_next_receipt_number", number_then_pause)

    def move_meanwhile():
        mover_pid.append(backend_pid())
        try:
            assert payment_holds_charge.wait(WAIT_SECONDS)
            return move(old, front_desk_user, **change)
        finally:
            move_finished.set()

    # A charge read on its own (the payment finds its doctor through the appointment's row);
    # the test above pays one read with its appointment.
    charge = Charge.objects.get(pk=old.charge.pk)
    paid, moved = run_concurrently(
        lambda: services.record_payment(
            charge=charge, amount="100.00", mode="cash", by=front_desk_user
        ),
        move_meanwhile,
    )

    assert isinstance(paid, Payment), paid
    charge = Charge.objects.get()
    if change:
        # The move saw the payment: a paid visit keeps its price, and the move is refused.
        assert isinstance(moved, NotAllowed), moved
        assert moved.code == "visit_type_paid"
        old.refresh_from_db()
        assert old.status == Status.BOOKED
        assert Appointment.objects.count() == 1
        assert (charge.appointment_id, charge.total) == (old.pk, D("590.00"))
    else:
        assert isinstance(moved, Appointment), moved
        assert (charge.appointment_id, charge.total) == (moved.pk, D("590.00"))
        assert list(charge.ledger.all()) == [paid]


def test_a_move_during_a_refund_waits_for_it(
    monkeypatch, patient, doctor, clinic, front_desk_user, clinic_admin_user, change
):
    old = book(patient, doctor, clinic)
    payment = services.record_payment(
        charge=old.charge, amount="590.00", mode="cash", by=front_desk_user
    )
    refund_holds_charge = threading.Event()
    move_finished = threading.Event()
    mover_pid = []
    real_next_number = services._next_receipt_number

    # The refund takes its receipt number under the payment's and the charge's locks.
    def number_then_pause():
        number = real_next_number()
        refund_holds_charge.set()
        until(lambda: move_finished.is_set() or waits_for_a_lock(mover_pid))
        return number

    monkeypatch.setattr(services, "_next_receipt_number", number_then_pause)

    def move_meanwhile():
        mover_pid.append(backend_pid())
        try:
            assert refund_holds_charge.wait(WAIT_SECONDS)
            return move(old, front_desk_user, **change)
        finally:
            move_finished.set()

    refunded, moved = run_concurrently(
        lambda: services.refund_payment(
            payment=payment, amount="100.00", reason="Overcharged", by=clinic_admin_user
        ),
        move_meanwhile,
    )

    assert isinstance(refunded, Payment), refunded
    if change:
        assert isinstance(moved, NotAllowed), moved  # paid for: the price stays
        assert moved.code == "visit_type_paid"
    else:
        assert isinstance(moved, Appointment), moved
        summary = money_summary(moved)
        assert (summary.charge.total, summary.paid, summary.refunded) == (
            D("590.00"),
            D("590.00"),
            D("100.00"),
        )
