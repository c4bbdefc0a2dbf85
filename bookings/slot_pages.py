"""The two pages of picking a time, shared by patients, the front desk, booking and moving:
a date picker over the booking window, then the free times of one day."""

import datetime as dt

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from bookings import selectors, services
from bookings.datepicker import WEEKDAY_NAMES, picker_months
from bookings.forms import RescheduleForm, slot_token
from bookings.rules import booking_rules
from bookings.scheduling import bookable_range, slots_by_day


def window(clinic, now):
    return bookable_range(now, clinic.zone, booking_rules())


def _offered(slots, ignoring):
    # A moved appointment's own time is not offered back: "move" to it would change nothing.
    if ignoring is None:
        return slots
    return [slot for slot in slots if slot.start != ignoring.start]


def _visit_type_context(request, visit_types):
    """The visit type choice's context (bookings.visit_type_choice), with the page's other query
    parameters (the desk's patient) kept in its form."""
    if visit_types is None:
        return {}
    keep = [(name, value) for name, value in request.GET.items() if name != "type"]
    return {**visit_types.context, "visit_type_keep": keep}


def _visit_type(visit_types, ignoring):
    """The type the times are for: the one chosen, or the moved appointment's own (a move keeps
    its type: services.reschedule_appointment), read only when it has one."""
    if visit_types is not None:
        return visit_types.chosen
    if ignoring is not None and ignoring.visit_type_id is not None:
        return ignoring.visit_type
    return None


def calendar_page(
    request,
    *,
    doctor,
    clinic,
    now,
    day_url,
    ignoring=None,
    extra=None,
    held_for=None,
    visit_types=None,
):
    """`held_for`: the patient the times are picked for, whose own held times stay on offer.
    `visit_types`: the VisitTypeChoice the times are for (None: plain slots)."""
    visit_type = _visit_type(visit_types, ignoring)
    slots = _offered(
        selectors.open_slots(
            doctor=doctor,
            clinic=clinic,
            now=now,
            ignoring=ignoring,
            held_for=held_for,
            visit_type=visit_type,
        ),
        ignoring,
    )
    by_day = slots_by_day(slots, clinic.zone)
    first_day, last_day = window(clinic, now)
    context = {
        "doctor": doctor,
        "clinic": clinic,
        "months": picker_months(
            first_day=first_day,
            last_day=last_day,
            free_counts={day: len(day_slots) for day, day_slots in by_day.items()},
            day_url=day_url,
        ),
        "weekday_names": WEEKDAY_NAMES,
        "has_free_times": bool(slots),
        "window_days": booking_rules().window_days,
        **_visit_type_context(request, visit_types),
        **(extra or {}),
    }
    return render(request, "bookings/calendar.html", context)


def day_page(
    request,
    *,
    doctor,
    clinic,
    day,
    now,
    day_url,
    time_url,
    ignoring=None,
    extra=None,
    held_for=None,
    visit_types=None,
):
    first_day, last_day = window(clinic, now)
    slots = _offered(
        selectors.open_slots(
            doctor=doctor,
            clinic=clinic,
            now=now,
            first_day=day,
            last_day=day,
            ignoring=ignoring,
            held_for=held_for,
            visit_type=_visit_type(visit_types, ignoring),
        ),
        ignoring,
    )
    previous_day = day - dt.timedelta(days=1)
    next_day = day + dt.timedelta(days=1)
    context = {
        "doctor": doctor,
        "clinic": clinic,
        "day": day,
        "times": [(slot, time_url(slot_token(slot.start))) for slot in slots],
        "previous_day_url": day_url(previous_day) if previous_day >= first_day else "",
        "next_day_url": day_url(next_day) if next_day <= last_day else "",
        **_visit_type_context(request, visit_types),
        **(extra or {}),
    }
    return render(request, "bookings/day.html", context)


def outside_window(request, clinic, day, now):
    first_day, last_day = window(clinic, now)
    if first_day <= day <= last_day:
        return False
    if day < first_day:
        messages.error(
            request, gettext("That date has passed. Please choose a date from the calendar.")
        )
    else:
        days = booking_rules().window_days
        messages.error(
            request,
            gettext(
                "Appointments can be booked up to %(days)s days ahead. "
                "Please choose a date from the calendar."
            )
            % {"days": days},
        )
    return True


def reschedule_confirm_page(
    request, *, appointment, now, pick_again, template, moved_url, moved_message, held_for
):
    """The last step of moving an appointment, for patients and the front desk alike: GET shows
    the new time (if still free) to confirm, POST moves the appointment through the service.

    `moved_url(new_appointment)` is where a successful move leads; `held_for` is the
    appointment's patient (whose own held times stay on offer), as the caller has it loaded.
    """
    form = RescheduleForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        messages.error(request, form.errors["start"][0])
        return redirect(pick_again)
    start = form.cleaned_data["start"]
    if request.method == "POST":
        try:
            moved = services.reschedule_appointment(
                appointment=appointment, start=start, by=request.user, now=now
            )
        except services.BookingError as error:
            messages.error(request, str(error))
            return redirect(pick_again)
        messages.success(request, moved_message)
        return redirect(moved_url(moved))
    visit_type = _visit_type(None, appointment)
    if not selectors.slot_is_open(
        doctor=appointment.doctor,
        clinic=appointment.clinic,
        start=start,
        now=now,
        ignoring=appointment,
        held_for=held_for,
        visit_type=visit_type,
    ):
        messages.error(request, _no_longer_available())
        return redirect(pick_again)
    return render(
        request,
        template,
        {
            "appointment": appointment,
            "form": form,
            "start": start,
            "end": start
            + dt.timedelta(
                minutes=visit_type.minutes if visit_type else appointment.doctor.slot_minutes
            ),
        },
    )


def hold_refused_message(error):
    """What a confirm page says when the time cannot be held for the patient. A hold of someone
    else's may let go within minutes, and a patient at the cap must cancel or book first: both
    are worth saying; anything else is simply gone. `error` is None when nothing was tried."""
    if isinstance(error, services.SlotHeld) or getattr(error, "code", None) == "cap_reached":
        return str(error)
    return _no_longer_available()


def _no_longer_available():
    return gettext("Sorry, that time is no longer available. Please choose another time.")


def may_hold_on_view(request):
    """Whether showing a confirm page may hold its time: only when a person opened it from the
    portal's own pages (or typed or bookmarked it). A page another site sent the browser to, or
    one a browser or proxy fetches ahead of a click, shows the time without holding it, so
    nobody can make a patient's or the desk's browser keep (or let go of) times behind their
    back; the booking itself is a POST with its CSRF check, and takes the time then."""
    purpose = f"{request.headers.get('Sec-Purpose', '')} {request.headers.get('Purpose', '')}"
    if "prefetch" in purpose.lower():
        return False
    return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")
