"""WCAG 2.2 AA checks with axe-core on every page a visitor, patient, doctor or front desk uses,
in headless Chromium against a live server, with realistic data and with form errors shown.

Each test walks one role's pages and reports every page's violations together at the end, so a
slip in a shared template shows up once per page rather than stopping at the first.
"""

import contextlib
import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from selenium.webdriver.common.by import By

from accounts.services import register_patient
from accounts.signup import signup_token
from accounts.tests.factories import PatientFactory
from billing import services as billing_services
from billing.models import Payment
from bookings.models import AppointmentType, PaymentMode, Status
from bookings.selectors import open_slots
from bookings.services import book_appointment
from bookings.tests.factories import AppointmentFactory
from bookings.tests.test_browser import KOLKATA, works_every_day
from bookings.tests.test_browser_providers import a_slot_later_today
from clinic.tests.browser import (
    accessibility_violations,
    click_and_wait_for_new_page,
    describe_violations,
    error_summary,
    fill,
    open_page,
    submit,
    wait_for_heading,
    wait_until,
)
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    TimeOffFactory,
)
from doctors.views import DOCTORS_PER_PAGE

pytestmark = [
    pytest.mark.browser,
    # As in the other browser tests: live_server needs a transactional database; the serialized
    # rollback keeps the data migrations' rows (role groups, the receipt sequence) for later tests.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TOO_LONG_REASON = "x" * 501  # BookingForm's reason takes at most 500 characters
PHONE_WIDTH = 320


class PageAudit:
    """Opens pages as the test's visitor and runs axe-core on each one.

    Violations are collected rather than raised, and `assert_no_violations` reports them all,
    page by page, with each rule, its impact and help and the failing elements.
    """

    def __init__(self, browser, live_server):
        self.browser = browser
        self.live_server = live_server
        self.checked = []
        self.failures = []

    def open(self, page_name, path, heading=None):
        open_page(self.browser, self.live_server.url + path)
        if heading:
            wait_for_heading(self.browser, heading)
        self.check(page_name)

    def check(self, page_name):
        """Runs axe on the page the browser shows now (after a click or a form post)."""
        violations = accessibility_violations(self.browser)
        self.checked.append(page_name)
        if violations:
            self.failures.append(
                describe_violations(page_name, self.browser.current_url, violations)
            )

    def check_with_errors(self, page_name):
        """Runs axe on a form page that the server sent back with errors, as it should have."""
        assert error_summary(self.browser), f"{page_name}: no error summary on the page"
        self.check(page_name)

    def check_reflow(self, page_name):
        """At a phone's width nothing but a table may need sideways scrolling (WCAG 1.4.10)."""
        sticking_out = self.browser.execute_script(
            """
            const width = document.documentElement.clientWidth;
            if (document.documentElement.scrollWidth <= width) return [];
            return [...document.querySelectorAll('body *')]
              .filter((element) => element.getBoundingClientRect().right > width + 1)
              .map((element) => element.outerHTML.slice(0, 100));
            """
        )
        if sticking_out:
            self.failures.append(
                f"{page_name} ({self.browser.current_url}): wider than the window at "
                f"{PHONE_WIDTH}px, past its edge:\n      " + "\n      ".join(sticking_out[:5])
            )

    @contextlib.contextmanager
    def at_phone_width(self):
        """The window of a small phone, as wide as WCAG's reflow criterion asks (320 CSS px)."""
        size = self.browser.get_window_size()
        self.browser.set_window_size(PHONE_WIDTH, 800)
        try:
            yield
        finally:
            self.browser.set_window_size(size["width"], size["height"])

    def log_in(self, user):
        """Logs `user` in through a session cookie; the login form has its own checks."""
        client = Client()
        client.force_login(user)
        open_page(self.browser, self.live_server.url + reverse("home"))
        self.browser.delete_all_cookies()
        self.browser.add_cookie(
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "path": "/",
            }
        )

    def href(self, css):
        """The address of the first link in the main content that matches `css`."""
        link = self.browser.find_element(By.CSS_SELECTOR, f"main {css}")
        return link.get_attribute("href").removeprefix(self.live_server.url)

    def assert_no_violations(self):
        assert not self.failures, (
            f"{len(self.failures)} of {len(self.checked)} pages fail WCAG 2.2 AA checks:\n"
            + "\n".join(self.failures)
        )


