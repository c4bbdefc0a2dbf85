"""A video visit in headless Chromium against a live server: the patient logs in, opens the
appointment from "My appointments" and finds the join link, which opens in a new tab; the doctor
finds it on the day's timeline."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By

from accounts.tests.factories import DEFAULT_PASSWORD, PatientFactory
from bookings import video
from bookings.tests.factories import AppointmentFactory
from clinic.tests.browser import (
    click_and_wait_for_new_page,
    fill,
    nav_link,
    open_page,
    submit,
    wait_for_heading,
)
from doctors.models import VisitType
from doctors.tests.factories import ClinicFactory, DoctorFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def log_in(browser, live_server, user):
    open_page(browser, live_server.url + reverse("accounts:login"))
    fill(browser, "Email address", user.email)
    fill(browser, "Password", DEFAULT_PASSWORD)
    submit(browser, "Log in")


def join_link(browser):
    [link] = browser.find_elements(By.LINK_TEXT, "Join the video visit")
    return link


def test_the_patient_and_the_doctor_find_the_join_link_when_the_visit_is_about_to_start(
    live_server, fresh_browser, settings
):
    settings.VIDEO_JITSI_URL = "https://meet.example.org"
    browser = fresh_browser
    doctor = DoctorFactory(with_account=True)
    patient = PatientFactory(with_account=True)
    start = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=5)
    visit = AppointmentFactory(
        patient=patient,
        doctor=doctor,
        clinic=ClinicFactory(timezone="Asia/Kolkata"),
        start=start,
        end=start + dt.timedelta(minutes=15),
        visit_type=VisitType.objects.create(
            name="Video call", doctor=doctor, minutes=15, mode=VisitType.Mode.VIDEO
        ),
    )
    url = video.get_backend().join_url(visit)

    log_in(browser, live_server, patient.user)
    click_and_wait_for_new_page(browser, nav_link(browser, "My appointments"))
    click_and_wait_for_new_page(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Details"))
    wait_for_heading(browser, "Appointment details")
    link = join_link(browser)
    assert link.get_attribute("href") == url
    assert link.get_attribute("target") == "_blank"
    assert "noopener" in link.get_attribute("rel")

    browser.delete_all_cookies()
    log_in(browser, live_server, doctor.user)
    open_page(
        browser,
        live_server.url + reverse("schedule:day", kwargs={"day": visit.local_start().date()}),
    )
    assert join_link(browser).get_attribute("href") == url
