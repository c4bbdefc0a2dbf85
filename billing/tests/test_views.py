"""Billing pages as each kind of visitor meets them, with good and bad input: My payments,
receipts, recording a payment at the desk, refunds, online payment through a gateway, and the
money section of an appointment's pages."""

import re
from decimal import Decimal
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.tests.pages import page_text, read_page
from billing import services
from billing.models import Payment
from billing.providers import PaymentNotConfirmed, PaymentProvider
from billing.tests.factories import ChargeFactory
from bookings import panels
from bookings.models import PaymentMode, Status
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import ClinicFactory, DepartmentFactory, DoctorFactory

pytestmark = pytest.mark.django_db

D = Decimal
FAKE_PROVIDER = "billing.tests.test_views.FakeProvider"


class FakeProvider(PaymentProvider):
    """A gateway that pays whatever its return URL says: ?status=ok&charge=..&amount=..&ref=.."""

    name = "Fake gateway"
    checkouts = []

    def checkout_url(self, *, charge, amount, return_url):
        self.checkouts.append((charge.pk, amount, return_url))
        return "https://pay.example/checkout?" + urlencode({"charge": charge.pk, "amount": amount})

    def confirm(self, request):
        if request.GET.get("status") != "ok":
            raise PaymentNotConfirmed
        return request.GET["charge"], request.GET["amount"], request.GET["ref"]


@pytest.fixture(autouse=True)
def no_gateway(settings):
    settings.PAYMENT_PROVIDER = ""
    settings.CLINIC_NAME = "Sunrise Health"
    FakeProvider.checkouts = []


@pytest.fixture
def gateway(settings):
    settings.PAYMENT_PROVIDER = FAKE_PROVIDER


@pytest.fixture
def patient(patient_user):
    return patient_user.patient


@pytest.fixture
def appointment(patient):
    return AppointmentFactory(
        patient=patient,
        clinic=ClinicFactory(
            name="Lakeview", address="12 Lake Road\nBengaluru 560001", phone="+918012345678"
        ),
        doctor=DoctorFactory(
            full_name="Dr Meera Nair", department=DepartmentFactory(name="Cardiology")
        ),
    )


@pytest.fixture
def charge(appointment):
    return ChargeFactory(appointment=appointment)  # 500.00 + 90.00 = 590.00


@pytest.fixture
def payment(charge, front_desk_user):
    return services.record_payment(
        charge=charge,
        amount=D("590.00"),
        mode=Payment.Mode.CARD,
        reference="SLIP-42",
        by=front_desk_user,
    )


@pytest.fixture
def others_payment(front_desk_user, other_patient_user):
    charge = ChargeFactory(appointment=AppointmentFactory(patient=other_patient_user.patient))
    return services.record_payment(
        charge=charge, amount=D("590.00"), mode=Payment.Mode.CASH, by=front_desk_user
    )


def as_user(client, request, name):
    if name:
        client.force_login(request.getfixturevalue(name))
    return client


def flashed(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def mine_url():
    return reverse("billing:mine")


def receipt_url(entry):
    return reverse("billing:receipt", kwargs={"pk": entry.pk})


def record_url(appointment):
    return reverse("billing:record", kwargs={"appointment_pk": appointment.pk})


def refund_url(entry):
    return reverse("billing:refund", kwargs={"pk": entry.pk})


def pay_online_url(appointment):
    return reverse("billing:pay_online", kwargs={"appointment_pk": appointment.pk})


def return_url(**query):
    return reverse("billing:online_return") + "?" + urlencode(query)


# --- Who reaches what -------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in_from_every_billing_page(
    client, appointment, payment
):
    login = reverse("accounts:login")
    pages = [
        ("get", mine_url()),
        ("get", receipt_url(payment)),
        ("get", record_url(appointment)),
        ("post", record_url(appointment)),
        ("get", refund_url(payment)),
        ("post", refund_url(payment)),
        ("post", pay_online_url(appointment)),
        ("get", reverse("billing:online_return")),
    ]
    for method, url in pages:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"{login}?next={url}", url
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    ("visitor", "own_receipt", "others_receipt", "record", "refund", "mine"),
    [
        ("patient_user", 200, 404, 404, 404, 200),
        ("other_patient_user", 404, 200, 404, 404, 200),  # "own" receipt is the patient's
        ("doctor_user", 404, 404, 404, 404, 403),
        ("front_desk_user", 200, 200, 200, 404, 403),
        ("clinic_admin_user", 200, 200, 200, 200, 403),
    ],
)
def test_each_role_reaches_only_its_billing_pages(
    client,
    request,
    appointment,
    payment,
    others_payment,
    visitor,
    own_receipt,
    others_receipt,
    record,
    refund,
    mine,
):
    as_user(client, request, visitor)
    assert client.get(receipt_url(payment)).status_code == own_receipt
    assert client.get(receipt_url(others_payment)).status_code == others_receipt
    assert client.get(record_url(appointment)).status_code == record
    assert client.get(refund_url(payment)).status_code == refund
    assert client.get(mine_url()).status_code == mine