def force_field_value(browser, field_id, value):
    """Sets a value the field's own limits (maxlength) would not let anyone type."""
    browser.execute_script(
        "const field = document.getElementById(arguments[0]);"
        "field.removeAttribute('maxlength'); field.value = arguments[1];",
        field_id,
        value,
    )


@pytest.fixture
def audit(live_server, fresh_browser):
    return PageAudit(fresh_browser, live_server)


@pytest.fixture
def clinic_data(db):
    """Two departments, a doctor working at two clinics, another at one, all day every day."""
    cardiology = DepartmentFactory(
        name="Cardiology",
        description="Heart and blood vessels.",
        opens_at=dt.time(0),
        closes_at=dt.time(23, 59),
    )
    DepartmentFactory(name="Dermatology", description="Skin, hair and nails.")
    lakeside = ClinicFactory(name="Lakeside Clinic", timezone="Asia/Kolkata", phone="+914423456789")
    hill_road = ClinicFactory(name="Hill Road Clinic", timezone="Asia/Kolkata")
    menon = DoctorFactory(
        with_account=True,
        full_name="Anil Menon",
        department=cardiology,
        qualifications="MBBS, MD",
        bio="Twenty years in cardiology.",
    )
    works_every_day(menon, lakeside, (0, 12))
    works_every_day(menon, hill_road, (12, 23))
    rao = DoctorFactory(full_name="Sunita Rao", department=cardiology)
    works_every_day(rao, lakeside, (9, 17))
    return {"department": cardiology, "doctor": menon, "clinic": lakeside, "hill_road": hill_road}


def booked_and_paid(*, patient, doctor, clinic, desk_user, day_offset=3):
    """A booking made through the service (so billing charges it), paid in part at the desk."""
    now = timezone.now()
    earliest = now + dt.timedelta(days=day_offset)
    slot = next(
        slot for slot in open_slots(doctor=doctor, clinic=clinic, now=now) if slot.start >= earliest
    )
    appointment = book_appointment(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=slot.start,
        appointment_type=AppointmentType.CONSULTATION,
        payment_mode=PaymentMode.AT_CLINIC,
        by=patient.user or desk_user,
        now=now,
    )
    billing_services.record_payment(
        charge=appointment.charge,
        amount=Decimal("100.00"),
        mode=Payment.Mode.UPI,
        reference="UPI-417203998812",
        by=desk_user,
    )
    return appointment


