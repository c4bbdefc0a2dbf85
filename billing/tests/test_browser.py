"""Paying for an appointment and refunding it, in headless Chromium against a live server: the
front desk records a payment and prints the receipt, the patient finds it under My payments, and
a clinic admin refunds part of it from the admin's payments list. Everyone logs in through the
login form."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from accounts.tests.factories import DEFAULT_PASSWORD, PatientFactory
from billing import services
from billing.models import Payment, ReceiptSequence
from bookings.models import AppointmentType, PaymentMode
from bookings.selectors import open_slots
from bookings.services import book_appointment
from bookings.tests.test_browser import KOLKATA, facts
from clinic.tests.browser import (
    click_and_wait_for_new_page,
    error_summary,
    field_by_label,
    fill,
    messages,
    nav_link,
    navigation_items,
    open_page,
    submit,
    wait_for_heading,
)
from doctors.models import Weekday
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

pytestmark = [
    pytest.mark.browser,
    # As in bookings' browser tests: live_server needs a transactional database; the serialized
    # rollback keeps the data migrations' rows (role groups, the receipt sequence) for later tests.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

UPI_REFERENCE = "UPI-417203998812"


@pytest.fixture
def patient(db):
    return PatientFactory(with_account=True, full_name="Meera Iyer")


@pytest.fixture
def appointment(patient):
    """A booked appointment with Anil Menon (fee 500.00), charged 590.00 by billing's signal.

    Department and working hours cover the whole day, every day, so a free time exists whenever
    the test runs; the booking takes the first one.
    """
    department = DepartmentFactory(
        name="General Medicine", opens_at=dt.time(0), closes_at=dt.time(23, 59)
    )
    clinic = ClinicFactory(name="Lakeside Clinic", timezone="Asia/Kolkata")
    doctor = DoctorFactory(
        full_name="Anil Menon", department=department, consultation_fee=Decimal("500.00")
    )
    for weekday in Weekday:
        WorkingHoursFactory(
            doctor=doctor,
            clinic=clinic,
            weekday=weekday,
            starts_at=dt.time(0),
            ends_at=dt.time(23, 45),
        )
    now = timezone.now()
    first_free = open_slots(doctor=doctor, clinic=clinic, now=now)[0]
    return book_appointment(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=first_free.start,
        appointment_type=AppointmentType.CONSULTATION,
        payment_mode=PaymentMode.AT_CLINIC,
        by=patient.user,
        now=now,
    )


def paid_at_the_desk(appointment, by):
    return services.record_payment(
        charge=appointment.charge,
        amount=Decimal("590.00"),
        mode=Payment.Mode.UPI,
        reference=UPI_REFERENCE,
        by=by,
    )


def log_in(browser, live_server, user):
    open_page(browser, live_server.url + reverse("accounts:login"))
    wait_for_heading(browser, "Log in")
    fill(browser, "Email address", user.email)
    fill(browser, "Password", DEFAULT_PASSWORD)
    submit(browser, "Log in")


def log_in_as_patient(browser, live_server, user):
    log_in(browser, live_server, user)
    assert "My payments" in navigation_items(browser), navigation_items(browser)


def main_link(browser, text):
    return browser.find_element(By.TAG_NAME, "main").find_element(By.LINK_TEXT, text)


def pick_radio(browser, option_text):
    field_by_label(browser, option_text).click()


def money_facts(browser):
    """The Payment section of an appointment page (billing's panel) as a dict."""
    section = browser.find_element(By.CSS_SELECTOR, "main section[aria-labelledby^='money-']")
    terms = [term.text for term in section.find_elements(By.TAG_NAME, "dt")]
    details = [detail.text for detail in section.find_elements(By.TAG_NAME, "dd")]
    return dict(zip(terms, details, strict=True))


def receipt_amounts(browser):
    """The receipt's table as {row heading: amount}, the currency column's header included."""
    table = browser.find_element(By.CSS_SELECTOR, "main table")
    amounts = {"currency": table.find_element(By.CSS_SELECTOR, "thead th:last-child").text}
    for row in table.find_elements(By.CSS_SELECTOR, "tbody tr, tfoot tr"):
        item, amount = row.find_element(By.TAG_NAME, "th"), row.find_element(By.TAG_NAME, "td")
        amounts[item.text] = amount.text
    return amounts


def long_moment(moment):
    """A time as the receipt writes it ("j F Y, H:i"), in the clinic's zone."""
    local = moment.astimezone(KOLKATA)
    return f"{local.day} {local:%B %Y, %H:%M}"


def short_date(moment):
    local = moment.astimezone(KOLKATA)
    return f"{local.day} {local:%b %Y}"


def assert_print_button(browser):
    """The Print button is there, and the script that wires it (portal.js) is served."""
    button = browser.find_element(By.CSS_SELECTOR, "main button[data-print]")
    assert (button.text, button.get_attribute("type")) == ("Print this receipt", "button")
    scripts = [
        s.get_attribute("src") for s in browser.find_elements(By.CSS_SELECTOR, "script[src]")
    ]
    [portal_js] = [src for src in scripts if src.split("?")[0].endswith("/portal.js")]
    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => done(r.status), () => done(0));",
        portal_js,
    )
    assert status == 200, f"{portal_js} answered {status}"


