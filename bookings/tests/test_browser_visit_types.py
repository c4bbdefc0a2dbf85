"""A patient books a 45-minute visit in headless Chromium: chooses the type on the date picker,
sees the times for it, and confirms with its length and price shown."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By

from accounts.tests.factories import PatientFactory
from bookings.models import Appointment
from bookings.tests.test_browser import (
    KOLKATA,
    click_link,
    facts,
    free_times,
    log_in,
    works_every_day,
)
from clinic.tests.browser import (
    assert_accessible,
    choose,
    click_and_wait_for_new_page,
    nav_link,
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


def bookable_days(browser):
    """The date picker's links as (date, link): the address is the day's page, then the type."""
    links = browser.find_elements(By.CSS_SELECTOR, "main table.booking-calendar td.day-free a")
    path = [link.get_attribute("href").split("?")[0] for link in links]
    return [
        (dt.date.fromisoformat(address.rstrip("/").rsplit("/", 1)[1]), link)
        for address, link in zip(path, links, strict=True)
    ]


def test_patient_books_a_45_minute_visit(live_server, fresh_browser):
    dermatology = DepartmentFactory(name="Dermatology", opens_at=dt.time(8), closes_at=dt.time(20))
    clinic = ClinicFactory(name="Hillside Clinic", timezone="Asia/Kolkata")
    doctor = DoctorFactory(full_name="Kavya Rao", department=dermatology, slot_minutes=15)
    works_every_day(doctor, clinic, (9, 12))
    VisitTypeFactory(name="Follow-up", department=dermatology, minutes=10, position=1)
    VisitTypeFactory(
        name="Minor procedure",
        department=dermatology,
        minutes=45,
        buffer_after_minutes=15,
        position=2,
        fee=Decimal("2400.00"),
    )
    patient = PatientFactory(with_account=True)
    browser = fresh_browser

    open_page(browser, live_server.url + reverse("accounts:login"))
    wait_for_heading(browser, "Log in")
    log_in(browser, patient.user)
    click_and_wait_for_new_page(browser, nav_link(browser, "Book an appointment"))
    click_link(browser, "Dermatology")
    wait_for_heading(browser, "Choose a doctor")
    click_link(browser, "Kavya Rao")
    wait_for_heading(browser, "Choose a date")

    # The default is the first type; choose the procedure and show its times.
    assert "Follow-up, 10 min" in browser.find_element(By.ID, "id_visit_type").text
    choose(browser, "Type of visit", "Minor procedure, 45 min")
    submit(browser, "Show times")
    wait_for_heading(browser, "Choose a date")
    assert "45 minutes" in browser.find_element(By.ID, "visit-type-length").text
    assert_accessible(browser, "date picker with a visit type")

    today = timezone.now().astimezone(KOLKATA).date()
    day, link = next((day, link) for day, link in bookable_days(browser) if day > today)
    click_and_wait_for_new_page(browser, link)
    wait_for_heading(browser, "Choose a time")
    # 09:00-12:00 on a 15-minute grid: 45 minutes and 15 after must end by 12:00.
    times = free_times(browser)
    expected = [f"{hour:02}:{minute:02}" for hour in (9, 10) for minute in (0, 15, 30, 45)]
    assert [time.text for time in times] == [*expected, "11:00"]
    assert times[1].get_attribute("aria-label") == "09:15 to 10:00"
    click_and_wait_for_new_page(browser, times[1])

    wait_for_heading(browser, "Confirm your appointment")
    shown = facts(browser)
    assert shown["Type of visit"] == "Minor procedure, 45 minutes"
    assert shown["When"].endswith("09:15–10:00 (Asia/Kolkata time)")
    assert "2,400.00" in shown["Consultation fee"]
    submit(browser, "Book this appointment")
    wait_for_heading(browser, "Your appointment is booked")

    appointment = Appointment.objects.get()
    assert appointment.visit_type.name == "Minor procedure"
    assert appointment.start.astimezone(KOLKATA).date() == day
    assert appointment.end - appointment.start == dt.timedelta(minutes=45)


def test_patient_books_a_weekly_series_of_a_type_that_allows_it(
    live_server, fresh_browser, settings
):
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 6
    physio = DepartmentFactory(name="Physiotherapy", opens_at=dt.time(8), closes_at=dt.time(20))
    clinic = ClinicFactory(name="Riverside Clinic", timezone="Asia/Kolkata")
    doctor = DoctorFactory(full_name="Meera Pillai", department=physio, slot_minutes=30)
    works_every_day(doctor, clinic, (9, 12))
    VisitTypeFactory(
        name="Exercise session",
        department=physio,
        minutes=45,
        buffer_after_minutes=15,
        fee=Decimal("900.00"),
        patients_may_book_series=True,
    )
    patient = PatientFactory(with_account=True)
    browser = fresh_browser

    open_page(browser, live_server.url + reverse("accounts:login"))
    wait_for_heading(browser, "Log in")
    log_in(browser, patient.user)
    click_and_wait_for_new_page(browser, nav_link(browser, "Book an appointment"))
    click_link(browser, "Physiotherapy")
    wait_for_heading(browser, "Choose a doctor")
    click_link(browser, "Meera Pillai")
    wait_for_heading(browser, "Choose a date")
    today = timezone.now().astimezone(KOLKATA).date()
    day, link = next((day, link) for day, link in bookable_days(browser) if day > today)
    click_and_wait_for_new_page(browser, link)
    wait_for_heading(browser, "Choose a time")
    first = free_times(browser)[0]
    assert first.text == "09:00"
    click_and_wait_for_new_page(browser, first)
    wait_for_heading(browser, "Confirm your appointment")
    click_link(browser, "Book as a series")

    wait_for_heading(browser, "Book a series of appointments")
    assert "Exercise session, 45 minutes" in browser.find_element(By.ID, "series-visit-type").text
    choose(browser, "Days or weeks", "Weeks")
    browser.find_element(By.ID, "id_count").clear()
    browser.find_element(By.ID, "id_count").send_keys("3")
    submit(browser, "Show the times")
    wait_for_heading(browser, "Book a series of appointments")
    rows = browser.find_elements(By.CSS_SELECTOR, "main table tbody tr")
    assert [row.find_elements(By.TAG_NAME, "td")[3].text for row in rows] == ["Free"] * 3
    assert_accessible(browser, "the patient's series preview")
    submit(browser, "Book the ticked times")

    wait_for_heading(browser, "My appointments")
    mine = list(Appointment.objects.filter(patient=patient).order_by("start"))
    assert [a.start.astimezone(KOLKATA).date() for a in mine] == [
        day + dt.timedelta(days=7 * week) for week in range(3)
    ]
    assert {a.visit_type.name for a in mine} == {"Exercise session"}
    assert {a.series_link.series_id for a in mine} == {mine[0].series_link.series_id}