def test_visitor_pages_meet_wcag_22_aa(audit, clinic_data, patient_user):
    doctor = clinic_data["doctor"]
    # Enough doctors for the list to need a second page.
    DoctorFactory.create_batch(DOCTORS_PER_PAGE, department=DepartmentFactory(name="Dermatology"))
    browser = audit.browser

    audit.open("home", reverse("home"))
    audit.open("departments", reverse("doctors:departments"), "Departments")
    audit.open("doctors list", reverse("doctors:list"), "Find a doctor")
    audit.open("doctors list, page 2", reverse("doctors:list") + "?page=2", "Find a doctor")
    audit.open(
        "doctors list, filtered",
        reverse("doctors:list") + f"?department={clinic_data['department'].pk}&name=Menon",
        "Find a doctor",
    )
    audit.open("doctor detail", reverse("doctors:detail", args=[doctor.pk]), doctor.full_name)
    audit.open("booking start (logged out)", reverse("bookings:start"), "Book an appointment")

    audit.open("login", reverse("accounts:login"), "Log in")
    fill(browser, "Email address", patient_user.email)
    fill(browser, "Password", "not the password")
    submit(browser, "Log in")
    audit.check_with_errors("login with an error")

    audit.open("sign-up", reverse("accounts:signup"), "Create your account")
    fill(browser, "Email address", "not-an-email")
    fill(browser, "Password", "short")
    submit(browser, "Create account")
    wait_for_heading(browser, "Create your account")
    audit.check_with_errors("sign-up with errors")

    audit.open("password reset", reverse("accounts:password_reset"), "Reset your password")
    submit(browser, "Send reset link")
    audit.check_with_errors("password reset with an error")
    fill(browser, "Email", patient_user.email)
    submit(browser, "Send reset link")
    wait_for_heading(browser, "Check your email")
    audit.check("password reset sent")
    reset_url = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(patient_user.pk)),
            "token": default_token_generator.make_token(patient_user),
        },
    )
    audit.open("password reset: new password", reset_url, "Choose a new password")
    submit(browser, "Set new password")
    audit.check_with_errors("password reset: new password with errors")
    audit.open(
        "password reset: complete",
        reverse("accounts:password_reset_complete"),
        "Your password has been changed",
    )
    audit.open(
        "password reset: expired link",
        reverse("accounts:password_reset_confirm", kwargs={"uidb64": "MQ", "token": "expired"}),
        "This link has expired",
    )

    audit.open("sign-up sent", reverse("accounts:signup_sent"), "Check your email")
    pending = register_patient(
        email="pending@example.com",
        password="Violet-Harbour-2718",
        full_name="Asha Raman",
        date_of_birth=dt.date(1990, 3, 15),
        sex="female",
    )
    confirm_link = reverse(
        "accounts:signup_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(pending.pk)),
            "token": signup_token.make_token(pending),
        },
    )
    audit.open("sign-up: confirm", confirm_link, "Confirm your account")
    audit.open(
        "sign-up: expired confirmation link",
        reverse("accounts:signup_confirm", kwargs={"uidb64": "MQ", "token": "expired"}),
        "This link has expired",
    )
    audit.open("password reset (to be refused)", reverse("accounts:password_reset"))
    with override_settings(THROTTLE_FORMS_PER_IP="0/h"):
        fill(browser, "Email", patient_user.email)
        submit(browser, "Send reset link")
        wait_for_heading(browser, "Too many tries")
        audit.check("too many tries (429)")

    audit.open("404", "/no-such-page/", "Page not found")

    with audit.at_phone_width():
        # The navigation folds into a menu button.
        audit.open("home (phone width)", reverse("home"))
        audit.check_reflow("home (phone width)")
        browser.find_element(By.CSS_SELECTOR, ".navbar-toggler").click()
        wait_until(
            browser,
            lambda d: "show" in d.find_element(By.ID, "main-nav").get_attribute("class").split(),
            "the menu to open",
        )
        audit.check("home (phone width, menu open)")
        audit.open("doctor detail (phone width)", reverse("doctors:detail", args=[doctor.pk]))
        audit.check_reflow("doctor detail (phone width)")
        audit.open(
            "date picker (phone width)",
            reverse("bookings:calendar", args=[doctor.pk, clinic_data["hill_road"].pk]),
        )
        audit.check_reflow("date picker (phone width)")
    audit.assert_no_violations()


