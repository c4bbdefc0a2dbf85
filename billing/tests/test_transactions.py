"""Payments and refunds commit for good: a receipt handed over is never undone by a caller's
rollback, so the services refuse to run inside an outer transaction."""

from decimal import Decimal

import pytest
from django.db import transaction

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from billing.models import Payment
from billing.services import record_payment, refund_payment
from billing.tests.factories import ChargeFactory

pytestmark = pytest.mark.django_db

NESTED = "durable atomic block cannot be nested"


def test_recording_a_payment_refuses_to_run_inside_an_outer_transaction():
    charge = ChargeFactory()
    with transaction.atomic(), pytest.raises(RuntimeError, match=NESTED):
        record_payment(charge=charge, amount="590.00", mode="cash", by=UserFactory())
    assert not Payment.objects.exists()


def test_refunding_refuses_to_run_inside_an_outer_transaction():
    payment = record_payment(charge=ChargeFactory(), amount="590.00", mode="cash", by=UserFactory())
    admin = UserFactory(roles=[Role.CLINIC_ADMIN], is_staff=True)
    with transaction.atomic(), pytest.raises(RuntimeError, match=NESTED):
        refund_payment(payment=payment, amount=Decimal("100.00"), reason="Overcharged", by=admin)
    assert not Payment.objects.filter(kind=Payment.Kind.REFUND).exists()
    # Outside one, the same refund is made.
    refund_payment(payment=payment, amount=Decimal("100.00"), reason="Overcharged", by=admin)
    assert Payment.objects.filter(kind=Payment.Kind.REFUND).count() == 1
