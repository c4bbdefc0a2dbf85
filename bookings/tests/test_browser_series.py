"""The front desk books a weekly series in headless Chromium against a live server: from the
patient's page to a time, "Book as a series", the preview (one week taken, its suggested time
ticked instead), and the series page; then cancels the last two from an appointment's page."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By

from accounts.tests.factories import PatientFactory
from bookings.models import Appointment, AppointmentSeries, Status
from bookings.scheduling import at
from bookings.tests.factories import AppointmentFactory
from bookings.tests.test_browser import click_link, pick_time, works_every_day
from bookings.tests.test_browser_providers import link_named, log_in, main_text
from clinic.tests.browser import (
    choose,
    click_and_wait_for_new_page,
    fill,
    messages,
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


def test_front_desk_books_a_weekly_series(live_server, fresh_browser, front_desk_user, settings):
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 12
    lakeside = ClinicFactory(name="Lakeside Clinic", timezone="Asia/Kolkata")
    doctor = DoctorFactory(full_name="Anil Menon", department=DepartmentFactory(name="Physio"))
    works_every_day(doctor, lakeside, (9, 13))
    patient = PatientFactory(full_name="Asha Verma")
    tomorrow = timezone.now().astimezone(KOLKATA).date() + dt.timedelta(days=1)
    # The second week's 10:00 is taken already.
    AppointmentFactory(
        doctor=doctor,
        clinic=lakeside,
        start=at(tomorrow + dt.timedelta(days=7), dt.time(10), KOLKATA),
    )
    browser = fresh_browser

    log_in(browser, live_server, front_desk_user)
    wait_for_heading(browser, "Today's arrivals")
    open_page(browser, live_server.url + reverse("desk:patient", kwargs={"pk": patient.pk}))
    wait_for_heading(browser, "Asha Verma")
    click_link(browser, "Book an appointment")
    wait_for_heading(browser, "Book an appointment")
    click_and_wait_for_new_page(browser, link_named(browser, "Lakeside Clinic: book Anil Menon"))
    wait_for_heading(browser, "Book: choose a date")
    # The desk's day links carry the patient in their query.
    day_link = next(
        link
        for link in browser.find_elements(
            By.CSS_SELECTOR, "main table.booking-calendar td.day-free a"
        )
        if f"/{tomorrow.isoformat()}/" in link.get_attribute("href")
    )
    click_and_wait_for_new_page(browser, day_link)
    wait_for_heading(browser, "Book: choose a time")
    assert pick_time(browser, 4) == dt.time(10)
    wait_for_heading(browser, "Confirm the booking")
    click_link(browser, "Book as a series")

    wait_for_heading(browser, "Book a series for Asha Verma")
    fill(browser, "Every", "1")
    choose(browser, "Days or weeks", "Weeks")
    fill(browser, "Number of appointments", "3")
    submit(browser, "Show the times")

    wait_for_heading(browser, "Book a series for Asha Verma")
    rows = browser.find_elements(By.CSS_SELECTOR, "main table tbody tr")
    assert [row.find_elements(By.TAG_NAME, "td")[3].text for row in rows] == [
        "Free",
        "Not free",
        "Free",
    ]
    suggestion = browser.find_element(By.ID, "take-2")
    label = browser.find_element(By.CSS_SELECTOR, "label[for='take-2']").text
    assert label.endswith("at 10:15 instead"), label
    assert not suggestion.is_selected()
    suggestion.click()
    submit(browser, "Book the ticked times")

    wait_for_heading(browser, "Series for Asha Verma")
    assert "Booked 3 appointments in the series for Asha Verma." in messages(browser)
    series = AppointmentSeries.objects.get()
    starts = [
        start.astimezone(KOLKATA)
        for start in Appointment.objects.filter(series_link__series=series)
        .order_by("start")
        .values_list("start", flat=True)
    ]
    assert [(s.date(), s.time()) for s in starts] == [
        (tomorrow, dt.time(10)),
        (tomorrow + dt.timedelta(days=7), dt.time(10, 15)),
        (tomorrow + dt.timedelta(days=14), dt.time(10)),
    ]
    assert len(browser.find_elements(By.CSS_SELECTOR, "main table tbody tr")) == 3

    # The second one's page: cancel it and the later one.
    browser.find_elements(By.CSS_SELECTOR, "main table tbody tr a")[1].click()
    wait_for_heading(browser, "Appointment for Asha Verma")
    assert "Part of a series" in main_text(browser)
    click_link(browser, "Cancel this and the 1 later one")
    wait_for_heading(browser, "Cancel this and the later appointments of the series?")
    fill(browser, "Reason for cancelling", "Treatment finished early")
    submit(browser, "Cancel 2 appointments")
    wait_for_heading(browser, "Appointment for Asha Verma")
    assert "2 appointments cancelled and their times released." in messages(browser)
    statuses = list(
        Appointment.objects.filter(series_link__series=series)
        .order_by("start")
        .values_list("status", flat=True)
    )
    assert statuses == [Status.BOOKED, Status.CANCELLED, Status.CANCELLED]
