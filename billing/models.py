"""The money side of an appointment: what is charged (a snapshot at booking) and a ledger of
payments and refunds. Ledger rows are written once and never changed or deleted; a refund is a
new row pointing at the payment it returns money from."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce, Round
from django.utils.translation import gettext_lazy

from billing.money import as_percent
from bookings.models import Appointment
from doctors.models import Clinic, Doctor

MONEY = {"max_digits": 10, "decimal_places": 2}

# total = fee + GST, compared to the paisa: SQLite keeps decimals as binary floating point, where
# 282.48 + 50.85 is 333.33000000000004 and a plain equality refuses about one sum in four.
# On PostgreSQL (exact numeric) the rounding changes nothing.
ADDS_UP = Q(total=Round(F("fee") + F("gst"), precision=2))


class Charge(models.Model):
    """The fee for one appointment, fixed when it was booked; a later fee change leaves it alone.

    A reschedule moves the charge (and so its payments) to the new appointment; a move into
    another visit type prices it again while nothing is paid (services.move_charge).
    """

    appointment = models.OneToOneField(
        Appointment,
        on_delete=models.PROTECT,
        related_name="charge",
        verbose_name=gettext_lazy("appointment"),
    )
    fee = models.DecimalField(**MONEY, verbose_name=gettext_lazy("fee"))
    gst_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        help_text=gettext_lazy("0.1800 is 18%."),
        verbose_name=gettext_lazy("gst rate"),
    )
    gst = models.DecimalField(gettext_lazy("GST"), **MONEY)
    total = models.DecimalField(**MONEY, verbose_name=gettext_lazy("total"))
    currency = models.CharField(max_length=3, verbose_name=gettext_lazy("currency"))
    refund_due = models.BooleanField(
        default=False,
        help_text=gettext_lazy(
            "Set when a paid appointment is cancelled; cleared once it is refunded in full."
        ),
        verbose_name=gettext_lazy("refund due"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))

    class Meta:
        verbose_name = gettext_lazy("charge")
        verbose_name_plural = gettext_lazy("charges")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(fee__gte=0) & Q(gst__gte=0), name="billing_charge_not_negative"
            ),
            models.CheckConstraint(condition=ADDS_UP, name="billing_charge_total_adds_up"),
        ]

    def __str__(self):
        return f"Charge for appointment {self.appointment_id}: {self.currency} {self.total}"

    @property
    def gst_percent(self):
        return as_percent(self.gst_rate)


class PaymentQuerySet(models.QuerySet):
    # Bulk writes skip Payment.save() and .delete(), so they are refused here too.
    def update(self, **kwargs):
        raise ValidationError("Ledger entries are never changed; record a refund instead.")

    def delete(self):
        raise ValidationError("Ledger entries are never deleted; record a refund instead.")

    update.alters_data = delete.alters_data = True

    def payments(self):
        return self.filter(kind=Payment.Kind.PAYMENT)

    def refunds(self):
        return self.filter(kind=Payment.Kind.REFUND)

    def total_amount(self, field="total"):
        return self.aggregate(
            amount=Coalesce(Sum(field), models.Value(0), output_field=models.DecimalField())
        )["amount"]


class Payment(models.Model):
    class Kind(models.TextChoices):
        PAYMENT = "payment", gettext_lazy("Payment")
        REFUND = "refund", gettext_lazy("Refund")

    class Mode(models.TextChoices):
        CASH = "cash", gettext_lazy("Cash")
        CARD = "card", gettext_lazy("Card")
        UPI = "upi", gettext_lazy("UPI")
        ONLINE = "online", gettext_lazy("Online")

    charge = models.ForeignKey(
        Charge, on_delete=models.PROTECT, related_name="ledger", verbose_name=gettext_lazy("charge")
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, verbose_name=gettext_lazy("kind"))
    mode = models.CharField(max_length=10, choices=Mode.choices, verbose_name=gettext_lazy("mode"))
    # The amount split as the charge is: fee and GST, adding up to the total. Always positive;
    # the kind says which way the money went.
    fee = models.DecimalField(**MONEY, verbose_name=gettext_lazy("fee"))
    gst = models.DecimalField(gettext_lazy("GST"), **MONEY)
    total = models.DecimalField(**MONEY, verbose_name=gettext_lazy("total"))
    refund_of = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="refunds",
        verbose_name=gettext_lazy("refund of"),
    )
    reference = models.CharField(
        max_length=100,
        blank=True,
        help_text=gettext_lazy("Card slip, UPI transaction or gateway reference."),
        verbose_name=gettext_lazy("reference"),
    )
    reason = models.CharField(
        max_length=200,
        blank=True,
        help_text=gettext_lazy("Why money was refunded."),
        verbose_name=gettext_lazy("reason"),
    )
    receipt_number = models.PositiveIntegerField(
        unique=True, verbose_name=gettext_lazy("receipt number")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=gettext_lazy("recorded by"),
    )
    recorded_at = models.DateTimeField(verbose_name=gettext_lazy("recorded at"))
    # Copies of the charge's appointment's doctor and clinic, which never change (a reschedule
    # keeps both): the revenue report groups a year of rows by them and by the clinic's calendar,
    # and joining every row to its charge and appointment to find them was most of its time.
    # save() sets them; bulk writers must copy them themselves.
    doctor = models.ForeignKey(
        Doctor,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=gettext_lazy("doctor"),
    )
    clinic = models.ForeignKey(
        Clinic,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=gettext_lazy("clinic"),
    )

    objects = PaymentQuerySet.as_manager()

    class Meta:
        verbose_name = gettext_lazy("payment")
        verbose_name_plural = gettext_lazy("payments")
        ordering = ["recorded_at", "pk"]
        permissions = [("refund_payment", "Can refund a payment")]
        constraints = [
            models.CheckConstraint(condition=Q(total__gt=0), name="billing_payment_positive"),
            # One gateway reference, one online payment, however often the gateway reports it.
            models.UniqueConstraint(
                fields=["reference"],
                condition=Q(mode="online", kind="payment") & ~Q(reference=""),
                name="billing_online_reference_once",
            ),
            models.CheckConstraint(
                condition=Q(fee__gte=0) & Q(gst__gte=0), name="billing_payment_parts_not_negative"
            ),
            models.CheckConstraint(condition=ADDS_UP, name="billing_payment_total_adds_up"),
            models.CheckConstraint(
                condition=(Q(kind="refund") & Q(refund_of__isnull=False))
                | (Q(kind="payment") & Q(refund_of__isnull=True)),
                name="billing_refund_points_at_a_payment",
            ),
        ]
        indexes = [models.Index(fields=["recorded_at"], name="billing_payment_recorded_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.receipt_label}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValidationError("Ledger entries are never changed; record a refund instead.")
        # Always from the source, whatever the caller gave. A refund copies the payment it returns,
        # which refund_payment holds already; record_payment loads the charge with its
        # appointment: neither costs a query.
        refunded = self.refund_of if self.refund_of_id is not None else None
        if refunded is not None and refunded.charge_id == self.charge_id:
            source = refunded
        else:
            source = self.charge.appointment
        self.doctor_id, self.clinic_id = source.doctor_id, source.clinic_id
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Ledger entries are never deleted; record a refund instead.")

    @property
    def receipt_label(self):
        return f"R-{self.receipt_number:06d}"

    @property
    def is_refund(self):
        return self.kind == self.Kind.REFUND


class ReceiptSequence(models.Model):
    """The last receipt number issued. Taken under a row lock in the payment's transaction, so
    numbers are gapless: a rolled-back payment gives its number back."""

    name = models.CharField(max_length=20, unique=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.name}: {self.last_number}"
