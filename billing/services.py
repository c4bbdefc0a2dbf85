"""Charges, payments and refunds. Each runs in one transaction under a row lock and raises a
BillingError with a message for the person at the screen."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from billing import signals
from billing.models import Charge, Payment, ReceiptSequence
from billing.money import as_percent, gst_on, share_of, to_money
from billing.selectors import amount_due
from bookings.models import Appointment, Status
from bookings.services import NotAllowed
from doctors.models import Doctor

RECEIPTS = "receipts"


class BillingError(Exception):
    """A billing rule said no; the message is written for the person at the screen, and `code`
    names the rule for programs (the API's error codes, listed in api/errors.py)."""

    def __init__(self, message="", *, code="billing_refused"):
        super().__init__(message)
        self.code = code


def gst_rate():
    return Decimal(settings.GST_RATE)


@dataclass(frozen=True)
class Quote:
    """The price of a consultation with a doctor as it would be charged now."""

    fee: Decimal
    gst_rate: Decimal
    gst: Decimal
    total: Decimal
    currency: str

    @property
    def gst_percent(self):
        return as_percent(self.gst_rate)


def quote(*, doctor, visit_type=None):
    """The current fee plus GST at the current rate: what a booking now is charged. The fee is
    the visit type's where it has one, else the doctor's."""
    fee = to_money(doctor.consultation_fee if visit_type is None else visit_type.fee_for(doctor))
    rate = gst_rate()
    gst = gst_on(fee, rate)
    return Quote(fee=fee, gst_rate=rate, gst=gst, total=fee + gst, currency=settings.CURRENCY)


def open_charge(*, appointment):
    """Fixes the appointment's price now, as quoted on the confirm page."""
    price = quote(doctor=appointment.doctor, visit_type=appointment.visit_type)
    return Charge.objects.create(
        appointment=appointment,
        fee=price.fee,
        gst_rate=price.gst_rate,
        gst=price.gst,
        total=price.total,
        currency=price.currency,
    )


VISIT_TYPE_PAID = gettext_lazy(
    "This visit has been paid for at its current price, and the new type of visit costs "
    "another amount, so it cannot be changed with a move. Move it keeping its type, or cancel "
    "it (the payment is then flagged for a refund) and book the new type."
)


def _price_differs(charge, price):
    return (charge.fee, charge.gst_rate, charge.gst, charge.total, charge.currency) != (
        price.fee,
        price.gst_rate,
        price.gst,
        price.total,
        price.currency,
    )


def move_charge(*, old, new):
    """A moved appointment keeps its charge and its payments.

    A move into another visit type (or out of one) is charged as a booking of the new type
    would be now: the charge is quoted again (fee, GST at the current rate, total), written with
    save() so that the audit trail records the old and new figures. That holds only while no
    payment has been recorded against the charge: the ledger's rows split each payment into fee
    and GST as shares of the charge's price, and an active visit has no way to give back money
    paid above a lower price (a refund is due only on a cancelled one). So a paid visit whose
    new type costs another amount refuses the move with NotAllowed (code `visit_type_paid`),
    which rolls the whole move back; the desk moves it keeping its type, or cancels it (the
    payment is flagged for a refund) and books the new type. A new type at the same price moves
    like any other.
    """
    if new.visit_type_id != old.visit_type_id:
        # The charge's row after the old appointment's, as a cancellation takes them.
        charge = Charge.objects.select_for_update().filter(appointment=old).first()
        price = quote(doctor=new.doctor, visit_type=new.visit_type)
        if charge is not None and _price_differs(charge, price):
            if charge.ledger.payments().exists():
                raise NotAllowed(VISIT_TYPE_PAID, code="visit_type_paid")
            charge.appointment = new
            charge.fee, charge.gst_rate, charge.gst = price.fee, price.gst_rate, price.gst
            charge.total, charge.currency = price.total, price.currency
            charge.save(
                update_fields=["appointment", "fee", "gst_rate", "gst", "total", "currency"]
            )
            return
    Charge.objects.filter(appointment=old).update(appointment=new)


def _next_receipt_number():
    # The migration makes the row; a database emptied since (a flushed test database, say) gets
    # it back here, starting after the highest number the ledger already holds.
    if not ReceiptSequence.objects.filter(name=RECEIPTS).exists():
        highest = Payment.objects.aggregate(highest=Max("receipt_number"))["highest"] or 0
        ReceiptSequence.objects.get_or_create(name=RECEIPTS, defaults={"last_number": highest})
    sequence = ReceiptSequence.objects.select_for_update().get(name=RECEIPTS)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return sequence.last_number


def _amount(value):
    try:
        amount = to_money(value)
    except (InvalidOperation, TypeError, ValueError):
        raise BillingError(
            gettext("Enter the amount as a number, such as 590.00."), code="invalid_amount"
        ) from None
    if not amount.is_finite():  # NaN would pass to_money and fail the comparisons below
        raise BillingError(
            gettext("Enter the amount as a number, such as 590.00."), code="invalid_amount"
        )
    if amount <= 0:
        raise BillingError(gettext("The amount must be more than zero."), code="invalid_amount")
    return amount


def balance(charge):
    """(paid, refunded, due) for a charge, from its ledger."""
    paid = charge.ledger.payments().total_amount()
    refunded = charge.ledger.refunds().total_amount()
    return paid, refunded, amount_due(total=charge.total, paid=paid)


def record_payment(*, charge, amount, mode, reference="", by, now=None):
    """Money received for a charge; never more than is still due."""
    amount = _amount(amount)
    if mode not in Payment.Mode.values:
        raise BillingError(gettext("Choose how the patient paid."), code="invalid_mode")
    if len(reference) > Payment._meta.get_field("reference").max_length:
        raise BillingError(
            gettext("The reference is too long (100 characters at most)."), code="too_long"
        )
    try:
        return _record_payment(
            charge=charge, amount=amount, mode=mode, reference=reference, by=by, now=now
        )
    except IntegrityError as error:
        # The same gateway reference recorded a moment ago for another charge (one for this
        # charge waits for its lock and is caught below): the database's unique key said no.
        if "billing_online_reference_once" in str(error):
            raise BillingError(ALREADY_RECORDED, code="already_recorded") from None
        raise


ALREADY_RECORDED = gettext_lazy("This online payment has been recorded already.")


def _share_the_doctor(*, charge_id=None, doctor_id=None):
    """Takes first the lock that writing a ledger row takes on its doctor's row (a key-share
    lock, for its foreign key), of the doctor of `charge_id` or `doctor_id`.

    A move holds its doctor's row (FOR UPDATE) and then takes the charge's (moving it, or
    pricing it for a new visit type). A payment or refund that held the charge and only then
    reached the doctor's row at its insert would close a cycle, and PostgreSQL would kill one
    of the two (a deadlock). Taken first, the two queue on the doctor's row: a move in
    progress commits before the payment reads the charge (its new appointment and price), and
    a move waits for a payment in progress (and sees it: a paid visit keeps its price).
    """
    if connection.vendor != "postgresql":
        return  # SQLite runs one writing transaction at a time and has no row locks.
    doctor = connection.ops.quote_name(Doctor._meta.db_table)
    if doctor_id is not None:
        sql, params = f"SELECT 1 FROM {doctor} WHERE id = %s FOR KEY SHARE", [doctor_id]
    else:
        appointment = connection.ops.quote_name(Appointment._meta.db_table)
        charge = connection.ops.quote_name(Charge._meta.db_table)
        sql = (
            f"SELECT 1 FROM {doctor} d JOIN {appointment} a ON a.doctor_id = d.id "
            f"JOIN {charge} c ON c.appointment_id = a.id WHERE c.id = %s FOR KEY SHARE OF d"
        )
        params = [charge_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _record_payment(*, charge, amount, mode, reference, by, now):
    with transaction.atomic(durable=True):
        # Any appointment the charge was ever on has the same doctor: a move keeps it.
        if Charge.appointment.is_cached(charge):
            _share_the_doctor(doctor_id=charge.appointment.doctor_id)
        else:
            _share_the_doctor(charge_id=charge.pk)
        # The charge's row only: FOR UPDATE on the joined appointment as well would lock it after
        # the charge, the opposite order to a cancellation (appointment, then its charge), and the
        # two could deadlock. A cancellation committing meanwhile still waits for this lock before
        # it looks at the ledger, so it sees this payment and flags the refund due.
        charge = (
            Charge.objects.select_for_update(of=("self",))
            .select_related("appointment")
            .get(pk=charge.pk)
        )
        # A gateway may send the same confirmation twice (a reload, a retried callback). Asked
        # under the charge's lock, so a second confirmation for this charge sent at the same
        # moment waits for the first and then sees it.
        if (
            mode == Payment.Mode.ONLINE
            and reference
            and Payment.objects.filter(
                mode=mode, kind=Payment.Kind.PAYMENT, reference=reference
            ).exists()
        ):
            raise BillingError(ALREADY_RECORDED, code="already_recorded")
        if charge.appointment.status == Status.CANCELLED:
            raise BillingError(
                gettext("This appointment is cancelled; there is nothing to pay."),
                code="invalid_status",
            )
        paid, _, due = balance(charge)
        if amount > due:
            raise BillingError(
                gettext("That is more than is due. %(currency)s %(due)s is left to pay.")
                % {"currency": charge.currency, "due": due}
                if due > 0
                else gettext("Nothing is due on this appointment."),
                code="overpayment",
            )
        # The fee share of everything paid once this is in, less the fee earlier payments hold:
        # the pieces of several part payments add up to the charge's own fee and GST. Refunds
        # stay out, as they do of what is due: each gives back its own payment's pieces.
        fee_before = charge.ledger.payments().total_amount("fee")
        fee = share_of(paid + amount, charge.total, charge.fee) - fee_before
        fee = to_money(min(max(fee, Decimal("0.00")), amount))
        payment = Payment.objects.create(
            charge=charge,
            kind=Payment.Kind.PAYMENT,
            mode=mode,
            fee=fee,
            gst=amount - fee,
            total=amount,
            reference=reference,
            receipt_number=_next_receipt_number(),
            recorded_by=by,
            recorded_at=now or timezone.now(),
        )
        signals.payment_recorded.send(
            sender=Payment, payment=payment, by=by, now=payment.recorded_at
        )
    return payment


def refundable(payment):
    refunded = payment.refunds.all().total_amount()
    return payment.total - refunded


def refund_payment(*, payment, amount, reason, by, now=None):
    """Returns money from one payment, in full or in part; only clinic admins may.

    The payment's row is locked first, so two admins refunding it at once are served one after
    the other and the second sees what the first refunded.
    """
    if not by.has_perm("billing.refund_payment"):
        raise BillingError(gettext("Only clinic admins can refund payments."), code="not_allowed")
    amount = _amount(amount)
    reason = (reason or "").strip()
    if not reason:
        raise BillingError(gettext("Give the reason for the refund."), code="reason_required")
    if len(reason) > Payment._meta.get_field("reason").max_length:
        raise BillingError(
            gettext("The reason is too long (200 characters at most)."), code="too_long"
        )
    with transaction.atomic(durable=True):
        _share_the_doctor(doctor_id=payment.doctor_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.kind != Payment.Kind.PAYMENT:
            raise BillingError(
                gettext("Only a payment can be refunded, not a refund."), code="not_a_payment"
            )
        # The charge before the receipt number, as record_payment takes them: taking the number
        # first could deadlock with a payment on the same charge waiting for the number.
        charge = Charge.objects.select_for_update().get(pk=payment.charge_id)
        already = payment.refunds.all().total_amount()
        left = payment.total - already
        if amount > left:
            raise BillingError(
                gettext("At most %(currency)s %(left)s of this payment can still be refunded.")
                % {"currency": charge.currency, "left": left}
                if left > 0
                else gettext("This payment has been refunded in full already."),
                code="over_refund",
            )
        fee = share_of(already + amount, payment.total, payment.fee) - share_of(
            already, payment.total, payment.fee
        )
        refund = Payment.objects.create(
            charge_id=payment.charge_id,
            kind=Payment.Kind.REFUND,
            mode=payment.mode,
            fee=fee,
            gst=amount - fee,
            total=amount,
            refund_of=payment,
            reason=reason,
            receipt_number=_next_receipt_number(),
            recorded_by=by,
            recorded_at=now or timezone.now(),
        )
        paid, refunded, _ = balance(charge)
        if charge.refund_due and paid - refunded <= 0:
            charge.refund_due = False
            charge.save(update_fields=["refund_due"])
        signals.payment_refunded.send(
            sender=Payment, refund=refund, payment=payment, by=by, now=refund.recorded_at
        )
    return refund


def flag_refund_due(*, appointment):
    """A cancelled appointment that was paid for: an admin should look at refunding it."""
    charge = Charge.objects.select_for_update().filter(appointment=appointment).first()
    if charge is None:
        return
    paid, refunded, _ = balance(charge)
    if paid - refunded > 0:
        charge.refund_due = True
        charge.save(update_fields=["refund_due"])
