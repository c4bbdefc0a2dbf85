"""What is still due on a charge: payments settle it, refunds give money back and never make it
owed again; and nowhere offers to take money when nothing is due (issue 18, item 2)."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.tests.pages import page_text
from billing import services
from billing.models import Payment
from billing.selectors import charges_of_patient, money_summary, with_refunds
from billing.tests.factories import ChargeFactory
from bookings.models import PaymentMode
from bookings.services import cancel_appointment
from bookings.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def appointment(patient_user):
    return AppointmentFactory(patient=patient_user.patient, payment_mode=PaymentMode.ONLINE)


@pytest.fixture
def charge(appointment):
    return ChargeFactory(appointment=appointment)  # 500.00 + 90.00 = 590.00


def pay(charge, amount, by):
    return services.record_payment(charge=charge, amount=amount, mode=Payment.Mode.CASH, by=by)


def refund(payment, amount, by):
    return services.refund_payment(payment=payment, amount=amount, reason="Goodwill", by=by)


def money_section(response):
    found = re.search(
        r'<section[^>]*aria-labelledby="money-\d+".*?</section>', page_text(response), re.S
    )
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(0)).split()) if found else ""


def test_a_part_refund_of_a_paid_charge_leaves_nothing_due(
    charge, front_desk_user, clinic_admin_user
):
    refund(pay(charge, "590.00", front_desk_user), "100.00", clinic_admin_user)

    assert services.balance(charge) == (D("590.00"), D("100.00"), D("0.00"))
    assert money_summary(charge.appointment).due == D("0.00")
    assert charges_of_patient(charge.appointment.patient)[0].due == D("0.00")


def test_the_refunded_part_cannot_be_paid_again(charge, front_desk_user, clinic_admin_user):
    refund(pay(charge, "590.00", front_desk_user), "100.00", clinic_admin_user)

    with pytest.raises(services.BillingError, match="Nothing is due"):
        pay(charge, "100.00", front_desk_user)
    assert Payment.objects.payments().count() == 1


def test_a_refund_of_a_part_payment_does_not_add_to_what_is_left(
    charge, front_desk_user, clinic_admin_user
):
    refund(pay(charge, "300.00", front_desk_user), "100.00", clinic_admin_user)

    assert services.balance(charge)[2] == D("290.00")
    assert money_summary(charge.appointment).due == D("290.00")
    assert charges_of_patient(charge.appointment.patient)[0].due == D("290.00")
    with pytest.raises(services.BillingError, match=r"INR 290\.00 is left to pay"):
        pay(charge, "290.01", front_desk_user)
    pay(charge, "290.00", front_desk_user)
    assert services.balance(charge)[2] == D("0.00")


def test_after_a_part_refund_the_desk_sees_nothing_due_and_no_pay_link(
    client, front_desk_user, clinic_admin_user, charge
):
    refund(pay(charge, "590.00", front_desk_user), "100.00", clinic_admin_user)
    client.force_login(front_desk_user)

    response = client.get(reverse("desk:appointment", kwargs={"pk": charge.appointment.pk}))

    section = money_section(response)
    assert "Refunded INR 100.00" in section
    assert "Due INR 0.00" in section
    assert "Record a payment" not in section


def test_after_a_part_refund_the_patient_sees_it_paid_and_no_pay_button(
    client, settings, patient_user, front_desk_user, clinic_admin_user, charge
):
    settings.PAYMENT_PROVIDER = "billing.tests.test_views.FakeProvider"
    refund(pay(charge, "590.00", front_desk_user), "100.00", clinic_admin_user)
    client.force_login(patient_user)

    detail = client.get(reverse("bookings:detail", kwargs={"pk": charge.appointment.pk}))
    payments = client.get(reverse("billing:mine"))

    assert "Due INR 0.00" in money_section(detail)
    pay_online = reverse("billing:pay_online", kwargs={"appointment_pk": charge.appointment.pk})
    assert pay_online not in payments.content.decode()
    assert "Paid" in page_text(payments)


def test_the_pay_page_shows_no_form_when_nothing_is_due(client, front_desk_user, charge):
    pay(charge, "590.00", front_desk_user)
    client.force_login(front_desk_user)

    page = client.get(reverse("billing:record", kwargs={"appointment_pk": charge.appointment.pk}))

    assert page.status_code == 200
    assert "Nothing is due" in page_text(page)
    assert "<form" not in re.sub(r"<header.*?</header>", "", page.content.decode(), flags=re.S)
    assert 'name="amount"' not in page.content.decode()


def test_the_pay_page_still_shows_its_form_while_something_is_due(client, front_desk_user, charge):
    pay(charge, "300.00", front_desk_user)
    client.force_login(front_desk_user)

    page = client.get(reverse("billing:record", kwargs={"appointment_pk": charge.appointment.pk}))

    assert 'name="amount"' in page.content.decode()
    assert page.context["form"].initial["amount"] == D("290.00")


@pytest.mark.parametrize(
    ("payments", "cancel", "expected"),
    [
        ([], False, "due"),
        (["290.00"], False, "due"),
        # Three parts that SQLite adds up as floats to just under the total.
        (["589.93", "0.02", "0.04", "0.01"], False, "paid"),
        (["590.00"], False, "paid"),
        ([], True, "cancelled"),
        (["590.00"], True, "refund_due"),
    ],
)
def test_the_money_status_in_sql_agrees_with_what_is_due(
    charge, front_desk_user, payments, cancel, expected
):
    for amount in payments:
        pay(charge, amount, front_desk_user)
    if cancel:
        cancel_appointment(appointment=charge.appointment, by=front_desk_user, reason="Unwell")
    [listed] = charges_of_patient(charge.appointment.patient)
    assert listed.money_status == expected
    if not cancel:
        nothing_due = listed.due == D("0.00")
        assert nothing_due == (expected == "paid")


def test_each_ledger_entry_says_what_was_given_back_as_the_refund_rule_does(
    charge, front_desk_user, clinic_admin_user
):
    untouched = pay(charge, "100.00", front_desk_user)
    partly = pay(charge, "200.00", front_desk_user)
    wholly = pay(charge, "290.00", front_desk_user)
    refund(partly, "50.00", clinic_admin_user)
    given_back = refund(wholly, "290.00", clinic_admin_user)

    rows = {entry.pk: entry for entry in with_refunds(Payment.objects.all())}
    assert [rows[p.pk].entry_status for p in (untouched, partly, wholly, given_back)] == [
        "paid",
        "partly_refunded",
        "refunded",
        "refund",
    ]
    for payment in (untouched, partly, wholly):
        assert rows[payment.pk].refundable == services.refundable(payment)
    assert rows[given_back.pk].refundable == D("0.00")