def test_patient_pages_meet_wcag_22_aa(audit, clinic_data, front_desk_user):
    doctor, hill_road = clinic_data["doctor"], clinic_data["hill_road"]
    patient = PatientFactory(with_account=True, full_name="Meera Iyer")
    earlier = booked_and_paid(
        patient=patient, doctor=doctor, clinic=hill_road, desk_user=front_desk_user
    )
    browser = audit.browser
    audit.log_in(patient.user)

    audit.open("home (patient)", reverse("home"))
    audit.open("booking: departments", reverse("bookings:start"), "Book an appointment")
    audit.open(
        "booking: department's doctors",
        reverse("bookings:doctors", args=[clinic_data["department"].pk]),
        "Choose a doctor",
    )
    audit.open(
        "booking: clinic choice",
        reverse("bookings:clinics", args=[doctor.pk]),
        "Where would you like to see Anil Menon?",
    )
    audit.open(
        "booking: date picker",
        reverse("bookings:calendar", args=[doctor.pk, hill_road.pk]),
        "Choose a date",
    )
    audit.open("booking: day's times", audit.href("td.day-free a"), "Choose a time")
    audit.open(
        "booking: confirm",
        audit.href("ul[aria-label='Free times'] a"),
        "Confirm your appointment",
    )
    force_field_value(browser, "id_reason", TOO_LONG_REASON)
    submit(browser, "Book this appointment")
    wait_for_heading(browser, "Confirm your appointment")
    audit.check_with_errors("booking: confirm with an error")
    fill(browser, "Reason for the visit", "Breathless on the stairs")
    submit(browser, "Book this appointment")
    wait_for_heading(browser, "Your appointment is booked")
    audit.check("booking: booked")

    audit.open("my appointments", reverse("bookings:mine"), "My appointments")
    audit.open(
        "appointment detail", reverse("bookings:detail", args=[earlier.pk]), "Appointment details"
    )
    audit.open("cancel", reverse("bookings:cancel", args=[earlier.pk]), "Cancel this appointment?")
    force_field_value(browser, "id_reason", TOO_LONG_REASON)
    submit(browser, "Yes, cancel the appointment")
    wait_for_heading(browser, "Cancel this appointment?")
    audit.check_with_errors("cancel with an error")
    audit.open(
        "reschedule: calendar",
        reverse("bookings:reschedule", args=[earlier.pk]),
        "Move your appointment: choose a new date",
    )
    audit.open(
        "reschedule: day", audit.href("td.day-free a"), "Move your appointment: choose a new time"
    )
    audit.open(
        "reschedule: confirm",
        audit.href("ul[aria-label='Free times'] li:last-child a"),
        "Move your appointment?",
    )

    audit.open("my payments", reverse("billing:mine"), "My payments")
    receipt = earlier.charge.ledger.get()
    audit.open("receipt", reverse("billing:receipt", args=[receipt.pk]))

    audit.open("profile", reverse("accounts:profile"), "My details")
    fill(browser, "Full name", "")
    submit(browser, "Save details")
    audit.check_with_errors("profile with an error")
    audit.open("password change", reverse("accounts:password_change"), "Change your password")
    submit(browser, "Change password")
    audit.check_with_errors("password change with errors")
    audit.open("my data", reverse("privacy:my_data"), "My data")
    submit(browser, "Close my account")
    audit.check_with_errors("my data: close account with errors")

    audit.open("404 (patient on the desk's pages)", reverse("desk:queue"), "Page not found")

    with audit.at_phone_width():
        for page_name, path in [
            ("my appointments (phone width)", reverse("bookings:mine")),
            ("appointment detail (phone width)", reverse("bookings:detail", args=[earlier.pk])),
            ("my payments (phone width)", reverse("billing:mine")),
        ]:
            audit.open(page_name, path)
            audit.check_reflow(page_name)
    audit.assert_no_violations()


def test_doctor_pages_meet_wcag_22_aa(audit, clinic_data):
    doctor, lakeside = clinic_data["doctor"], clinic_data["clinic"]
    start = a_slot_later_today(KOLKATA)
    todays = AppointmentFactory(
        doctor=doctor,
        clinic=lakeside,
        patient=PatientFactory(full_name="Ravi Kumar"),
        start=start,
        appointment_type=AppointmentType.FOLLOW_UP,
        reason="Rash on both arms",
    )
    AppointmentFactory(doctor=doctor, clinic=lakeside, status=Status.CANCELLED)
    AppointmentFactory(doctor=doctor, clinic=lakeside, status=Status.COMPLETED)
    TimeOffFactory(doctor=doctor, reason="Conference")
    browser = audit.browser
    audit.log_in(doctor.user)

    today = timezone.now().astimezone(KOLKATA).date()
    audit.open("doctor: today", reverse("schedule:today"))
    audit.open(
        "doctor: another day",
        reverse("schedule:day", kwargs={"day": today + dt.timedelta(days=1)}),
    )
    audit.open("doctor: week", reverse("schedule:week"))
    audit.open("doctor: appointment", reverse("schedule:appointment", args=[todays.pk]))
    audit.open("doctor: time off", reverse("schedule:time_off"), "Time off")
    submit(browser, "Add time off")
    audit.check_with_errors("doctor: time off with errors")
    audit.open("doctor: working hours", reverse("schedule:hours"), "Working hours")
    audit.open("doctor: calendar feed (off)", reverse("schedule:calendar_feed"), "Calendar feed")
    submit(browser, "Turn on my calendar feed")
    audit.check("doctor: calendar feed (on)")
    audit.open("doctor: profile", reverse("accounts:profile"), "My account")
    audit.assert_no_violations()


