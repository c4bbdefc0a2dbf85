"""Booking, moving and cancelling an appointment as a patient does it, in headless Chromium
against a live server: every step is a link or button on the pages, nothing typed into the
address bar after logging in."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By

from accounts.tests.factories import DEFAULT_PASSWORD, PatientFactory
from bookings.models import Appointment, AppointmentType, Status
from clinic.tests.browser import (
    choose,
    click_and_wait_for_new_page,
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
    # live_server needs a transactional database, which is emptied after each test; the
    # serialized rollback keeps the data migrations' rows (the role groups) for later tests.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

KOLKATA = ZoneInfo("Asia/Kolkata")
SLOT = dt.timedelta(minutes=15)  # DoctorFactory's slot_minutes


def works_every_day(doctor, clinic, *stretches):
    """Working hours on all seven weekdays, so the test holds whatever day it runs."""
    for weekday in Weekday:
        for starts_at, ends_at in stretches:
            WorkingHoursFactory(
                doctor=doctor,
                clinic=clinic,
                weekday=weekday,
                starts_at=dt.time(starts_at),
                ends_at=dt.time(ends_at),
            )


def log_in(browser, user):
    """Fills and sends the login form on the page; done when the navigation is a patient's.

    Where a patient lands is the login page's business, not this test's.
    """
    fill(browser, "Email address", user.email)
    fill(browser, "Password", DEFAULT_PASSWORD)
    submit(browser, "Log in")
    assert "My appointments" in navigation_items(browser), navigation_items(browser)


def click_link(browser, text):
    """Follows the link in the main content with exactly this visible text."""
    main = browser.find_element(By.TAG_NAME, "main")
    click_and_wait_for_new_page(browser, main.find_element(By.LINK_TEXT, text))


def bookable_days(browser):
    """The date picker's links, in date order, as (date, link) pairs."""
    links = browser.find_elements(By.CSS_SELECTOR, "main table.booking-calendar td.day-free a")
    days = []
    for link in links:
        # The address ends in the ISO date; the name is what a screen reader announces.
        day = dt.date.fromisoformat(link.get_attribute("href").rstrip("/").rsplit("/", 1)[1])
        label = link.accessible_name
        assert label.startswith(f"{long_date(day, year=False)}: "), label
        days.append((day, link))
    return days


def pick_day_after(browser, earliest):
    """Clicks the first bookable day later than `earliest`; returns that date.

    Today is passed over on purpose: a time a few hours away could not be moved or cancelled
    online (the patient cut-off), and the rest of the flow does both.
    """
    day, link = next((day, link) for day, link in bookable_days(browser) if day > earliest)
    click_and_wait_for_new_page(browser, link)
    return day


def free_times(browser):
    return browser.find_elements(By.CSS_SELECTOR, "main ul[aria-label='Free times'] li a")


def pick_time(browser, index):
    """Clicks the free time at `index` of the day's list; returns its start as shown."""
    link = free_times(browser)[index]
    shown = link.text
    start = dt.datetime.strptime(shown, "%H:%M")
    assert link.get_attribute("aria-label") == f"{shown} to {(start + SLOT):%H:%M}"
    click_and_wait_for_new_page(browser, link)
    return dt.time.fromisoformat(shown)


def long_date(day, year=True):
    """A date as the pages write it ("l j F Y"), e.g. "Tuesday 3 March 2026"."""
    text = f"{day:%A} {day.day} {day:%B}"
    return f"{text} {day.year}" if year else text


def when(day, start):
    """The "When" line of an appointment's facts."""
    end = (dt.datetime.combine(day, start) + SLOT).time()
    return f"{long_date(day)}, {start:%H:%M}–{end:%H:%M} (Asia/Kolkata time)"


def table_when(day, start):
    """The "When" cell of the appointment tables ("D j M Y, H:i")."""
    return f"{day:%a} {day.day} {day:%b} {day.year}, {start:%H:%M}"


def facts(browser):
    """The main content's description list (an appointment's facts) as a dict."""
    dl = browser.find_element(By.CSS_SELECTOR, "main dl")
    terms = [term.text for term in dl.find_elements(By.TAG_NAME, "dt")]
    details = [detail.text for detail in dl.find_elements(By.TAG_NAME, "dd")]
    return dict(zip(terms, details, strict=True))


def appointment_rows(browser, section_heading_id):
    """The rows of a My appointments section as lists of cell texts, with each row's link."""
    section = browser.find_element(
        By.CSS_SELECTOR, f"main section[aria-labelledby='{section_heading_id}']"
    )
    rows = section.find_elements(By.CSS_SELECTOR, "tbody tr")
    return [
        (
            [cell.text for cell in row.find_elements(By.TAG_NAME, "td")][:4],
            row.find_element(By.TAG_NAME, "a"),
        )
        for row in rows
    ]


