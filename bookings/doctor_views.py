"""A doctor's own pages: the day's timeline, the week, an appointment with its actions, time off,
working hours and the private calendar feed.

Only a login linked to a doctor gets in, and only to that doctor's own appointments; everyone
else logged in gets 404 (nothing here admits to existing), visitors the login page.
"""

import datetime as dt
import re
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from accounts.audit import record_view
from bookings import ical, panels, selectors, services
from bookings.forms import SANE_YEARS, CalendarPrivacyForm, TimeOffForm
from bookings.models import Appointment, Status
from bookings.rules import may_check_in
from doctors import services as doctor_services
from doctors.models import Doctor, TimeOff
from doctors.selectors import schedule_by_weekday


def doctor_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        # An inactive doctor (one who has left) keeps no access to the schedule pages.
        doctor = (
            Doctor.objects.active().select_related("department").filter(user=request.user).first()
        )
        if doctor is None:
            raise Http404("No doctor's schedule belongs to this login.")
        return view(request, *args, doctor=doctor, **kwargs)

    return wrapper


def home_zone(doctor):
    """The zone the doctor's days are counted in: that of a clinic they work at."""
    hours = doctor.working_hours.select_related("clinic").order_by("weekday", "starts_at").first()
    return hours.clinic.zone if hours else timezone.get_current_timezone()


def _in_range(day):
    """`day` if the schedule's URLs can name it (years 1900 to 2999), else None: no link."""
    return day if SANE_YEARS[0] <= day.year <= SANE_YEARS[1] else None


def _next_patient(appointments, now):
    """The appointment the doctor sees next: the first still ahead or under way, not finished."""
    for appointment in appointments:
        if appointment.status in (Status.BOOKED, Status.CHECKED_IN) and appointment.end > now:
            return appointment
    return None


@doctor_required
def today(request, doctor):
    return _day(request, doctor, None)


@doctor_required
def day(request, day, doctor):
    return _day(request, doctor, day)


def _day(request, doctor, day):
    """The timeline of `day` (None: today, in the doctor's zone)."""
    now = timezone.now()
    todays_date = now.astimezone(home_zone(doctor)).date()
    day = day or todays_date
    appointments = list(selectors.doctor_schedule(doctor, first_day=day, last_day=day))
    active = [a for a in appointments if a.status != Status.CANCELLED]
    hours = [
        row for row in doctor.working_hours.select_related("clinic") if row.weekday == day.weekday()
    ]
    is_today = day == todays_date
    hours = sorted(hours, key=lambda row: row.starts_at)
    return render(
        request,
        "bookings/doctor/day.html",
        {
            "doctor": doctor,
            "day": day,
            "is_today": is_today,
            "appointments": active,
            "cancelled_count": len(appointments) - len(active),
            # Only today's page: on a later day the first visit is not the next patient while
            # today's are still to come.
            "next_patient": _next_patient(active, now) if is_today else None,
            "hours": hours,
            # One variable for the translated sentence, which cannot hold the loop over stretches.
            "hours_text": ", ".join(f"{row.starts_at:%H:%M}–{row.ends_at:%H:%M}" for row in hours),
            "previous_day": _in_range(day - dt.timedelta(days=1)),
            "next_day": _in_range(day + dt.timedelta(days=1)),
        },
    )


@doctor_required
def week(request, doctor, day=None):
    day = day or timezone.now().astimezone(home_zone(doctor)).date()
    monday = day - dt.timedelta(days=day.weekday())
    sunday = monday + dt.timedelta(days=6)
    appointments = selectors.doctor_schedule(doctor, first_day=monday, last_day=sunday).exclude(
        status=Status.CANCELLED
    )
    by_day = {monday + dt.timedelta(days=n): [] for n in range(7)}
    for appointment in appointments:
        by_day[appointment.local_start().date()].append(appointment)
    return render(
        request,
        "bookings/doctor/week.html",
        {
            "doctor": doctor,
            "monday": monday,
            "sunday": sunday,
            "days": [(day, listed, _in_range(day)) for day, listed in by_day.items()],
            "previous_week": _in_range(monday - dt.timedelta(days=7)),
            "next_week": _in_range(monday + dt.timedelta(days=7)),
        },
    )


def _own_appointment(doctor, pk):
    try:
        return selectors.doctor_appointment(doctor, pk)
    except Appointment.DoesNotExist:
        raise Http404("No such appointment in this doctor's schedule.") from None


@doctor_required
def appointment(request, pk, doctor):
    appointment = _own_appointment(doctor, pk)
    record_view(appointment)
    now = timezone.now()
    return render(
        request,
        "bookings/doctor/appointment.html",
        {
            "doctor": doctor,
            "appointment": appointment,
            "can_check_in": may_check_in(appointment, now),
            "can_complete": appointment.can_become(Status.COMPLETED),
            "can_mark_no_show": appointment.can_become(Status.NO_SHOW) and appointment.start <= now,
            "patient_age": appointment.patient.age_on(appointment.local_start().date()),
            "panels": panels.render_panels(request, appointment, "doctor"),
        },
    )