def test_front_desk_pages_meet_wcag_22_aa(audit, clinic_data, front_desk_user):
    doctor, lakeside = clinic_data["doctor"], clinic_data["clinic"]
    meera = PatientFactory(with_account=True, full_name="Meera Iyer")
    krishnan = PatientFactory(full_name="Meera Krishnan")
    AppointmentFactory(
        doctor=doctor,
        clinic=lakeside,
        patient=meera,
        start=a_slot_later_today(KOLKATA),
        created_by=front_desk_user,
    )
    upcoming = booked_and_paid(
        patient=meera, doctor=doctor, clinic=lakeside, desk_user=front_desk_user
    )
    browser = audit.browser
    audit.log_in(front_desk_user)

    audit.open("desk: arrivals", reverse("desk:queue"), "Today's arrivals")
    audit.open("desk: patients", reverse("desk:patients"), "Patients")
    fill(browser, "Name, phone or email", "Meera")
    submit(browser, "Search")
    audit.check("desk: patients after a search")
    audit.open("desk: patient", reverse("desk:patient", args=[meera.pk]), "Meera Iyer")
    audit.open(
        "desk: edit a patient without a login",
        reverse("desk:patient_edit", args=[krishnan.pk]),
        "Edit Meera Krishnan",
    )
    audit.open("desk: add patient", reverse("desk:patient_new"), "Add a patient")
    submit(browser, "Add patient")
    audit.check_with_errors("desk: add patient with errors")

    audit.open("desk: book", reverse("desk:book"), "Book an appointment")
    audit.open(
        "desk: calendar",
        reverse("desk:calendar", args=[doctor.pk, lakeside.pk]),
        "Book: choose a date",
    )
    audit.open("desk: day", audit.href("td.day-free a"), "Book: choose a time")
    confirm_url = audit.href("ul[aria-label='Free times'] a")
    audit.open("desk: confirm (no patient yet)", confirm_url, "Confirm the booking")
    fill(browser, "Name, phone or email", "Meera")
    submit(browser, "Find patient")
    audit.check("desk: confirm, patients found")
    click_and_wait_for_new_page(
        browser, browser.find_element(By.CSS_SELECTOR, "main ul[aria-label='Patients found'] a")
    )
    wait_for_heading(browser, "Confirm the booking")
    audit.check("desk: confirm with the patient")
    force_field_value(browser, "id_reason", TOO_LONG_REASON)
    submit(browser, "Book for Meera Iyer")
    audit.check_with_errors("desk: confirm with an error")

    audit.open(
        "desk: appointment",
        reverse("desk:appointment", args=[upcoming.pk]),
        "Appointment for Meera Iyer",
    )
    audit.open(
        "desk: record payment", reverse("billing:record", args=[upcoming.pk]), "Record a payment"
    )
    submit(browser, "Record payment")
    audit.check_with_errors("desk: record payment with errors")
    audit.open(
        "desk: cancel",
        reverse("desk:cancel", args=[upcoming.pk]),
        "Cancel Meera Iyer's appointment?",
    )
    submit(browser, "Cancel the appointment")
    audit.check_with_errors("desk: cancel with an error")
    audit.open("desk: reschedule calendar", reverse("desk:reschedule", args=[upcoming.pk]))
    audit.open("desk: reschedule day", audit.href("td.day-free a"))
    audit.open(
        "desk: reschedule confirm",
        audit.href("ul[aria-label='Free times'] a"),
        "Move Meera Iyer's appointment?",
    )
    audit.open(
        "403 (front desk on a patient's page)", reverse("bookings:mine"), "Not available to you"
    )
    audit.open("404 (logged in)", "/no-such-page/", "Page not found")

    # Staff may turn on two-factor codes; from then on a login asks for a code first.
    audit.open("two-factor setup", reverse("accounts:two_factor"), "Two-factor codes")
    submit(browser, "Turn on two-factor codes")
    audit.check_with_errors("two-factor setup with an error")
    TOTPDevice.objects.filter(user=front_desk_user).update(confirmed=True)
    audit.open("two-factor code", reverse("desk:queue"), "Your code")
    submit(browser, "Continue")
    audit.check_with_errors("two-factor code with an error")
    device = TOTPDevice.objects.get(user=front_desk_user)
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    fill(browser, "Code from your authenticator app, or a backup code", f"{totp.token():06d}")
    submit(browser, "Continue")
    audit.open("two-factor codes (on)", reverse("accounts:two_factor"), "Two-factor codes")
    submit(browser, "Make new backup codes")
    wait_for_heading(browser, "Your backup codes")
    audit.check("backup codes")
    audit.assert_no_violations()
