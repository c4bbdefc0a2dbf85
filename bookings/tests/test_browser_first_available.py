"""First available in headless Chromium against a live server: a patient books one of a
department's first free times in three clicks, and the front desk one of a doctor's across their
clinics for a chosen patient; every step is a link or button on the pages."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By

from accounts.tests.factories import DEFAULT_PASSWORD, PatientFactory
from bookings.forms import parse_slot_token
from bookings.models import Appointment, SlotHold, Status
from bookings.tests.test_browser import facts, log_in, long_date, works_every_day
from clinic.tests.browser import (
    assert_accessible,
    click_and_wait_for_new_page,
    fill,
    nav_link,
    open_page,
    submit,
    wait_for_heading,
)
from doctors.tests.factories import ClinicFactory, DepartmentFactory, DoctorFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

KOLKATA = ZoneInfo("Asia/Kolkata")
LONDON = ZoneInfo("Europe/London")
SLOT = dt.timedelta(minutes=15)  # DoctorFactory's slot_minutes


def first_available_links(browser, heading_id="first-available"):
    section = browser.find_element(By.CSS_SELECTOR, f"main section[aria-labelledby='{heading_id}']")
    return section.find_elements(By.CSS_SELECTOR, "ul li a")


def start_of(link):
    """The time a first-available link leads to confirm (its `start` parameter)."""
    query = parse_qs(urlsplit(link.get_attribute("href")).query)
    return parse_slot_token(query["start"][0])


def link_text(start, zone, doctor_name):
    local = start.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b} at {local:%H:%M} with {doctor_name}"


def test_patient_books_a_departments_first_available_time(live_server, fresh_browser):
    cardiology = DepartmentFactory(name="Cardiology", opens_at=dt.time(0), closes_at=dt.time(23))
    lakeside = ClinicFactory(name="Lakeside Clinic", timezone="Asia/Kolkata")
    riverside = ClinicFactory(name="Riverside Clinic", timezone="Europe/London")
    works_every_day(DoctorFactory(full_name="Anil Menon", department=cardiology), lakeside, (9, 17))
    works_every_day(
        DoctorFactory(full_name="Hannah Lee", department=cardiology), riverside, (9, 17)
    )
    patient = PatientFactory(with_account=True, full_name="Meera Iyer")
    browser = fresh_browser

    open_page(browser, live_server.url + reverse("accounts:login"))
    wait_for_heading(browser, "Log in")
    log_in(browser, patient.user)
    click_and_wait_for_new_page(browser, nav_link(browser, "Book an appointment"))
    wait_for_heading(browser, "Book an appointment")
    click_and_wait_for_new_page(
        browser, browser.find_element(By.TAG_NAME, "main").find_element(By.LINK_TEXT, "Cardiology")
    )
    wait_for_heading(browser, "Choose a doctor")
    assert_accessible(browser, "the department's doctors with first available times")

    links = first_available_links(browser)
    assert len(links) == 5
    starts = [start_of(link) for link in links]
    assert starts == sorted(starts)
    assert starts[0] > timezone.now()
    # Each link says the time in its clinic's own zone and the doctor.
    for link, start in zip(links, starts, strict=True):
        zone = LONDON if "Hannah Lee" in link.text else KOLKATA
        doctor_name = "Hannah Lee" if zone is LONDON else "Anil Menon"
        assert link.text == link_text(start, zone, doctor_name)

    chosen, chosen_text = starts[0], links[0].text
    click_and_wait_for_new_page(browser, links[0])
    wait_for_heading(browser, "Confirm your appointment")
    doctor_name = chosen_text.rsplit(" with ", 1)[1]
    zone = LONDON if doctor_name == "Hannah Lee" else KOLKATA
    local = chosen.astimezone(zone)
    assert facts(browser)["When"] == (
        f"{long_date(local.date())}, {local:%H:%M}–{(local + SLOT):%H:%M} ({zone.key} time)"
    )
    assert facts(browser)["Doctor"] == f"{doctor_name}, Cardiology"
    assert browser.find_element(By.ID, "hold-notice").is_displayed()
    fill(browser, "Reason for the visit", "Chest pain on the stairs")
    submit(browser, "Book this appointment")

    wait_for_heading(browser, "Your appointment is booked")
    appointment = Appointment.objects.select_related("doctor").get()
    assert (appointment.patient, appointment.start, appointment.status) == (
        patient,
        chosen,
        Status.BOOKED,
    )
    assert appointment.doctor.full_name == doctor_name
    assert not SlotHold.objects.exists()  # the booking used the hold


def test_front_desk_books_a_doctors_first_available_time_for_a_patient(
    live_server, fresh_browser, front_desk_user
):
    dermatology = DepartmentFactory(name="Dermatology", opens_at=dt.time(0), closes_at=dt.time(23))
    lakeside = ClinicFactory(name="Lakeside Clinic", timezone="Asia/Kolkata")
    riverside = ClinicFactory(name="Riverside Clinic", timezone="Europe/London")
    doctor = DoctorFactory(full_name="Farah Khan", department=dermatology)
    works_every_day(doctor, lakeside, (9, 13))
    works_every_day(doctor, riverside, (14, 17))
    patient = PatientFactory(full_name="Ravi Kumar")
    browser = fresh_browser

    open_page(browser, live_server.url + reverse("accounts:login"))
    wait_for_heading(browser, "Log in")
    fill(browser, "Email address", front_desk_user.email)
    fill(browser, "Password", DEFAULT_PASSWORD)
    submit(browser, "Log in")
    open_page(browser, f"{live_server.url}{reverse('desk:book')}?patient={patient.pk}")
    wait_for_heading(browser, "Book an appointment")
    assert_accessible(browser, "the desk's booking page with first available times")
    assert len(first_available_links(browser, "first-available-1")) == 5

    button = browser.find_element(By.TAG_NAME, "main").find_element(
        By.XPATH, ".//a[normalize-space()='First available with Farah Khan']"
    )
    click_and_wait_for_new_page(browser, button)
    wait_for_heading(browser, "First available with Farah Khan")
    assert_accessible(browser, "the desk's first available times of a doctor")
    links = first_available_links(browser)
    starts = [start_of(link) for link in links]
    assert starts == sorted(starts) and len(starts) == 5

    chosen = starts[0]
    click_and_wait_for_new_page(browser, links[0])
    wait_for_heading(browser, "Confirm the booking")
    submit(browser, "Book for Ravi Kumar")

    appointment = Appointment.objects.get()
    assert (appointment.patient, appointment.doctor, appointment.start) == (patient, doctor, chosen)
    assert appointment.created_by == front_desk_user