@pytest.mark.parametrize("visitor", ["patient_user", "doctor_user", "front_desk_user"])
def test_who_may_not_refund_cannot_post_a_refund_either(client, request, payment, visitor):
    as_user(client, request, visitor)
    response = client.post(refund_url(payment), {"amount": "590.00", "reason": "Because"})
    assert response.status_code == 404
    assert not Payment.objects.refunds().exists()


@pytest.mark.parametrize("visitor", ["patient_user", "doctor_user"])
def test_who_may_not_record_payments_cannot_post_one_either(
    client, request, appointment, charge, visitor
):
    as_user(client, request, visitor)
    response = client.post(record_url(appointment), {"amount": "590.00", "mode": "cash"})
    assert response.status_code == 404
    assert not Payment.objects.exists()


def test_a_receipt_that_does_not_exist_is_404(client, clinic_admin_user):
    client.force_login(clinic_admin_user)
    assert client.get(reverse("billing:receipt", kwargs={"pk": 999999})).status_code == 404


def test_a_refund_cannot_be_refunded_from_its_page(client, clinic_admin_user, payment):
    refund = services.refund_payment(
        payment=payment, amount="10.00", reason="x", by=clinic_admin_user
    )
    client.force_login(clinic_admin_user)
    assert client.get(refund_url(refund)).status_code == 404


def test_an_appointment_without_a_charge_has_no_payment_page(client, front_desk_user, patient):
    client.force_login(front_desk_user)
    assert client.get(record_url(AppointmentFactory(patient=patient))).status_code == 404


# --- Receipts and My payments -----------------------------------------------------------------


def test_the_receipt_shows_the_clinic_the_number_and_the_amounts(client, patient_user, payment):
    client.force_login(patient_user)
    response = client.get(receipt_url(payment))
    text = page_text(response)
    for expected in [
        "Sunrise Health",
        "Lakeview",
        "12 Lake Road",
        "Bengaluru 560001",
        "+918012345678",
        f"Receipt {payment.receipt_label}",
        "Dr Meera Nair (Cardiology)",
        "Consultation fee",
        "500.00",
        "GST at 18%",
        "90.00",
        "Total paid",
        "590.00",
        "Card",
        "SLIP-42",
    ]:
        assert expected in text, expected
    assert payment.charge.appointment.patient.full_name in text


def test_a_refund_receipt_says_what_it_refunds_and_why(
    client, patient_user, payment, clinic_admin_user
):
    refund = services.refund_payment(
        payment=payment, amount="118.00", reason="Tests not done", by=clinic_admin_user
    )
    client.force_login(patient_user)
    text = page_text(client.get(receipt_url(refund)))
    assert f"Refund receipt {refund.receipt_label}" in text
    assert f"receipt {payment.receipt_label}" in text
    assert "Tests not done" in text
    assert "Total refunded" in text
    assert "118.00" in text and "100.00" in text and "18.00" in text


def test_my_payments_lists_only_the_patients_own_charges_and_ledger(
    client, patient_user, payment, others_payment, appointment
):
    unpaid = ChargeFactory(
        appointment=AppointmentFactory(patient=appointment.patient, doctor=appointment.doctor)
    )
    client.force_login(patient_user)
    response = client.get(mine_url())
    assert response.status_code == 200
    charges = list(response.context["charges"])
    ledger = list(response.context["ledger"])
    assert {c.pk for c in charges} == {payment.charge_id, unpaid.pk}
    assert ledger == [payment]
    links = [href for href, _ in read_page(response).links]
    assert receipt_url(payment) in links
    assert receipt_url(others_payment) not in links
    text = page_text(response)
    assert f"Receipt {payment.receipt_label}" in text
    assert others_payment.receipt_label not in text
    assert "Online payment is not available yet" in text


