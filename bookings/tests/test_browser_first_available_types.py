"""First available for a type of visit in headless Chromium against a live server: a patient
chooses a type on the department's page and books one of its first times for that type; the
front desk's booking page offers each department's types, accessibly."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from accounts.tests.factories import DEFAULT_PASSWORD, PatientFactory
from bookings.models import Appointment
from bookings.tests.test_browser import facts, log_in, works_every_day
from bookings.tests.test_browser_first_available import first_available_links, start_of
from clinic.tests.browser import (
    assert_accessible,
    choose,
    click_and_wait_for_new_page,
    fill,
    open_page,
    submit,
    wait_for_heading,
)
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    VisitTypeFactory,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def department_with_types(name, clinic):
    department = DepartmentFactory(name=name, opens_at=dt.time(0), closes_at=dt.time(23))
    works_every_day(DoctorFactory(department=department, slot_minutes=15), clinic, (9, 17))
    VisitTypeFactory(name="First visit", department=department, minutes=30, position=1)
    review = VisitTypeFactory(
        name="Long review", department=department, minutes=45, buffer_after_minutes=15, position=2
    )
    return department, review


def test_patient_books_a_first_time_for_the_type_they_choose(live_server, fresh_browser):
    clinic = ClinicFactory(name="Lakeside Clinic", timezone="Asia/Kolkata")
    cardiology, review = department_with_types("Cardiology", clinic)
    patient = PatientFactory(with_account=True)
    browser = fresh_browser

    open_page(browser, live_server.url + reverse("accounts:login"))
    wait_for_heading(browser, "Log in")
    log_in(browser, patient.user)
    open_page(browser, live_server.url + reverse("bookings:doctors", args=[cardiology.pk]))
    wait_for_heading(browser, "Choose a doctor")
    choose(browser, "Type of visit", "Long review, 45 min")
    submit(browser, "Show times")
    wait_for_heading(browser, "Choose a doctor")
    assert_accessible(browser, "the department's first times for a type of visit")

    links = first_available_links(browser)
    assert links
    for link in links:
        assert parse_qs(urlsplit(link.get_attribute("href")).query)["type"] == [str(review.pk)]
    chosen = start_of(links[0])
    click_and_wait_for_new_page(browser, links[0])
    wait_for_heading(browser, "Confirm your appointment")
    assert facts(browser)["Type of visit"] == "Long review, 45 minutes"
    submit(browser, "Book this appointment")

    wait_for_heading(browser, "Your appointment is booked")
    appointment = Appointment.objects.get()
    assert (appointment.start, appointment.visit_type) == (chosen, review)
    assert appointment.end - appointment.start == dt.timedelta(minutes=45)


def test_desk_booking_page_offers_each_departments_types_accessibly(
    live_server, fresh_browser, front_desk_user
):
    clinic = ClinicFactory(name="Lakeside Clinic", timezone="Asia/Kolkata")
    department_with_types("Cardiology", clinic)
    _, neurology_review = department_with_types("Neurology", clinic)
    browser = fresh_browser

    open_page(browser, live_server.url + reverse("accounts:login"))
    wait_for_heading(browser, "Log in")
    fill(browser, "Email address", front_desk_user.email)
    fill(browser, "Password", DEFAULT_PASSWORD)
    submit(browser, "Log in")
    open_page(browser, live_server.url + reverse("desk:book"))
    wait_for_heading(browser, "Book an appointment")
    assert_accessible(browser, "the desk's booking page with each department's types of visit")

    form = browser.find_element(By.ID, "visit-type-choice-2")
    # Two "Type of visit" fields on the page: Neurology's, in its own form.
    Select(form.find_element(By.TAG_NAME, "select")).select_by_visible_text("Long review, 45 min")
    click_and_wait_for_new_page(browser, form.find_element(By.TAG_NAME, "button"))
    wait_for_heading(browser, "Book an appointment")

    types = {
        heading_id: {
            parse_qs(urlsplit(link.get_attribute("href")).query)["type"][0]
            for link in first_available_links(browser, heading_id)
        }
        for heading_id in ("first-available-1", "first-available-2")
    }
    assert types["first-available-2"] == {str(neurology_review.pk)}
    assert types["first-available-1"] != types["first-available-2"]  # Cardiology's first type
