"""A clinic admin reads the appointment trends in headless Chromium against a live server: logs
in through the form, follows the links from the admin's index, sees the chart and the table, and
asks for the figures per month. Nothing is typed into the address bar after the login page."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By

from accounts.tests.factories import DEFAULT_PASSWORD
from bookings.models import Status
from bookings.tests.factories import AppointmentFactory
from clinic.tests.browser import (
    choose,
    click_and_wait_for_new_page,
    fill,
    open_page,
    submit,
    wait_for_heading,
)
from doctors.tests.factories import ClinicFactory, DepartmentFactory, DoctorFactory

pytestmark = [
    pytest.mark.browser,
    # live_server needs a transactional database, which is emptied after each test; the
    # serialized rollback keeps the data migrations' rows (the role groups) for later tests.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

STATUSES = [Status.COMPLETED, Status.NO_SHOW, Status.CANCELLED, Status.COMPLETED, Status.BOOKED]


def click_link(browser, text):
    main = browser.find_element(By.TAG_NAME, "main")
    click_and_wait_for_new_page(browser, main.find_element(By.LINK_TEXT, text))


def bars(browser):
    return browser.find_elements(By.CSS_SELECTOR, "svg.report-chart rect.bar")


def table_rows(browser):
    """The trends table's rows as lists of cell texts (the period is the row's header)."""
    rows = browser.find_elements(By.CSS_SELECTOR, ".report-table table tbody tr")
    return [[cell.text for cell in row.find_elements(By.CSS_SELECTOR, "th, td")] for row in rows]


def test_clinic_admin_reads_appointment_trends_per_week_then_per_month(
    live_server, fresh_browser, clinic_admin_user
):
    clinic = ClinicFactory(name="Lakeside Clinic", timezone="Asia/Kolkata")
    doctor = DoctorFactory(full_name="Anil Menon", department=DepartmentFactory(name="Cardiology"))
    # Five appointments over the last few weeks, well inside the default 90 days.
    today = timezone.now().astimezone(clinic.zone).date()
    for weeks_ago, status in enumerate(STATUSES):
        day = today - dt.timedelta(days=7 * weeks_ago + 1)
        AppointmentFactory(
            doctor=doctor,
            clinic=clinic,
            status=status,
            start=dt.datetime.combine(day, dt.time(10), tzinfo=clinic.zone),
        )
    browser = fresh_browser

    open_page(browser, live_server.url + reverse("accounts:login"))
    wait_for_heading(browser, "Log in")
    fill(browser, "Email address", clinic_admin_user.email)
    fill(browser, "Password", DEFAULT_PASSWORD)
    submit(browser, "Log in")
    # A clinic admin starts in the admin, whose index offers the reports.
    assert browser.current_url == live_server.url + reverse("admin:index")
    caption = browser.find_element(By.CSS_SELECTOR, "#reports-module caption a")
    # The admin's stylesheet writes module captions in capitals.
    assert caption.text.casefold() == "reports"
    click_and_wait_for_new_page(browser, caption)
    wait_for_heading(browser, "Reports")
    click_link(browser, "Appointment trends")
    wait_for_heading(browser, "Appointment trends")

    # The last 90 days by default, shown in the date inputs (which take ISO dates only).
    from_field = browser.find_element(By.ID, "id_start")
    first_day = timezone.localdate() - dt.timedelta(days=89)
    assert from_field.get_attribute("value") == first_day.isoformat()

    # Per week by default: a drawn bar for each week's statuses, and the counts in the table.
    chart = browser.find_element(By.CSS_SELECTOR, "svg.report-chart")
    assert chart.get_attribute("role") == "img"
    drawn = bars(browser)
    assert len(drawn) == len(STATUSES)  # one appointment a week, each week one status
    assert all(bar.rect["height"] > 0 and float(bar.get_attribute("height")) > 0 for bar in drawn)
    weekly = table_rows(browser)
    assert len(weekly) in (13, 14)  # the weeks 90 days touch
    assert all(row[0].startswith("Week of ") for row in weekly)
    assert sum(int(row[-1]) for row in weekly) == len(STATUSES)

    choose(browser, "Per", "Month")
    submit(browser, "Show")
    wait_for_heading(browser, "Appointment trends")
    assert "grain=month" in browser.current_url
    monthly = table_rows(browser)
    assert 3 <= len(monthly) <= 4  # the calendar months 90 days touch
    assert all(re.fullmatch(r"\d{4}-\d{2}", row[0]) for row in monthly)
    assert sum(int(row[-1]) for row in monthly) == len(STATUSES)
    # The same five appointments, drawn per month: a bar per month and status that has any.
    non_zero = sum(1 for row in monthly for cell in row[1:-1] if cell != "0")
    assert len(bars(browser)) == non_zero
    assert all(bar.rect["height"] > 0 for bar in bars(browser))