def test_my_payments_shows_each_appointments_amounts_to_the_paisa(
    client, patient_user, part_refunded
):
    client.force_login(patient_user)
    row = " ".join(re.sub(r"<[^>]+>", " ", page_text(client.get(mine_url()))).split())
    assert "Dr Meera Nair 500.00 90.00 590.00 590.00 118.00 Paid" in row


def test_my_payments_for_a_patient_with_nothing_yet(client, patient_user):
    client.force_login(patient_user)
    text = page_text(client.get(mine_url()))
    assert "No charges yet" in text
    assert "No payments yet" in text


# --- Recording a payment at the desk ----------------------------------------------------------


def test_the_front_desk_records_a_payment_and_lands_on_its_receipt(
    client, front_desk_user, appointment, charge
):
    client.force_login(front_desk_user)
    page = client.get(record_url(appointment))
    assert page.status_code == 200
    assert page.context["form"].initial["amount"] == D("590.00")
    assert "due INR 590.00" in page_text(page)

    response = client.post(
        record_url(appointment), {"amount": "200.00", "mode": "upi", "reference": "UPI-123"}
    )

    payment = Payment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == receipt_url(payment)
    assert (payment.total, payment.mode, payment.reference) == (D("200.00"), "upi", "UPI-123")
    assert payment.recorded_by == front_desk_user
    assert any(payment.receipt_label in message for message in flashed(response))


def test_a_clinic_admin_may_record_a_payment_too(client, clinic_admin_user, appointment, charge):
    client.force_login(clinic_admin_user)
    response = client.post(record_url(appointment), {"amount": "590.00", "mode": "cash"})
    assert response.status_code == 302
    assert Payment.objects.get().total == D("590.00")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"amount": "five hundred", "mode": "cash"}, "id_amount", "Enter a number."),
        ({"amount": "", "mode": "cash"}, "id_amount", "This field is required."),
        ({"amount": "-10", "mode": "cash"}, "id_amount", "greater than or equal to 0.01"),
        ({"amount": "0", "mode": "cash"}, "id_amount", "greater than or equal to 0.01"),
        ({"amount": "10.005", "mode": "cash"}, "id_amount", "no more than 2 decimal places"),
        ({"amount": "NaN", "mode": "cash"}, "id_amount", "Enter a number."),
        ({"amount": "1e3", "mode": "cash"}, None, None),  # 1000.00: a number, but too much
        ({"amount": "590.00", "mode": "card"}, "id_reference", "card slip or UPI"),
        ({"amount": "590.00", "mode": "upi", "reference": "  "}, "id_reference", "card slip"),
        ({"amount": "590.00", "mode": "online"}, "id_mode_0", "Select a valid choice"),
        ({"amount": "590.00"}, "id_mode_0", "This field is required."),
    ],
)
def test_bad_payment_input_is_explained_on_the_page_and_saves_nothing(
    client, front_desk_user, appointment, charge, data, field, message
):
    client.force_login(front_desk_user)
    response = client.post(record_url(appointment), data)
    assert response.status_code == 200
    page = read_page(response)
    if field is None:
        assert page.general_errors() == ["That is more than is due. INR 590.00 is left to pay."]
    else:
        errors = page.errors_for(field)
        assert errors and message in errors[0], page.error_summary
    assert not Payment.objects.exists()


def test_paying_more_than_is_due_is_explained_on_the_page(
    client, front_desk_user, appointment, charge
):
    services.record_payment(charge=charge, amount="500.00", mode="cash", by=front_desk_user)
    client.force_login(front_desk_user)
    response = client.post(record_url(appointment), {"amount": "100.00", "mode": "cash"})
    assert response.status_code == 200
    assert read_page(response).general_errors() == [
        "That is more than is due. INR 90.00 is left to pay."
    ]
    assert Payment.objects.count() == 1


def test_a_cancelled_appointment_cannot_be_paid_at_the_desk(
    client, front_desk_user, appointment, charge
):
    appointment.status = Status.CANCELLED
    appointment.save()
    client.force_login(front_desk_user)
    response = client.post(record_url(appointment), {"amount": "590.00", "mode": "cash"})
    assert response.status_code == 200
    assert "This appointment is cancelled; there is nothing to pay." in page_text(response)
    assert 'name="amount"' not in response.content.decode()
    assert not Payment.objects.exists()


# --- Refunds ----------------------------------------------------------------------------------


