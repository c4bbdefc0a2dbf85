from decimal import Decimal

import factory
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.models import Charge, Payment
from bookings.tests.factories import AppointmentFactory


class ChargeFactory(factory.django.DjangoModelFactory):
    """A charge of 500.00 + 18% GST, written directly (no booking service involved)."""

    class Meta:
        model = Charge

    appointment = factory.SubFactory(AppointmentFactory)
    fee = Decimal("500.00")
    gst_rate = Decimal("0.1800")
    gst = Decimal("90.00")
    total = Decimal("590.00")
    currency = "INR"


class PaymentFactory(factory.django.DjangoModelFactory):
    """A cash payment of the whole charge. Receipt numbers come from a factory sequence, apart
    from the services' gapless one, so give tests that count receipts their own data."""

    class Meta:
        model = Payment

    charge = factory.SubFactory(ChargeFactory)
    kind = Payment.Kind.PAYMENT
    mode = Payment.Mode.CASH
    fee = factory.SelfAttribute("charge.fee")
    gst = factory.SelfAttribute("charge.gst")
    total = factory.SelfAttribute("charge.total")
    receipt_number = factory.Sequence(lambda n: 900000 + n)
    recorded_by = factory.SubFactory(UserFactory)
    recorded_at = factory.LazyFunction(timezone.now)