TRANSITIONS = {
    "check-in": (services.check_in_appointment, gettext_lazy("%(name)s is checked in.")),
    "complete": (
        services.complete_appointment,
        gettext_lazy("The appointment with %(name)s is completed."),
    ),
    "no-show": (services.mark_no_show, gettext_lazy("%(name)s is marked as not having come.")),
}


@require_POST
@doctor_required
def transition(request, pk, action, doctor):
    if action not in TRANSITIONS:
        raise Http404("No such action.")
    appointment = _own_appointment(doctor, pk)
    change, done = TRANSITIONS[action]
    try:
        change(appointment=appointment, by=request.user)
    except services.BookingError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, str(done) % {"name": appointment.patient.full_name})
    return redirect("schedule:appointment", pk=appointment.pk)


# Time off, hours and the calendar feed -----------------------------------------------------------


@doctor_required
def time_off(request, doctor):
    zone = home_zone(doctor)
    now = timezone.now()
    clashes = []
    with timezone.override(zone):
        form = TimeOffForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.add_time_off(
                    doctor=doctor,
                    starts_at=form.cleaned_data["starts_at"],
                    ends_at=form.cleaned_data["ends_at"],
                    reason=form.cleaned_data["reason"],
                    by=request.user,
                    now=now,
                )
            except services.TimeOffClashes as error:
                clashes = error.appointments
                form.add_error(None, str(error))
            except services.BookingError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request, gettext("Your time off is saved; no one can book those hours.")
                )
                return redirect("schedule:time_off")
    upcoming = TimeOff.objects.filter(doctor=doctor, ends_at__gt=now).order_by("starts_at")
    return render(
        request,
        "bookings/doctor/time_off.html",
        {
            "doctor": doctor,
            "form": form,
            "clashes": clashes,
            "upcoming": upcoming,
            "zone": zone,
        },
    )


@require_POST
@doctor_required
def remove_time_off(request, pk, doctor):
    entry = get_object_or_404(TimeOff, pk=pk, doctor=doctor)
    try:
        services.remove_time_off(time_off=entry, by=request.user)
    except services.BookingError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, gettext("The time off is removed; those hours are bookable again.")
        )
    return redirect("schedule:time_off")


@doctor_required
def working_hours(request, doctor):
    hours = doctor.working_hours.select_related("clinic").order_by("weekday", "starts_at")
    return render(
        request,
        "bookings/doctor/working_hours.html",
        {"doctor": doctor, "schedule": schedule_by_weekday(hours)},
    )


@doctor_required
def calendar_feed(request, doctor):
    form = CalendarPrivacyForm(
        request.POST or None,
        initial={"shows_patient_names": doctor.calendar_shows_patient_names},
    )
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "issue":
            doctor = doctor_services.issue_calendar_token(doctor=doctor)
            messages.success(
                request,
                gettext(
                    "Your calendar feed has a new address. Subscribe to it from your calendar "
                    "app; any earlier address no longer works."
                ),
            )
        elif action == "revoke":
            doctor_services.revoke_calendar_token(doctor=doctor)
            messages.success(request, gettext("Your calendar feed is turned off."))
        elif action == "privacy" and form.is_valid():
            doctor_services.set_calendar_privacy(
                doctor=doctor, shows_patient_names=form.cleaned_data["shows_patient_names"]
            )
            messages.success(request, gettext("Your calendar feed settings are saved."))
        else:
            messages.error(request, gettext("Please use one of the buttons on this page."))
        return redirect("schedule:calendar_feed")
    feed_url = ""
    if doctor.calendar_token:
        feed_url = request.build_absolute_uri(
            reverse("schedule:feed", kwargs={"token": doctor.calendar_token})
        )
    return render(
        request,
        "bookings/doctor/calendar_feed.html",
        {"doctor": doctor, "form": form, "feed_url": feed_url},
    )


FEED_PAST_DAYS = 30
FEED_FUTURE_DAYS = 120
# What doctors.services.issue_calendar_token makes (secrets.token_urlsafe); anything else in the
# address, a NUL or a quote included, is no token and never reaches the database.
FEED_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def feed(request, token):
    """The private subscription feed; the token in the URL is the only credential."""
    if not FEED_TOKEN.fullmatch(token):
        raise Http404("No such calendar feed.")
    doctor = get_object_or_404(
        Doctor.objects.active(), calendar_token=token, calendar_token__isnull=False
    )
    now = timezone.now()
    appointments = (
        Appointment.objects.filter(
            doctor=doctor,
            start__gte=now - dt.timedelta(days=FEED_PAST_DAYS),
            start__lt=now + dt.timedelta(days=FEED_FUTURE_DAYS),
        )
        .exclude(status=Status.CANCELLED)
        .select_related("patient", "clinic", "visit_type")
        .order_by("start")
    )
    response = HttpResponse(
        ical.doctor_feed(doctor, appointments, now=now), content_type=ical.CONTENT_TYPE
    )
    response["Cache-Control"] = "private, no-store"
    return response