def lead(browser):
    return browser.find_element(By.CSS_SELECTOR, "main .lead").text


def section_text(browser, section_heading_id):
    return browser.find_element(
        By.CSS_SELECTOR, f"main section[aria-labelledby='{section_heading_id}']"
    ).text


def local(day, start):
    return dt.datetime.combine(day, start, tzinfo=KOLKATA)


def test_patient_books_moves_and_cancels_an_appointment(live_server, fresh_browser):
    cardiology = DepartmentFactory(name="Cardiology", opens_at=dt.time(8), closes_at=dt.time(20))
    lakeside = ClinicFactory(name="Lakeside Clinic", timezone="Asia/Kolkata")
    doctor = DoctorFactory(full_name="Anil Menon", department=cardiology)
    works_every_day(doctor, lakeside, (9, 13), (14, 17))
    patient = PatientFactory(with_account=True, full_name="Meera Iyer")
    doctor_cell = "Anil Menon\nCardiology"
    browser = fresh_browser

    open_page(browser, live_server.url + reverse("accounts:login"))
    wait_for_heading(browser, "Log in")
    log_in(browser, patient.user)

    # Department -> doctor; the clinic step skips itself for a doctor at one clinic.
    click_and_wait_for_new_page(browser, nav_link(browser, "Book an appointment"))
    wait_for_heading(browser, "Book an appointment")
    click_link(browser, "Cardiology")
    wait_for_heading(browser, "Choose a doctor")
    click_link(browser, "Anil Menon")
    wait_for_heading(browser, "Choose a date")
    assert browser.current_url == live_server.url + reverse(
        "bookings:calendar", kwargs={"doctor_id": doctor.pk, "clinic_id": lakeside.pk}
    )

    today = timezone.now().astimezone(KOLKATA).date()
    first_day = pick_day_after(browser, today)
    wait_for_heading(browser, "Choose a time")
    assert f"on {long_date(first_day)}." in lead(browser)
    # A whole day ahead: 09:00-13:00 and 14:00-17:00 in 15-minute slots, lunch left out.
    shown_times = [link.text for link in free_times(browser)]
    assert len(shown_times) == 28
    assert shown_times[:2] == ["09:00", "09:15"]
    assert shown_times[15:17] == ["12:45", "14:00"]
    first_time = pick_time(browser, 2)

    wait_for_heading(browser, "Confirm your appointment")
    assert facts(browser)["When"] == when(first_day, first_time)
    assert facts(browser)["Doctor"] == "Anil Menon, Cardiology"
    choose(browser, "Type of visit", "Follow-up")
    fill(browser, "Reason for the visit", "Breathless on the stairs")
    submit(browser, "Book this appointment")

    wait_for_heading(browser, "Your appointment is booked")
    booked = facts(browser)
    assert booked["When"] == when(first_day, first_time)
    assert booked["Doctor"] == "Anil Menon, Cardiology"
    assert booked["Where"].startswith("Lakeside Clinic\n")
    assert booked["Type of visit"] == "Follow-up"
    assert booked["Reason for the visit"] == "Breathless on the stairs"
    assert booked["Status"] == "Booked"

    click_and_wait_for_new_page(browser, nav_link(browser, "My appointments"))
    wait_for_heading(browser, "My appointments")
    [(cells, details_link)] = appointment_rows(browser, "upcoming-heading")
    assert cells == [table_when(first_day, first_time), doctor_cell, "Lakeside Clinic", "Booked"]
    assert "Nothing here yet." in section_text(browser, "past-heading")

    # Move it to another day and time.
    click_and_wait_for_new_page(browser, details_link)
    wait_for_heading(browser, "Appointment details")
    assert facts(browser)["When"] == when(first_day, first_time)
    click_link(browser, "Move to another time")
    wait_for_heading(browser, "Move your appointment: choose a new date")
    note = browser.find_element(By.CSS_SELECTOR, "main .alert-secondary").text
    assert f"now on {long_date(first_day)} at {first_time:%H:%M}." in note
    second_day = pick_day_after(browser, first_day)
    wait_for_heading(browser, "Move your appointment: choose a new time")
    second_time = pick_time(browser, -1)
    assert second_time == dt.time(16, 45)

    wait_for_heading(browser, "Move your appointment?")
    moving = facts(browser)
    assert moving["From"] == f"{long_date(first_day)}, {first_time:%H:%M}"
    assert moving["To"] == when(second_day, second_time)
    submit(browser, "Move my appointment")

    wait_for_heading(browser, "Appointment details")
    assert messages(browser) == ["Your appointment has been moved. The old time is released."]
    moved = facts(browser)
    assert moved["When"] == when(second_day, second_time)
    assert moved["Status"] == "Booked"
    assert moved["Type of visit"] == "Follow-up"
    assert "Moved here from an earlier time." in browser.find_element(By.TAG_NAME, "main").text

    click_and_wait_for_new_page(browser, nav_link(browser, "My appointments"))
    wait_for_heading(browser, "My appointments")
    [(cells, details_link)] = appointment_rows(browser, "upcoming-heading")
    assert cells == [table_when(second_day, second_time), doctor_cell, "Lakeside Clinic", "Booked"]
    [(cells, _)] = appointment_rows(browser, "past-heading")
    assert cells == [table_when(first_day, first_time), doctor_cell, "Lakeside Clinic", "Moved"]

    # Cancel the new one.
    click_and_wait_for_new_page(browser, details_link)
    wait_for_heading(browser, "Appointment details")
    click_link(browser, "Cancel appointment")
    wait_for_heading(browser, "Cancel this appointment?")
    assert facts(browser)["When"] == when(second_day, second_time)
    fill(browser, "Reason for cancelling", "Feeling better")
    submit(browser, "Yes, cancel the appointment")

    wait_for_heading(browser, "My appointments")
    assert messages(browser) == ["Your appointment is cancelled."]
    assert "You have no upcoming appointments." in section_text(browser, "upcoming-heading")
    assert [cells for cells, _ in appointment_rows(browser, "past-heading")] == [
        [table_when(second_day, second_time), doctor_cell, "Lakeside Clinic", "Cancelled"],
        [table_when(first_day, first_time), doctor_cell, "Lakeside Clinic", "Moved"],
    ]

    old, new = Appointment.objects.filter(patient=patient).order_by("start")
    assert (old.start, old.end) == (
        local(first_day, first_time),
        local(first_day, first_time) + SLOT,
    )
    assert (new.start, new.end) == (
        local(second_day, second_time),
        local(second_day, second_time) + SLOT,
    )
    assert (old.status, old.cancellation_reason) == (Status.CANCELLED, "Moved to a new time")
    assert (new.status, new.cancellation_reason) == (Status.CANCELLED, "Feeling better")
    assert new.rescheduled_from == old
    assert old.cancelled_by == new.cancelled_by == new.created_by == patient.user
    for appointment in (old, new):
        assert (appointment.doctor, appointment.clinic) == (doctor, lakeside)
        assert appointment.appointment_type == AppointmentType.FOLLOW_UP
        assert appointment.reason == "Breathless on the stairs"
    assert not Appointment.objects.holding_slots().exists()


