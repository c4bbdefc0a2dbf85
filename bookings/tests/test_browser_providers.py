"""The front desk and the doctors at work, in headless Chromium against a live server: the desk
books a walk-in patient it adds on the way, a doctor checks a patient in and completes the
visit, and a doctor's time off takes a time off the patients' booking page. Everyone logs in
through the login form and lands where their role's work starts."""

import datetime as dt
import re
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from accounts.models import Patient
from accounts.tests.factories import DEFAULT_PASSWORD, PatientFactory
from bookings.models import Appointment, AppointmentType, Status
from bookings.tests.factories import AppointmentFactory
from bookings.tests.test_browser import (
    KOLKATA,
    SLOT,
    click_link,
    facts,
    free_times,
    local,
    long_date,
    pick_day_after,
    pick_time,
    when,
    works_every_day,
)
from clinic.tests.browser import (
    choose,
    click_and_wait_for_new_page,
    fill,
    messages,
    nav_link,
    navigation_items,
    open_page,
    submit,
    type_date,
    type_datetime,
    wait_for_heading,
)
from doctors.models import TimeOff, Weekday
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    WorkingHoursFactory,
)

pytestmark = [
    pytest.mark.browser,
    # As in test_browser.py: live_server needs a transactional database; the serialized
    # rollback keeps the data migrations' role groups for the tests that follow.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def log_in(browser, live_server, user, next_url=None):
    """Opens the login page (with ?next= when given) and sends the form as `user`."""
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    open_page(browser, live_server.url + reverse("accounts:login") + query)
    wait_for_heading(browser, "Log in")
    fill(browser, "Email address", user.email)
    fill(browser, "Password", DEFAULT_PASSWORD)
    submit(browser, "Log in")


def sub_nav_link(browser, nav_label, text):
    """A link of a section's own navigation (the front desk's, the doctor's schedule's)."""
    nav = browser.find_element(By.CSS_SELECTOR, f"main nav[aria-label='{nav_label}']")
    return nav.find_element(By.LINK_TEXT, text)


def announced(element):
    """The element's accessible name as Chromium computes it, minus the space it puts before a
    visually hidden span's text (its `position: absolute` makes the span a block of its own)."""
    return re.sub(r"\s+([:,.])", r"\1", element.accessible_name)


def link_named(browser, accessible_name):
    """The link in the main content that a screen reader announces with this name."""
    links = [
        link
        for link in browser.find_elements(By.CSS_SELECTOR, "main a")
        if announced(link) == accessible_name
    ]
    assert len(links) == 1, f"expected one link named {accessible_name!r}, found {len(links)}"
    return links[0]


def main_text(browser):
    return browser.find_element(By.TAG_NAME, "main").text


def action_buttons(browser):
    return [
        button.text
        for button in browser.find_elements(By.CSS_SELECTOR, "main form button[type='submit']")
    ]


def status_badge(browser):
    """The Status fact's badge as (text, colour class)."""
    badge = browser.find_element(By.XPATH, "//main//dt[.='Status']/following-sibling::dd[1]/span")
    classes = badge.get_attribute("class").split()
    return badge.text, next(name for name in classes if name.startswith("text-bg-"))


def test_front_desk_books_a_walk_in_patient_added_on_the_way(
    live_server, fresh_browser, front_desk_user
):
    cardiology = DepartmentFactory(name="Cardiology")
    lakeside = ClinicFactory(name="Lakeside Clinic", timezone="Asia/Kolkata")
    doctor = DoctorFactory(full_name="Anil Menon", department=cardiology)
    works_every_day(doctor, lakeside, (9, 13))
    browser = fresh_browser

    log_in(browser, live_server, front_desk_user)
    wait_for_heading(browser, "Today's arrivals")
    assert browser.current_url == live_server.url + reverse("desk:queue")
    assert nav_link(browser, "Front desk").get_attribute("aria-current") == "page"
    assert "No one is expected for the rest of today." in main_text(browser)

    click_and_wait_for_new_page(browser, sub_nav_link(browser, "Front desk", "Book"))
    wait_for_heading(browser, "Book an appointment")
    click_and_wait_for_new_page(browser, link_named(browser, "Lakeside Clinic: book Anil Menon"))

    wait_for_heading(browser, "Book: choose a date")
    today = timezone.now().astimezone(KOLKATA).date()
    day = pick_day_after(browser, today)
    wait_for_heading(browser, "Book: choose a time")
    assert [link.text for link in free_times(browser)][:2] == ["09:00", "09:15"]
    start = pick_time(browser, 4)
    assert start == dt.time(10)

    wait_for_heading(browser, "Confirm the booking")
    assert facts(browser) == {
        "When": when(day, start),
        "Doctor": "Anil Menon, Cardiology",
        "Where": "Lakeside Clinic",
        "Consultation fee": "INR 500.00",
        "GST (18%)": "INR 90.00",
        "Total": "INR 590.00",
    }
    # No patient chosen yet: no booking button, a search and a way to add one.
    assert action_buttons(browser) == ["Find patient"]
    click_link(browser, "Add a new patient")

    wait_for_heading(browser, "Add a patient")
    assert "You return to the booking afterwards." in main_text(browser)
    fill(browser, "Full name", "Meera Iyer")
    type_date(browser, "Date of birth", dt.date(1988, 3, 14))
    choose(browser, "Sex", "Female")
    fill(browser, "Phone", "+91 98765 43210")
    submit(browser, "Add and continue booking")

    wait_for_heading(browser, "Confirm the booking")
    assert messages(browser) == ["Meera Iyer is added to the directory."]
    assert facts(browser)["When"] == when(day, start)
    patient_line = browser.find_element(
        By.XPATH, "//main//h2[.='Patient']/following-sibling::p[1]"
    ).text
    assert patient_line == "Meera Iyer, born 14 Mar 1988, +919876543210. Choose another patient"
    choose(browser, "Type of visit", "Health check")
    fill(browser, "Reason for the visit", "Walked in with chest pain last week")
    submit(browser, "Book for Meera Iyer")

    wait_for_heading(browser, "Appointment for Meera Iyer")
    assert messages(browser) == ["Booked for Meera Iyer. Nothing else to do."]
    booked = facts(browser)
    assert booked["When"] == when(day, start)
    assert booked["Doctor"] == "Anil Menon, Cardiology"
    assert booked["Where"].startswith("Lakeside Clinic\n")
    assert booked["Type of visit"] == "Health check"
    assert booked["Status"] == "Booked"
    assert f"Booked by {front_desk_user.full_name} on " in main_text(browser)
    # A later day's visit: no check-in until that day; the desk may record that the patient
    # said they will come.
    assert action_buttons(browser) == ["Patient will come (confirmed by phone or in person)"]

    patient = Patient.objects.get()
    assert (patient.full_name, patient.date_of_birth, patient.sex, patient.phone) == (
        "Meera Iyer",
        dt.date(1988, 3, 14),
        Patient.Sex.FEMALE,
        "+919876543210",
    )
    assert patient.user is None
    assert patient.created_by == front_desk_user
    appointment = Appointment.objects.get()
    assert browser.current_url == live_server.url + reverse(
        "desk:appointment", kwargs={"pk": appointment.pk}
    )
    assert (appointment.patient, appointment.doctor, appointment.clinic) == (
        patient,
        doctor,
        lakeside,
    )
    assert (appointment.start, appointment.end) == (local(day, start), local(day, start) + SLOT)
    assert appointment.appointment_type == AppointmentType.HEALTH_CHECK
    assert appointment.reason == "Walked in with chest pain last week"
    assert appointment.status == Status.BOOKED
    assert appointment.created_by == front_desk_user


def a_slot_later_today(zone):
    """A slot start on the clinic's current date that is not over yet, whatever the hour.

    Two hours ahead on the 15-minute grid; late in the evening the next slot instead, and in the
    day's last quarter hour the slot now running (started, but not over: still the doctor's
    next patient). In the last seconds of a day the test first waits for the next one, so the
    data and the page the doctor lands on agree on what "today" is.
    """
    now = timezone.now().astimezone(zone)
    midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    if midnight - now < dt.timedelta(seconds=15):
        WebDriverWait(None, 20, poll_frequency=0.2).until(
            lambda _: timezone.now() >= midnight, "the clinic's next day to begin"
        )
        now = timezone.now().astimezone(zone)
    running = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    for ahead in (dt.timedelta(hours=2), SLOT, dt.timedelta(0)):
        if (running + ahead).date() == now.date():
            return running + ahead
    raise AssertionError("unreachable: the running slot starts today")


def test_doctor_checks_in_and_completes_todays_appointment(live_server, fresh_browser):
    lakeside = ClinicFactory(name="Lakeside Clinic", timezone="Asia/Kolkata")
    doctor = DoctorFactory(
        with_account=True, full_name="Farah Khan", department=DepartmentFactory(name="Dermatology")
    )
    for weekday in Weekday:
        WorkingHoursFactory(
            doctor=doctor,
            clinic=lakeside,
            weekday=weekday,
            starts_at=dt.time(0, 0),
            ends_at=dt.time(23, 59),
        )
    start = a_slot_later_today(KOLKATA)
    appointment = AppointmentFactory(
        doctor=doctor,
        clinic=lakeside,
        patient=PatientFactory(
            full_name="Ravi Kumar", date_of_birth=dt.date(1970, 1, 1), sex=Patient.Sex.MALE
        ),
        start=start,
        appointment_type=AppointmentType.FOLLOW_UP,
        reason="Rash on both arms",
    )
    times = f"{start:%H:%M}–{start + SLOT:%H:%M}"
    browser = fresh_browser

    log_in(browser, live_server, doctor.user)
    wait_for_heading(browser, f"Today, {long_date(start.date())}")
    assert browser.current_url == live_server.url + reverse("schedule:today")
    assert "My schedule" in navigation_items(browser)
    assert nav_link(browser, "My schedule").get_attribute("aria-current") == "page"
    lead = browser.find_element(By.CSS_SELECTOR, "main .lead").text
    assert lead == "Working 00:00–23:59 at Lakeside Clinic. 1 appointment."
    [entry] = browser.find_elements(By.CSS_SELECTOR, "main ol.timeline li")
    assert entry.text == f"{times} Ravi Kumar · Follow-up Next patient\nBooked"

    click_and_wait_for_new_page(browser, entry.find_element(By.LINK_TEXT, "Ravi Kumar"))
    wait_for_heading(browser, f"Ravi Kumar, {start:%H:%M}")
    seen = facts(browser)
    assert seen["Patient"] == f"Ravi Kumar · {start.year - 1970} years · Male"
    assert seen["When"] == f"{long_date(start.date())}, {times} at Lakeside Clinic"
    assert seen["Reason given"] == "Rash on both arms"
    assert status_badge(browser) == ("Booked", "text-bg-primary")
    assert "Check in" in action_buttons(browser)
    assert "Complete" not in action_buttons(browser)
    submit(browser, "Check in")

    wait_for_heading(browser, f"Ravi Kumar, {start:%H:%M}")
    assert messages(browser) == ["Ravi Kumar is checked in."]
    assert status_badge(browser) == ("Checked in", "text-bg-info")
    assert action_buttons(browser) == ["Complete"]
    submit(browser, "Complete")

    wait_for_heading(browser, f"Ravi Kumar, {start:%H:%M}")
    assert messages(browser) == ["The appointment with Ravi Kumar is completed."]
    assert status_badge(browser) == ("Completed", "text-bg-success")
    assert action_buttons(browser) == []
    assert "Nothing left to do: this appointment is completed." in main_text(browser)

    appointment.refresh_from_db()
    assert appointment.status == Status.COMPLETED
    assert appointment.checked_in_at is not None
    assert appointment.completed_at is not None
    assert appointment.checked_in_at <= appointment.completed_at <= timezone.now()
    shown = facts(browser)
    assert shown["Checked in"] == f"{appointment.checked_in_at.astimezone(KOLKATA):%H:%M}"
    assert shown["Completed"] == f"{appointment.completed_at.astimezone(KOLKATA):%H:%M}"

    # Back on the day: the visit is done, so nobody is "Next patient" any more.
    click_link(browser, f"← {start:%A} {start.day} {start:%B}")
    wait_for_heading(browser, f"Today, {long_date(start.date())}")
    [entry] = browser.find_elements(By.CSS_SELECTOR, "main ol.timeline li")
    assert entry.text == f"{times} Ravi Kumar · Follow-up\nCompleted"


def test_time_off_takes_the_hours_off_the_patients_day_page(live_server, fresh_browser):
    lakeside = ClinicFactory(name="Lakeside Clinic", timezone="Asia/Kolkata")
    doctor = DoctorFactory(with_account=True, full_name="Anil Menon")
    works_every_day(doctor, lakeside, (9, 13))
    patient = PatientFactory(with_account=True)
    # Two days ahead: clear of the booking notice whatever the hour, well inside the window.
    day = timezone.now().astimezone(KOLKATA).date() + dt.timedelta(days=2)
    day_url = reverse(
        "bookings:day", kwargs={"doctor_id": doctor.pk, "clinic_id": lakeside.pk, "day": day}
    )
    browser = fresh_browser

    log_in(browser, live_server, patient.user, next_url=day_url)
    wait_for_heading(browser, "Choose a time")
    assert f"on {long_date(day)}." in browser.find_element(By.CSS_SELECTOR, "main .lead").text
    offered = [link.text for link in free_times(browser)]
    assert offered[:6] == ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15"]
    assert len(offered) == 16

    browser.delete_all_cookies()
    log_in(browser, live_server, doctor.user)
    assert browser.current_url == live_server.url + reverse("schedule:today")
    click_and_wait_for_new_page(browser, sub_nav_link(browser, "My schedule", "Time off"))
    wait_for_heading(browser, "Time off")
    assert "Times are in Asia/Kolkata time." in main_text(browser)
    assert "No time off planned." in main_text(browser)
    type_datetime(browser, "From", dt.datetime.combine(day, dt.time(10, 0)))
    type_datetime(browser, "Until", dt.datetime.combine(day, dt.time(11, 0)))
    fill(browser, "Reason", "Conference")
    submit(browser, "Add time off")

    wait_for_heading(browser, "Time off")
    assert messages(browser) == ["Your time off is saved; no one can book those hours."]
    coming_up = browser.find_element(By.XPATH, "//main//h2[.='Coming up']/following-sibling::ul[1]")
    [entry] = coming_up.find_elements(By.TAG_NAME, "li")
    shown_day = f"{day:%a} {day.day} {day:%b} {day.year}"
    assert entry.find_element(By.TAG_NAME, "span").text == (
        f"{shown_day} 10:00 – {shown_day} 11:00\nConference"
    )
    remove = entry.find_element(By.TAG_NAME, "button")
    assert announced(remove) == f"Remove the time off from {day.day} {day:%b} 10:00"
    time_off = TimeOff.objects.get()
    assert (time_off.doctor, time_off.starts_at, time_off.ends_at, time_off.reason) == (
        doctor,
        local(day, dt.time(10)),
        local(day, dt.time(11)),
        "Conference",
    )

    browser.delete_all_cookies()
    log_in(browser, live_server, patient.user, next_url=day_url)
    wait_for_heading(browser, "Choose a time")
    gone = ["10:00", "10:15", "10:30", "10:45"]
    assert [link.text for link in free_times(browser)] == [t for t in offered if t not in gone]
