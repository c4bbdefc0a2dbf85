"""Booking with the keyboard alone, in headless Chromium against a live server: Tab, Shift+Tab,
Enter, Space and the arrow keys, never a click. The focus must always be visible, the skip link
must work, and a form sent back with errors must put the focus on its error summary."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from accounts.tests.factories import DEFAULT_PASSWORD, PatientFactory
from bookings.models import Appointment, AppointmentType, Status
from bookings.tests.test_browser import KOLKATA, SLOT, facts, local, when, works_every_day
from clinic.tests.browser import (
    assert_focus_is_visible,
    describe_element,
    focused_element,
    heading,
    open_page,
    press,
    press_and_wait_for_new_page,
    press_shift_tab,
    tab_to_text,
    tab_until,
    wait_for_heading,
)
from doctors.tests.factories import ClinicFactory, DepartmentFactory, DoctorFactory

pytestmark = [
    pytest.mark.browser,
    # As in test_browser.py: live_server needs a transactional database; the serialized
    # rollback keeps the data migrations' role groups for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DAY_PAGE = re.compile(r"/book/doctors/\d+/clinics/\d+/(\d{4}-\d{2}-\d{2})/$")


def skip_to_main_content(browser):
    """The first Tab on a page shows the skip link; Enter puts the focus on the main content."""
    skip_link = tab_until(browser, lambda element: True, "the first focusable element")
    assert skip_link.text == "Skip to main content", describe_element(browser, skip_link)
    assert_focus_is_visible(browser, skip_link)
    press(browser, Keys.ENTER)
    assert focused_element(browser).get_attribute("id") == "main"


def is_day_link_after(day):
    """Matches the date picker's link of a bookable day later than `day`."""

    def matches(element):
        found = DAY_PAGE.search(element.get_attribute("href") or "")
        return found is not None and dt.date.fromisoformat(found[1]) > day

    return matches


def field_error_ids(browser, field):
    """The ids of the error messages shown for a form field (crispy's error_<n>_<field id>)."""
    field_id = field.get_attribute("id")
    return [
        message.get_attribute("id")
        for message in browser.find_elements(By.CSS_SELECTOR, f"[id^='error_'][id$='_{field_id}']")
    ]