def test_visitor_picks_one_of_two_clinics_and_logs_in_to_confirm(live_server, fresh_browser):
    dermatology = DepartmentFactory(name="Dermatology")
    lakeside = ClinicFactory(name="Lakeside Clinic")
    hill_road = ClinicFactory(name="Hill Road Clinic")
    doctor = DoctorFactory(full_name="Farah Khan", department=dermatology)
    works_every_day(doctor, lakeside, (9, 13))
    works_every_day(doctor, hill_road, (14, 17))
    patient = PatientFactory(with_account=True)
    browser = fresh_browser

    # Browsing free times needs no login.
    open_page(browser, live_server.url + reverse("home"))
    click_and_wait_for_new_page(browser, nav_link(browser, "Book an appointment"))
    wait_for_heading(browser, "Book an appointment")
    click_link(browser, "Dermatology")
    wait_for_heading(browser, "Choose a doctor")
    click_link(browser, "Farah Khan")
    wait_for_heading(browser, "Where would you like to see Farah Khan?")
    clinic_links = browser.find_elements(By.CSS_SELECTOR, "main .booking-choices a")
    assert [link.text for link in clinic_links] == ["Hill Road Clinic", "Lakeside Clinic"]
    click_link(browser, "Hill Road Clinic")

    wait_for_heading(browser, "Choose a date")
    assert "Farah Khan at Hill Road Clinic." in lead(browser)
    today = timezone.now().astimezone(KOLKATA).date()
    day = pick_day_after(browser, today)
    wait_for_heading(browser, "Choose a time")
    # Only the afternoon hours at Hill Road, not the morning ones at Lakeside.
    assert [link.text for link in free_times(browser)][:2] == ["14:00", "14:15"]
    start = pick_time(browser, 0)

    # Confirming needs a login; the login page brings the patient back to the chosen time.
    wait_for_heading(browser, "Log in")
    assert browser.current_url.startswith(live_server.url + reverse("accounts:login") + "?next=")
    log_in(browser, patient.user)

    wait_for_heading(browser, "Confirm your appointment")
    confirming = facts(browser)
    assert confirming["When"] == when(day, start)
    assert confirming["Where"].startswith("Hill Road Clinic\n")
    submit(browser, "Book this appointment")

    wait_for_heading(browser, "Your appointment is booked")
    appointment = Appointment.objects.get()
    assert (appointment.patient, appointment.doctor, appointment.clinic) == (
        patient,
        doctor,
        hill_road,
    )
    assert appointment.start == local(day, start)
    assert appointment.status == Status.BOOKED
