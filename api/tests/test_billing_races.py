"""Concurrent writes over the API on PostgreSQL: refunds and payments that together would be
too much, and two admins adding one department. Real threads, each with its own connection;
SQLite serialises whole transactions, so these run on PostgreSQL only (CI fails on skips).

Transactional tests empty the tables after each test, the data migrations' rows included (the
roles, the receipt sequence): serialized_rollback puts them back before each test.
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.roles import Role
from accounts.tests.factories import PatientFactory, UserFactory
from api.tests.factories import client_with_token, token_for
from billing import services
from billing.models import Payment
from billing.tests.factories import ChargeFactory
from bookings.tests.factories import AppointmentFactory
from clinic.tests.concurrency import postgresql_only, run_concurrently
from doctors.models import Department

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(autouse=True)
def on_postgresql():
    postgresql_only()


@pytest.fixture
def desk():
    return UserFactory(roles=[Role.FRONT_DESK], is_staff=True)


def clinic_admin():
    return UserFactory(roles=[Role.CLINIC_ADMIN], is_staff=True)


def new_charge():
    patient = PatientFactory(with_account=True)
    return ChargeFactory(appointment=AppointmentFactory(patient=patient))


def statuses_and_codes(responses):
    return sorted(
        (r.status_code, r.json()["error"]["code"] if r.status_code >= 400 else "")
        for r in responses
    )


def test_two_refunds_that_together_exceed_the_payment_refund_once(desk):
    payment = services.record_payment(
        charge=new_charge(), amount="590.00", mode=Payment.Mode.CASH, by=desk
    )
    url = reverse("api:payment_refund", kwargs={"pk": payment.pk})
    tokens = [token_for(clinic_admin()) for _ in range(2)]

    def refund(token, amount):
        return lambda: client_with_token(token).post(
            url, {"amount": amount, "reason": "Doctor unwell"}, format="json"
        )

    outcomes = run_concurrently(refund(tokens[0], "400.00"), refund(tokens[1], "300.00"))
    assert statuses_and_codes(outcomes) == [(201, ""), (422, "over_refund")]
    refunds = Payment.objects.refunds().filter(refund_of=payment)
    assert refunds.count() == 1
    assert refunds.total_amount() in (Decimal("400.00"), Decimal("300.00"))


def test_two_desks_paying_more_than_is_due_between_them_take_it_once(desk):
    charge = new_charge()
    url = reverse("api:appointment_payments", kwargs={"appointment_pk": charge.appointment_id})
    tokens = [token_for(desk), token_for(UserFactory(roles=[Role.FRONT_DESK], is_staff=True))]

    def pay(token):
        return lambda: client_with_token(token).post(
            url, {"amount": "400.00", "mode": "cash"}, format="json"
        )

    outcomes = run_concurrently(pay(tokens[0]), pay(tokens[1]))
    assert statuses_and_codes(outcomes) == [(201, ""), (422, "overpayment")]
    assert charge.ledger.payments().total_amount() == Decimal("400.00")


def test_one_refund_retried_at_once_with_its_key_refunds_once(desk):
    payment = services.record_payment(
        charge=new_charge(), amount="590.00", mode=Payment.Mode.CASH, by=desk
    )
    url = reverse("api:payment_refund", kwargs={"pk": payment.pk})
    token = token_for(clinic_admin())

    def send():
        return client_with_token(token).post(
            url,
            {"amount": "100.00", "reason": "Doctor unwell"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="refund-once",
        )

    outcomes = run_concurrently(send, send)
    assert sorted(r.status_code for r in outcomes) in ([201, 201], [201, 409])
    assert Payment.objects.refunds().filter(refund_of=payment).count() == 1


def test_two_admins_adding_one_department_at_once_add_it_once():
    tokens = [token_for(clinic_admin()) for _ in range(2)]
    body = {"name": "Cardiology", "opens_at": "09:00", "closes_at": "17:00"}

    def add(token, name):
        return lambda: client_with_token(token).post(
            reverse("api:departments"), {**body, "name": name}, format="json"
        )

    # Two spellings of one name: the database's case-blind unique index decides.
    outcomes = run_concurrently(add(tokens[0], "Cardiology"), add(tokens[1], "CARDIOLOGY"))
    assert statuses_and_codes(outcomes) == [(201, ""), (400, "invalid")]
    assert Department.objects.filter(name__iexact="cardiology").count() == 1
