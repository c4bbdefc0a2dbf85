"""Finding a doctor as a visitor does it, in headless Chromium against a live server."""

import datetime

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from clinic.tests.browser import (
    choose,
    click_and_wait_for_new_page,
    field_by_label,
    fill,
    nav_link,
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
    # live_server needs a transactional database, which is emptied after each test; the
    # serialized rollback keeps the data migrations' rows (the role groups) for later tests.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def listed_doctors(browser):
    return [a.text for a in browser.find_elements(By.CSS_SELECTOR, "main .list-group-item h2 a")]


def results_count(browser):
    """The screen-reader summary of the search ("2 doctors found.")."""
    summary = browser.find_element(By.CSS_SELECTOR, "main p.visually-hidden[aria-live]")
    return summary.get_attribute("textContent").strip()


def working_hours_table(browser):
    rows = browser.find_elements(By.CSS_SELECTOR, "main table tbody tr")
    return [
        (row.find_element(By.TAG_NAME, "th").text, row.find_element(By.TAG_NAME, "td").text)
        for row in rows
    ]


def test_visitor_filters_doctors_and_sees_working_hours(live_server, fresh_browser):
    cardiology = DepartmentFactory(name="Cardiology")
    dermatology = DepartmentFactory(name="Dermatology")
    asha = DoctorFactory(full_name="Asha Rao", department=cardiology, qualifications="MBBS, MD")
    vikram = DoctorFactory(full_name="Vikram Rao", department=cardiology)
    DoctorFactory(full_name="Ashok Mehta", department=cardiology)
    DoctorFactory(full_name="Priya Rao", department=dermatology)
    DoctorFactory(full_name="Kiran Rao", department=cardiology, is_active=False)

    clinic = ClinicFactory(name="Central Clinic")
    hours = datetime.time
    WorkingHoursFactory(
        doctor=asha, clinic=clinic, weekday=Weekday.MONDAY, starts_at=hours(9), ends_at=hours(13)
    )
    WorkingHoursFactory(
        doctor=asha, clinic=clinic, weekday=Weekday.THURSDAY, starts_at=hours(14), ends_at=hours(18)
    )
    WorkingHoursFactory(
        doctor=asha, clinic=clinic, weekday=Weekday.THURSDAY, starts_at=hours(9), ends_at=hours(12)
    )
    WorkingHoursFactory(
        doctor=vikram, clinic=clinic, weekday=Weekday.TUESDAY, starts_at=hours(8), ends_at=hours(11)
    )

    browser = fresh_browser
    open_page(browser, live_server.url + reverse("home"))
    click_and_wait_for_new_page(browser, nav_link(browser, "Find a doctor"))
    wait_for_heading(browser, "Find a doctor")
    # Unfiltered, every active doctor is listed, so the search below has something to narrow.
    assert listed_doctors(browser) == ["Asha Rao", "Ashok Mehta", "Priya Rao", "Vikram Rao"]

    choose(browser, "Department", "Cardiology")
    fill(browser, "Doctor's name", "rao")
    submit(browser, "Search")

    wait_for_heading(browser, "Find a doctor")
    assert listed_doctors(browser) == ["Asha Rao", "Vikram Rao"]
    assert results_count(browser) == "2 doctors found."
    # The filters the results came from are still shown.
    department = Select(field_by_label(browser, "Department"))
    assert department.first_selected_option.text == "Cardiology"
    assert field_by_label(browser, "Doctor's name").get_attribute("value") == "rao"

    click_and_wait_for_new_page(browser, browser.find_element(By.LINK_TEXT, "Asha Rao"))
    wait_for_heading(browser, "Asha Rao")
    assert browser.current_url == live_server.url + reverse("doctors:detail", args=[asha.pk])
    main = browser.find_element(By.TAG_NAME, "main")
    assert "Cardiology · MBBS, MD" in main.text
    assert "Central Clinic" in main.text
    assert working_hours_table(browser) == [
        ("Monday", "09:00–13:00"),
        ("Thursday", "09:00–12:00\n14:00–18:00"),
    ]