def assert_receipt_of_payment(browser, payment, appointment):
    wait_for_heading(browser, f"Receipt {payment.receipt_label}")
    assert_print_button(browser)
    assert facts(browser) == {
        "Date": long_moment(payment.recorded_at),
        "Patient": "Meera Iyer",
        "Appointment": f"{long_moment(appointment.start)} with Anil Menon (General Medicine)",
        "Paid by": f"UPI · ref. {UPI_REFERENCE}",
    }
    assert receipt_amounts(browser) == {
        "currency": "INR",
        "Consultation fee": "500.00",
        "GST at 18%": "90.00",
        "Total paid": "590.00",
    }


def charge_rows(browser):
    """The My payments table, one list per appointment: the appointment cell's text, the fee,
    GST, total, paid and refunded as Decimals, and the status.

    The amounts are compared as numbers, not texts: on SQLite the summed Paid and Refunded
    columns lose their scale ("590" and "0" rather than "590.00" and "0.00").
    """
    section = browser.find_element(
        By.CSS_SELECTOR, "main section[aria-labelledby='charges-heading']"
    )
    rows = []
    for row in section.find_elements(By.CSS_SELECTOR, "tbody tr"):
        cells = [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        appointment, *amounts, status = cells
        rows.append([appointment, *(Decimal(amount) for amount in amounts), status])
    return rows


def money(*amounts):
    return [Decimal(amount) for amount in amounts]


def same_words(shown, expected):
    """Equal but for case, so the test does not depend on how the ledger lists capitalise modes."""
    return shown.casefold() == expected.casefold()


def ledger_entries(browser):
    """My payments' list of payments and refunds as (description, receipt link) pairs."""
    section = browser.find_element(
        By.CSS_SELECTOR, "main section[aria-labelledby='ledger-heading']"
    )
    return [
        (item.find_element(By.TAG_NAME, "span").text, item.find_element(By.TAG_NAME, "a"))
        for item in section.find_elements(By.TAG_NAME, "li")
    ]


def test_front_desk_records_a_payment_and_gets_a_receipt(
    live_server, fresh_browser, front_desk_user, appointment
):
    browser = fresh_browser
    charge = appointment.charge
    assert (charge.fee, charge.gst, charge.total) == (
        Decimal("500.00"),
        Decimal("90.00"),
        Decimal("590.00"),
    )

    log_in(browser, live_server, front_desk_user)
    wait_for_heading(browser, "Today's arrivals")
    desk_page = reverse("desk:appointment", kwargs={"pk": appointment.pk})
    open_page(browser, live_server.url + desk_page)
    wait_for_heading(browser, "Appointment for Meera Iyer")
    assert money_facts(browser) == {
        "Consultation fee": "INR 500.00",
        "GST": "INR 90.00",
        "Total": "INR 590.00",
        "Paid": "INR 0.00",
        "Due": "INR 590.00",
    }
    click_and_wait_for_new_page(browser, main_link(browser, "Record a payment"))

    wait_for_heading(browser, "Record a payment")
    page_text = browser.find_element(By.TAG_NAME, "main").text
    assert "Total INR 590.00 (fee 500.00 + GST 90.00); due INR 590.00." in page_text
    assert field_by_label(browser, "Amount").get_attribute("value") == "590.00"

    # A card payment needs the slip's number: the form says so and nothing is recorded.
    pick_radio(browser, "Card")
    submit(browser, "Record payment")
    wait_for_heading(browser, "Record a payment")
    assert error_summary(browser) == ["Reference: Enter the card slip or UPI transaction number."]
    assert browser.switch_to.active_element.get_attribute("id") == "form-errors"
    reference = field_by_label(browser, "Reference")
    assert reference.get_attribute("aria-invalid") == "true"
    assert "id_reference_error" in reference.get_attribute("aria-describedby").split()

    # More than is due: the service refuses it, and the form keeps what was typed.
    fill(browser, "Amount", "600.00")
    pick_radio(browser, "UPI")
    fill(browser, "Reference", UPI_REFERENCE)
    submit(browser, "Record payment")
    wait_for_heading(browser, "Record a payment")
    assert error_summary(browser) == ["That is more than is due. INR 590.00 is left to pay."]
    assert field_by_label(browser, "UPI").is_selected()
    assert not Payment.objects.exists()

    fill(browser, "Amount", "590.00")
    submit(browser, "Record payment")

    payment = Payment.objects.get()
    assert_receipt_of_payment(browser, payment, appointment)
    assert messages(browser) == [
        f"Payment recorded: receipt {payment.receipt_label}. Print it below."
    ]
    assert (payment.charge, payment.kind, payment.mode, payment.reference) == (
        charge,
        Payment.Kind.PAYMENT,
        Payment.Mode.UPI,
        UPI_REFERENCE,
    )
    assert (payment.fee, payment.gst, payment.total) == (
        Decimal("500.00"),
        Decimal("90.00"),
        Decimal("590.00"),
    )
    assert payment.recorded_by == front_desk_user
    # The refused attempts took no receipt number.
    receipts = ReceiptSequence.objects.get(name=services.RECEIPTS)
    assert receipts.last_number == payment.receipt_number


def test_patient_finds_the_payment_and_its_receipt_under_my_payments(
    live_server, fresh_browser, front_desk_user, patient, appointment
):
    payment = paid_at_the_desk(appointment, by=front_desk_user)
    browser = fresh_browser

    log_in_as_patient(browser, live_server, patient.user)
    click_and_wait_for_new_page(browser, nav_link(browser, "My payments"))
    wait_for_heading(browser, "My payments")
    assert nav_link(browser, "My payments").get_attribute("aria-current") == "page"
    start = appointment.start.astimezone(KOLKATA)
    when = f"{start.day} {start:%b %Y}, {start:%H:%M}"
    assert charge_rows(browser) == [
        [f"{when}\nAnil Menon", *money("500.00", "90.00", "590.00", "590.00", "0.00"), "Paid"]
    ]
    [(description, receipt_link)] = ledger_entries(browser)
    paid_on = short_date(payment.recorded_at)
    assert same_words(description, f"Payment of INR 590.00 by UPI, {paid_on}")
    assert receipt_link.text == f"Receipt {payment.receipt_label}"

    click_and_wait_for_new_page(browser, receipt_link)
    assert_receipt_of_payment(browser, payment, appointment)

    click_and_wait_for_new_page(browser, nav_link(browser, "My payments"))
    wait_for_heading(browser, "My payments")
    click_and_wait_for_new_page(browser, main_link(browser, when))
    wait_for_heading(browser, "Appointment details")
    assert money_facts(browser) == {
        "Consultation fee": "INR 500.00",
        "GST": "INR 90.00",
        "Total": "INR 590.00",
        "Paid": "INR 590.00",
        "Due": "INR 0.00",
    }
    # The patient's page offers no desk action.
    assert not browser.find_elements(By.LINK_TEXT, "Record a payment")


def test_clinic_admin_refunds_part_of_a_payment_and_the_patient_sees_it(
    live_server, fresh_browser, front_desk_user, clinic_admin_user, patient, appointment
):
    payment = paid_at_the_desk(appointment, by=front_desk_user)
    browser = fresh_browser

    # The way to a refund page: the admin's payments list, "Refund the selected payment…".
    log_in(browser, live_server, clinic_admin_user)
    wait_for_heading(browser, "Clinic management")
    click_and_wait_for_new_page(browser, main_link(browser, "Payments"))
    browser.find_element(By.CSS_SELECTOR, f"input.action-select[value='{payment.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_visible_text(
        "Refund the selected payment…"
    )
    run_action = browser.find_element(By.CSS_SELECTOR, "button[name='index']")
    assert run_action.text == "Go"
    click_and_wait_for_new_page(browser, run_action)

    wait_for_heading(browser, f"Refund payment {payment.receipt_label}")
    assert browser.current_url == live_server.url + reverse(
        "billing:refund", kwargs={"pk": payment.pk}
    )
    assert "INR 590.00 can still be refunded" in browser.find_element(By.TAG_NAME, "main").text
    fill(browser, "Amount", "100.00")
    fill(browser, "Reason", "Goodwill: the doctor ran an hour late")
    submit(browser, "Refund")

    refund = Payment.objects.refunds().get()
    wait_for_heading(browser, f"Refund receipt {refund.receipt_label}")
    assert messages(browser) == [f"Refund recorded: receipt {refund.receipt_label}."]
    assert_print_button(browser)
    refund_facts = facts(browser)
    assert refund_facts["Refunded to"] == "UPI"
    assert refund_facts["Refund of"] == f"receipt {payment.receipt_label}"
    assert refund_facts["Reason"] == "Goodwill: the doctor ran an hour late"
    assert receipt_amounts(browser) == {
        "currency": "INR",
        "Consultation fee": "84.75",
        "GST at 18%": "15.25",
        "Total refunded": "100.00",
    }
    assert (refund.refund_of, refund.recorded_by) == (payment, clinic_admin_user)
    assert (refund.fee, refund.gst, refund.total) == (
        Decimal("84.75"),
        Decimal("15.25"),
        Decimal("100.00"),
    )

    browser.delete_all_cookies()
    log_in_as_patient(browser, live_server, patient.user)
    click_and_wait_for_new_page(browser, nav_link(browser, "My payments"))
    wait_for_heading(browser, "My payments")
    [refund_row, payment_row] = ledger_entries(browser)
    refunded_on = short_date(refund.recorded_at)
    assert same_words(refund_row[0], f"Refund of INR 100.00 by UPI, {refunded_on}")
    assert refund_row[1].text == f"Receipt {refund.receipt_label}"
    assert payment_row[1].text == f"Receipt {payment.receipt_label}"
    [cells] = charge_rows(browser)
    assert cells[4:6] == money("590.00", "100.00")

    click_and_wait_for_new_page(browser, refund_row[1])
    wait_for_heading(browser, f"Refund receipt {refund.receipt_label}")
    assert receipt_amounts(browser)["Total refunded"] == "100.00"
