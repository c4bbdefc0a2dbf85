"""iCalendar files: one appointment for a patient's calendar, and a doctor's subscription feed.

What goes in is deliberate: calendars are synced to phones and third-party services, so a patient's
file names the doctor, the place and the time but never the reason for the visit, and a doctor's
feed shows patients' names only when the doctor has chosen that.
"""

import datetime as dt

from django.conf import settings
from django.utils.translation import gettext, gettext_lazy
from icalendar import Calendar, Event

from bookings import video

PRODUCT_ID = "-//Clinic Portal//Appointments//EN"
CONTENT_TYPE = "text/calendar; charset=utf-8"
# Lazy, and made a str where used: the text is in the language active when a file is made (the
# recipient's, for a notice's attachment; the page's, for a download).
VIDEO_LOCATION = gettext_lazy(
    "By video: the link to join shows on the appointment's page in the portal"
)


def _calendar(name, method="PUBLISH"):
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)
    calendar.add("x-wr-calname", name)
    return calendar


def _event(appointment, *, summary, description, stamp, status="CONFIRMED"):
    event = Event()
    # Stable across downloads and feed refreshes, so calendars update an event instead of
    # adding a copy.
    event.add("uid", f"appointment-{appointment.pk}@clinic-portal")
    event.add("dtstamp", stamp)
    event.add("last-modified", appointment.updated_at.astimezone(dt.UTC))
    event.add("dtstart", appointment.start.astimezone(dt.UTC))
    event.add("dtend", appointment.end.astimezone(dt.UTC))
    event.add("summary", summary)
    event.add("description", description)
    clinic = appointment.clinic
    if video.is_video(appointment):
        # No room's address in calendars, which are synced to phones and other services.
        event.add("location", str(VIDEO_LOCATION))
    else:
        event.add("location", ", ".join([clinic.name, *clinic.address.splitlines()]))
    event.add("status", status)
    return event


def appointment_ics(appointment, *, now):
    """A patient's copy of one appointment, to add to their own calendar."""
    calendar = _calendar(settings.CLINIC_NAME)
    clinic = appointment.clinic
    names = {
        "visit": appointment.get_appointment_type_display(),
        "doctor": appointment.doctor.full_name,
        "department": appointment.doctor.department.name,
        "clinic": clinic.name,
    }
    if video.is_video(appointment):
        description = gettext("%(visit)s with %(doctor)s (%(department)s) by video.") % names
    else:
        description = gettext("%(visit)s with %(doctor)s (%(department)s) at %(clinic)s.") % names
    if clinic.phone:
        description += " " + gettext("To change it, use the portal or call %(phone)s.") % {
            "phone": clinic.phone
        }
    calendar.add_component(
        _event(
            appointment,
            summary=gettext("Appointment with %(doctor)s") % names,
            description=description,
            stamp=now,
        )
    )
    return calendar.to_ical()


def doctor_feed(doctor, appointments, *, now):
    """The doctor's appointments as a subscription feed (cancelled ones left out)."""
    calendar = _calendar(f"{doctor.full_name} · {settings.CLINIC_NAME}")
    for appointment in appointments:
        visit = appointment.get_appointment_type_display()
        if doctor.calendar_shows_patient_names:
            summary = gettext("%(visit)s: %(patient)s") % {
                "visit": visit,
                "patient": appointment.patient.full_name,
            }
        else:
            summary = gettext("%(visit)s (patient)") % {"visit": visit}
        calendar.add_component(
            _event(
                appointment,
                summary=summary,
                description=gettext("Details are in the clinic portal."),
                stamp=now,
            )
        )
    return calendar.to_ical()


def cancellation_ics(appointment, *, now):
    """Takes a cancelled (or moved-away-from) appointment off the patient's calendar: the same
    event, by its UID, marked cancelled, with a higher sequence number than the original."""
    calendar = _calendar(settings.CLINIC_NAME, method="CANCEL")
    event = _event(
        appointment,
        summary=gettext("Cancelled: appointment with %(doctor)s")
        % {"doctor": appointment.doctor.full_name},
        description=gettext("This appointment no longer takes place."),
        stamp=now,
        status="CANCELLED",
    )
    event.add("sequence", 1)
    calendar.add_component(event)
    return calendar.to_ical()
