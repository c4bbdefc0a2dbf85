"""A waitlisted patient takes an offered time as they would: the link in the offer's email, the
login page it leads to, the offer page, the normal confirm form, the booked page. Headless
Chromium against a live server."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone
from selenium.webdriver.common.by import By

from accounts.tests.factories import DEFAULT_PASSWORD, PatientFactory, UserFactory
from bookings.models import Appointment, Status
from bookings.selectors import open_slots
from bookings.services import cancel_appointment
from bookings.tests.factories import AppointmentFactory
from clinic.tests.browser import (
    choose,
    fill,
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
from notifications import delivery, sms
from waitlist.models import EntryState, OfferState, WaitlistOffer
from waitlist.services import offer_freed_times
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_waitlisted_patient_books_the_offered_time_from_the_email(
    fresh_browser, live_server, settings
):
    settings.PORTAL_URL = live_server.url
    settings.SMS_BACKEND = "notifications.sms.LocmemSmsBackend"
    sms.outbox.clear()
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    doctor = DoctorFactory(
        department=DepartmentFactory(opens_at=dt.time(0), closes_at=dt.time(23, 59)),
        registration_expires_on=timezone.localdate() + dt.timedelta(days=365),
    )
    for weekday in Weekday:
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(17)
        )
    patient = PatientFactory(with_account=True)
    entry = WaitlistEntryFactory(patient=patient, doctor=doctor)
    start = open_slots(doctor=doctor, clinic=clinic, now=timezone.now())[4].start
    cancelled = AppointmentFactory(doctor=doctor, clinic=clinic, start=start)
    cancel_appointment(appointment=cancelled, by=UserFactory())
    offer_freed_times()
    delivery.send_due()
    [email] = [m for m in mail.outbox if m.to == [patient.email]]
    [link] = [word for word in email.body.split() if word.startswith(live_server.url)]

    open_page(fresh_browser, link)
    wait_for_heading(fresh_browser, "Log in")
    fill(fresh_browser, "Email address", patient.email)
    fill(fresh_browser, "Password", DEFAULT_PASSWORD)
    submit(fresh_browser, "Log in")

    wait_for_heading(fresh_browser, "A time has come free for you")
    assert "My waitlist" in navigation_items(fresh_browser)
    notice = fresh_browser.find_element(By.ID, "offer-notice").text
    assert notice.startswith("We are keeping this time for you until")
    assert doctor.full_name in fresh_browser.find_element(By.CSS_SELECTOR, "main dl").text
    choose(fresh_browser, "Type of visit", "Follow-up")
    submit(fresh_browser, "Book this appointment")

    wait_for_heading(fresh_browser, "Your appointment is booked")
    appointment = Appointment.objects.get(patient=patient, status=Status.BOOKED)
    assert (appointment.start, appointment.appointment_type) == (start, "follow_up")
    assert WaitlistOffer.objects.get().state == OfferState.TAKEN
    entry.refresh_from_db()
    assert entry.state == EntryState.BOOKED