def test_a_clinic_admin_refunds_part_of_a_payment(client, clinic_admin_user, payment):
    client.force_login(clinic_admin_user)
    page = client.get(refund_url(payment))
    assert page.status_code == 200
    assert "INR 590.00 can still be refunded" in page_text(page)

    response = client.post(refund_url(payment), {"amount": "100.00", "reason": "Tests not done"})

    refund = Payment.objects.refunds().get()
    assert response["Location"] == receipt_url(refund)
    assert (refund.total, refund.reason, refund.refund_of) == (
        D("100.00"),
        "Tests not done",
        payment,
    )
    assert "INR 490.00 can still be refunded" in page_text(client.get(refund_url(payment)))


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"amount": "590.01", "reason": "x"},
            None,
            "At most INR 590.00 of this payment can still be refunded.",
        ),
        ({"amount": "100.00", "reason": ""}, "id_reason", "This field is required."),
        ({"amount": "100.00", "reason": "   "}, "id_reason", "This field is required."),
        ({"amount": "100.00"}, "id_reason", "This field is required."),
        ({"amount": "abc", "reason": "x"}, "id_amount", "Enter a number."),
        ({"amount": "-5", "reason": "x"}, "id_amount", "greater than or equal to 0.01"),
        ({"amount": "1.234", "reason": "x"}, "id_amount", "no more than 2 decimal places"),
        ({"amount": "1" * 12, "reason": "x"}, "id_amount", "no more than 10 digits"),
        ({"amount": "10", "reason": "x" * 201}, "id_reason", "at most 200 characters"),
    ],
)
def test_bad_refund_input_is_explained_on_the_page_and_saves_nothing(
    client, clinic_admin_user, payment, data, field, message
):
    client.force_login(clinic_admin_user)
    response = client.post(refund_url(payment), data)
    assert response.status_code == 200
    page = read_page(response)
    if field is None:
        assert page.general_errors() == [message]
    else:
        errors = page.errors_for(field)
        assert errors and message in errors[0], page.error_summary
    assert not Payment.objects.refunds().exists()


def test_a_payment_refunded_in_full_says_so(client, clinic_admin_user, payment):
    services.refund_payment(payment=payment, amount="590.00", reason="x", by=clinic_admin_user)
    client.force_login(clinic_admin_user)
    response = client.post(refund_url(payment), {"amount": "1.00", "reason": "again"})
    assert read_page(response).general_errors() == [
        "This payment has been refunded in full already."
    ]
    assert Payment.objects.refunds().count() == 1


# --- Online payment ---------------------------------------------------------------------------


@pytest.fixture
def online_appointment(appointment):
    appointment.payment_mode = PaymentMode.ONLINE
    appointment.save()
    return appointment


def test_without_a_gateway_online_payment_says_plainly_it_is_unavailable(
    client, patient_user, online_appointment, charge
):
    client.force_login(patient_user)
    response = client.post(pay_online_url(online_appointment))
    assert response.status_code == 302
    assert response["Location"] == mine_url()
    assert any("Online payment is not available" in m for m in flashed(response))
    assert not Payment.objects.exists()
    assert (
        client.get(return_url(status="ok", charge=charge.pk, amount="590.00", ref="X")).status_code
        == 404
    )
    assert not Payment.objects.exists()


def test_with_a_gateway_the_patient_pays_online_and_gets_a_receipt(
    client, patient_user, online_appointment, charge, gateway
):
    client.force_login(patient_user)
    page = client.get(mine_url())
    assert pay_online_url(online_appointment) in page.content.decode()
    assert "Online payment is not available" not in page_text(page)

    response = client.post(pay_online_url(online_appointment))

    assert response.status_code == 302
    checkout = urlsplit(response["Location"])
    assert (checkout.netloc, checkout.path) == ("pay.example", "/checkout")
    assert parse_qs(checkout.query) == {"charge": [str(charge.pk)], "amount": ["590.00"]}
    [(charged, amount, back)] = FakeProvider.checkouts
    assert (charged, amount) == (charge.pk, D("590.00"))
    assert back == "http://testserver" + reverse("billing:online_return")
    assert not Payment.objects.exists()  # nothing until the gateway confirms

    response = client.get(
        return_url(status="ok", charge=charge.pk, amount="590.00", ref="pay_ABC123")
    )

    payment = Payment.objects.get()
    assert response["Location"] == receipt_url(payment)
    assert (payment.mode, payment.total, payment.reference) == ("online", D("590.00"), "pay_ABC123")
    assert payment.recorded_by == patient_user
    assert any("payment is received" in m for m in flashed(response))


