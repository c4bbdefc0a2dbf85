"""A patient opens the confirm link of a reminder they were sent, in headless Chromium against a
live server, presses the one button, and the clinic has the confirmation."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

from accounts.tests.factories import PatientFactory
from bookings.models import Appointment, ContactChannel
from bookings.tests.factories import AppointmentFactory
from clinic.tests.browser import open_page, submit, wait_for_heading
from doctors.tests.factories import ClinicFactory, DoctorFactory
from notifications import delivery, outbox
from notifications.models import Notification

pytestmark = [
    pytest.mark.browser,
    # live_server needs a transactional database; the serialized rollback keeps the data
    # migrations' rows (the role groups) for later tests.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_patient_confirms_from_the_link_in_a_reminder(fresh_browser, live_server, settings):
    settings.PORTAL_URL = live_server.url
    settings.NOTIFICATION_REMINDER_HOURS = [24]
    patient = PatientFactory(with_account=True, email="asha@example.com", phone="")
    appointment = AppointmentFactory(
        patient=patient,
        doctor=DoctorFactory(full_name="Dr Kavya Iyer"),
        clinic=ClinicFactory(name="Lakeview Clinic", timezone="Asia/Kolkata"),
        start=timezone.now() + dt.timedelta(days=2),
    )
    outbox.booked(appointment, now=timezone.now())
    Notification.objects.exclude(kind=Notification.Kind.REMINDER).delete()
    delivery.send_due(now=appointment.start - dt.timedelta(hours=24))
    [reminder] = mail.outbox
    confirm = re.search(r"Confirm with one click:\n(\S+)", reminder.body)[1]
    assert confirm.startswith(live_server.url + "/links/")

    open_page(fresh_browser, confirm)
    wait_for_heading(fresh_browser, "Will you come to this appointment?")
    page = fresh_browser.find_element("tag name", "main").text
    assert "Dr Kavya Iyer" in page and "Lakeview Clinic" in page
    assert patient.full_name not in page
    assert not Appointment.objects.get(pk=appointment.pk).attendance_confirmed  # opening did not

    submit(fresh_browser, "Yes, I will come")
    wait_for_heading(fresh_browser, "Thank you: your appointment is confirmed")
    appointment.refresh_from_db()
    assert appointment.attendance_confirmed_via == ContactChannel.LINK

    # The same link, opened again, does nothing more and says nothing about anyone.
    open_page(fresh_browser, confirm)
    wait_for_heading(fresh_browser, "This link does not work")


def test_the_link_pages_meet_wcag_22_aa(fresh_browser, live_server, settings):
    from bookings import links
    from bookings.models import LinkAction
    from clinic.tests.browser import accessibility_violations, describe_violations

    settings.PORTAL_URL = live_server.url
    clinic = ClinicFactory(name="Lakeview Clinic", timezone="Asia/Kolkata", phone="+918012345678")
    with_login = AppointmentFactory(
        patient=PatientFactory(with_account=True),
        clinic=clinic,
        start=timezone.now() + dt.timedelta(days=2),
    )
    walk_in = AppointmentFactory(
        patient=PatientFactory(),
        clinic=clinic,
        start=timezone.now() + dt.timedelta(hours=2),  # inside the cancellation cut-off
    )
    made = links.issue(with_login, list(LinkAction), now=timezone.now())
    late = links.issue(walk_in, list(LinkAction), now=timezone.now())
    pages = [
        ("confirm", made["confirm"], "Will you come to this appointment?", None),
        (
            "confirmed",
            made["confirm"],
            "Thank you: your appointment is confirmed",
            "Yes, I will come",
        ),
        ("cancel", made["cancel"], "Cancel this appointment?", None),
        (
            "cancelled",
            made["cancel"],
            "Your appointment is cancelled",
            "Yes, cancel the appointment",
        ),
        ("too late to cancel", late["cancel"], "Cancel this appointment?", None),
        ("move, by phone", late["reschedule"], "Move your appointment", None),
        ("does not work", made["confirm"], "This link does not work", None),
    ]
    found = []
    for name, url, heading, press in pages:
        if press:
            submit(fresh_browser, press)
        else:
            open_page(fresh_browser, url)
        wait_for_heading(fresh_browser, heading)
        violations = accessibility_violations(fresh_browser)
        if violations:
            found.append(describe_violations(name, url, violations))
    assert not found, "\n\n".join(found)