def test_patient_books_an_appointment_with_the_keyboard_alone(live_server, fresh_browser):
    cardiology = DepartmentFactory(name="Cardiology", opens_at=dt.time(8), closes_at=dt.time(20))
    lakeside = ClinicFactory(name="Lakeside Clinic", timezone="Asia/Kolkata")
    doctor = DoctorFactory(full_name="Anil Menon", department=cardiology)
    works_every_day(doctor, lakeside, (9, 13))
    patient = PatientFactory(with_account=True, full_name="Meera Iyer")
    browser = fresh_browser

    open_page(browser, live_server.url + reverse("home"))
    skip_to_main_content(browser)
    # Back from the main content into the header: the language switcher's button and choice,
    # then the navigation's Sign up and Log in.
    press_shift_tab(browser)
    switch = focused_element(browser)
    assert switch.text == "Change language"
    assert_focus_is_visible(browser, switch)
    press_shift_tab(browser)
    assert focused_element(browser).get_attribute("id") == "language-select"
    press_shift_tab(browser)
    assert focused_element(browser).text == "Sign up"
    press_shift_tab(browser)
    log_in_link = focused_element(browser)
    assert log_in_link.text == "Log in"
    assert_focus_is_visible(browser, log_in_link)
    press_and_wait_for_new_page(browser, Keys.ENTER)
    wait_for_heading(browser, "Log in")

    # The login page starts in its email field (Django's autofocus); Enter there sends the form,
    # with the password still empty.
    email = focused_element(browser)
    assert email.get_attribute("type") == "email"
    assert_focus_is_visible(browser, email)
    press(browser, patient.user.email)
    press_and_wait_for_new_page(browser, Keys.ENTER)
    wait_for_heading(browser, "Log in")
    summary = focused_element(browser)
    assert summary.get_attribute("id") == "form-errors"
    assert_focus_is_visible(browser, summary)
    assert "Password: This field is required." in summary.text
    password = browser.find_element(By.ID, "id_password")
    assert password.get_attribute("aria-invalid") == "true"
    [error_id] = field_error_ids(browser, password)
    assert error_id in password.get_attribute("aria-describedby").split()
    # The summary's entry leads to the field.
    entry = tab_to_text(browser, "Password")
    assert_focus_is_visible(browser, entry)
    press(browser, Keys.ENTER)
    assert focused_element(browser) == password
    press(browser, DEFAULT_PASSWORD)
    press_and_wait_for_new_page(browser, Keys.ENTER)

    # Logged in; the navigation leads to the booking pages.
    book = tab_to_text(browser, "Book an appointment")
    assert_focus_is_visible(browser, book)
    press_and_wait_for_new_page(browser, Keys.ENTER)
    wait_for_heading(browser, "Book an appointment")

    skip_to_main_content(browser)
    tab_to_text(browser, "Cardiology")
    press_and_wait_for_new_page(browser, Keys.ENTER)
    wait_for_heading(browser, "Choose a doctor")

    skip_to_main_content(browser)
    tab_to_text(browser, "Anil Menon")
    press_and_wait_for_new_page(browser, Keys.ENTER)
    # One clinic: the clinic step skips itself.
    wait_for_heading(browser, "Choose a date")

    # Today is passed over, as in test_browser.py: a time a few hours away may be past the notice.
    today = timezone.now().astimezone(KOLKATA).date()
    skip_to_main_content(browser)
    day_link = tab_until(browser, is_day_link_after(today), "a bookable day after today")
    assert_focus_is_visible(browser, day_link)
    day = dt.date.fromisoformat(DAY_PAGE.search(day_link.get_attribute("href"))[1])
    press_and_wait_for_new_page(browser, Keys.ENTER)
    wait_for_heading(browser, "Choose a time")

    skip_to_main_content(browser)
    time_link = tab_to_text(browser, "09:30")
    assert_focus_is_visible(browser, time_link)
    press_and_wait_for_new_page(browser, Keys.ENTER)
    wait_for_heading(browser, "Confirm your appointment")
    start = dt.time(9, 30)
    assert facts(browser)["When"] == when(day, start)

    skip_to_main_content(browser)
    visit_type = tab_until(
        browser,
        lambda element: element.get_attribute("id") == "id_appointment_type",
        "the Type of visit field",
    )
    assert_focus_is_visible(browser, visit_type)
    press(browser, Keys.ARROW_DOWN)  # Consultation -> Follow-up, without opening the list
    assert visit_type.get_attribute("value") == AppointmentType.FOLLOW_UP
    tab_until(
        browser, lambda element: element.tag_name == "textarea", "the Reason for the visit field"
    )
    press(browser, "Breathless on the stairs")
    submit_button = tab_to_text(browser, "Book this appointment")
    assert_focus_is_visible(browser, submit_button)
    press_and_wait_for_new_page(browser, Keys.SPACE)

    wait_for_heading(browser, "Your appointment is booked")
    booked = facts(browser)
    assert booked["When"] == when(day, start)
    assert booked["Type of visit"] == "Follow-up"
    assert booked["Reason for the visit"] == "Breathless on the stairs"
    appointment = Appointment.objects.get()
    assert (appointment.patient, appointment.doctor, appointment.clinic) == (
        patient,
        doctor,
        lakeside,
    )
    assert (appointment.start, appointment.end) == (local(day, start), local(day, start) + SLOT)
    assert appointment.appointment_type == AppointmentType.FOLLOW_UP
    assert appointment.status == Status.BOOKED
    assert heading(browser) == "Your appointment is booked"