def test_a_failed_gateway_payment_records_nothing(
    client, patient_user, online_appointment, charge, gateway
):
    client.force_login(patient_user)
    response = client.get(
        return_url(status="failed", charge=charge.pk, amount="590.00", ref="pay_X")
    )
    assert response["Location"] == mine_url()
    assert any("did not go through" in m for m in flashed(response))
    assert not Payment.objects.exists()


def test_a_gateway_return_for_another_patients_charge_records_nothing(
    client, other_patient_user, charge, gateway
):
    client.force_login(other_patient_user)
    response = client.get(return_url(status="ok", charge=charge.pk, amount="590.00", ref="x"))
    assert response.status_code == 404
    assert not Payment.objects.exists()


def test_a_patient_cannot_start_paying_for_another_patients_appointment(
    client, other_patient_user, online_appointment, charge, gateway
):
    client.force_login(other_patient_user)
    assert client.post(pay_online_url(online_appointment)).status_code == 404
    assert FakeProvider.checkouts == []


def test_nothing_due_means_no_checkout(
    client, patient_user, online_appointment, charge, payment, gateway
):
    client.force_login(patient_user)
    response = client.post(pay_online_url(online_appointment))
    assert response["Location"] == mine_url()
    assert any("Nothing is due" in m for m in flashed(response))
    assert FakeProvider.checkouts == []


def test_a_cancelled_appointment_is_not_sent_to_the_gateway(
    client, patient_user, online_appointment, charge, gateway
):
    """Otherwise the gateway takes the money and the return cannot record it (nothing is due on
    a cancelled appointment)."""
    online_appointment.status = Status.CANCELLED
    online_appointment.save()
    client.force_login(patient_user)
    response = client.post(pay_online_url(online_appointment))
    assert response["Location"] == mine_url()
    assert any("cancelled" in m for m in flashed(response))
    assert FakeProvider.checkouts == []


def test_pay_online_only_takes_a_post(client, patient_user, online_appointment, charge, gateway):
    client.force_login(patient_user)
    assert client.get(pay_online_url(online_appointment)).status_code == 405
    assert FakeProvider.checkouts == []


# --- The money section of an appointment's pages ----------------------------------------------


@pytest.fixture
def part_refunded(charge, payment, clinic_admin_user):
    services.refund_payment(payment=payment, amount="118.00", reason="Partly", by=clinic_admin_user)
    return charge


def money_section(response):
    """The visible text of billing's section on an appointment page ("" when there is none)."""
    found = re.search(
        r'<section[^>]*aria-labelledby="money-\d+".*?</section>', page_text(response), re.S
    )
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(0)).split()) if found else ""


def test_the_patients_appointment_page_shows_due_paid_and_refunded(
    client, patient_user, appointment, part_refunded
):
    client.force_login(patient_user)
    response = client.get(reverse("bookings:detail", kwargs={"pk": appointment.pk}))
    section = money_section(response)
    assert "Total INR 590.00" in section
    assert "Paid INR 590.00" in section
    assert "Refunded INR 118.00" in section
    assert "Due INR 0.00" in section
    assert "Record a payment" not in section


def test_the_desk_appointment_page_shows_due_paid_and_refunded_and_offers_to_record(
    client, front_desk_user, clinic_admin_user, appointment, charge
):
    part = services.record_payment(charge=charge, amount="300.00", mode="cash", by=front_desk_user)
    services.refund_payment(payment=part, amount="100.00", reason="Partly", by=clinic_admin_user)
    client.force_login(front_desk_user)
    response = client.get(reverse("desk:appointment", kwargs={"pk": appointment.pk}))
    section = money_section(response)
    assert "Paid INR 300.00" in section
    assert "Refunded INR 100.00" in section
    assert "Due INR 290.00" in section
    assert record_url(appointment) in response.content.decode()


def test_an_unpaid_appointment_shows_the_whole_amount_due(
    client, front_desk_user, appointment, charge
):
    client.force_login(front_desk_user)
    section = money_section(client.get(reverse("desk:appointment", kwargs={"pk": appointment.pk})))
    assert "Paid INR 0.00" in section
    assert "Due INR 590.00" in section
    assert "Refunded" not in section


def test_billing_adds_no_money_section_for_doctors(rf, doctor_user, charge):
    request = rf.get("/")
    request.user = doctor_user
    assert panels.render_panels(request, charge.appointment, "doctor") == []
    assert panels.render_panels(request, charge.appointment, "desk") != []
