"""The patient's booking pages: department -> doctor -> clinic -> date -> time -> confirm, and
"My appointments" with details, cancel and reschedule.

Browsing free times is open to anyone (nothing personal is shown); confirming, and everything
about an appointment, needs a patient's login. A patient reaches only their own appointments:
another's answers 404. Reaching the confirm step holds the time for the patient for a few
minutes (services.hold_for_booking_page); the booking consumes the hold.
"""

import datetime as dt
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from accounts.audit import record_view
from accounts.models import Patient
from bookings import (
    first_available_types,
    ical,
    panels,
    pricing,
    selectors,
    services,
    slot_pages,
    visit_type_choice,
)
from bookings.first_available import department_pairs, doctor_pairs, first_available
from bookings.forms import BookingForm, CancelForm, SlotForm, slot_token
from bookings.models import Status
from bookings.rules import (
    booking_rules,
    patient_cancellation_cutoff,
    patient_may_change,
)
from doctors.models import Department, Doctor, WorkingHours
from doctors.selectors import (
    bookable_doctors,
    clinics_where_works,
    departments_with_doctor_counts,
    takes_bookings_at,
)

PAST_PER_PAGE = 20


def patient_required(view):
    """Logged in, with an entry in the patient directory (passed to the view as `patient`)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        patient = Patient.objects.filter(user=request.user).first()
        if patient is None:
            raise PermissionDenied(
                gettext("Only patients book and manage appointments on these pages.")
            )
        return view(request, *args, patient=patient, **kwargs)

    return wrapper


# Choosing a doctor -------------------------------------------------------------------------------


def choose_department(request):
    return render(
        request,
        "bookings/choose_department.html",
        {"departments": departments_with_doctor_counts()},
    )


def _first_times(request, pairs, now, **visit_types):
    """The first free times across `pairs` (for the `visit_type` or `visit_type_of` given), each
    with its link to the confirm step, carrying the type the time was found for."""
    times = first_available(pairs, now=now, held_for=_viewing_patient(request), **visit_types)
    return [
        (
            time,
            reverse(
                "bookings:confirm",
                kwargs={"doctor_id": time.doctor.pk, "clinic_id": time.clinic.pk},
            )
            + f"?start={slot_token(time.start)}"
            + (f"&{visit_type_choice.PARAMETER}={time.visit_type.pk}" if time.visit_type else ""),
        )
        for time in times
    ]


def choose_doctor(request, department_id):
    department = get_object_or_404(Department, pk=department_id)
    now = timezone.now()
    doctors = bookable_doctors(now=now).filter(department=department)
    types = first_available_types.active_types(departments=[department.pk], online_only=True)
    choices = first_available_types.department_choices(request, [department.pk], types)
    first_times = _first_times(
        request,
        department_pairs(department, now=now),
        now,
        visit_type_of=first_available_types.type_of_pair(types, choices),
    )
    return render(
        request,
        "bookings/choose_doctor.html",
        {
            "department": department,
            "doctors": doctors.order_by("full_name", "pk"),
            "first_times": first_times,
            "window_days": booking_rules().window_days,
            **choices[department.pk].context,
        },
    )


def _bookable_doctor(doctor_id):
    return get_object_or_404(Doctor.objects.active().select_related("department"), pk=doctor_id)


def choose_clinic(request, doctor_id):
    doctor = _bookable_doctor(doctor_id)
    now = timezone.now()
    works_at = clinics_where_works(doctor)
    clinics = [clinic for clinic in works_at if takes_bookings_at(doctor, clinic, now)]
    if len(clinics) == 1:
        calendar_url = reverse(
            "bookings:calendar", kwargs={"doctor_id": doctor.pk, "clinic_id": clinics[0].pk}
        )
        # The type chosen on the department's page goes along; the calendar judges it.
        chosen = request.GET.get(visit_type_choice.PARAMETER, "").strip()
        if chosen.isascii() and chosen.isdecimal():
            calendar_url += "?" + urlencode({visit_type_choice.PARAMETER: chosen})
        return redirect(calendar_url)
    first_times, visit_types = [], visit_type_choice.VisitTypeChoice([], None)
    if clinics:
        visit_types = visit_type_choice.choose(request, doctor, online_only=True)
        first_times = _first_times(
            request, doctor_pairs(doctor, now=now), now, visit_type=visit_types.chosen
        )
    return render(
        request,
        "bookings/choose_clinic.html",
        {
            "doctor": doctor,
            "clinics": clinics,
            "not_taking": bool(works_at) and not clinics,
            "first_times": first_times,
            "window_days": booking_rules().window_days,
            **visit_types.context,
        },
    )


def _viewing_patient(request):
    """The logged-in visitor's patient record, whose own held times are still offered to them."""
    if not request.user.is_authenticated:
        return None
    return Patient.objects.filter(user=request.user).first()


def _doctor_and_clinic(doctor_id, clinic_id):
    """The active doctor and a clinic where they have working hours, else 404.

    One query through their working hours there: every booking POST opens with it, and a server
    that opens a database connection per request pays for each statement on a cold connection.
    """
    hours = list(
        WorkingHours.objects.filter(doctor_id=doctor_id, clinic_id=clinic_id)
        # Doctor.objects.active()'s rule, on the join rather than as a subquery.
        .filter(doctor__is_active=True)
        .select_related("doctor__department", "clinic")
        .order_by()[:1]
    )
    if not hours:
        raise Http404("No such doctor, or not at that clinic.")
    return hours[0].doctor, hours[0].clinic


# Picking a time ----------------------------------------------------------------------------------


def calendar(request, doctor_id, clinic_id):
    doctor = _bookable_doctor(doctor_id)
    # All the doctor's clinics in the one query: the back link depends on how many there are.
    works_at = {clinic.pk: clinic for clinic in clinics_where_works(doctor)}
    clinic = works_at.get(clinic_id)
    if clinic is None:
        raise Http404("The doctor does not work at that clinic.")
    now = timezone.now()
    if not takes_bookings_at(doctor, clinic, now):
        return redirect("bookings:clinics", doctor_id=doctor.pk)
    clinics = [other for other in works_at.values() if takes_bookings_at(doctor, other, now)]
    visit_types = visit_type_choice.choose(request, doctor, online_only=True)
    return slot_pages.calendar_page(
        request,
        doctor=doctor,
        clinic=clinic,
        now=now,
        day_url=lambda day: visit_types.url(
            reverse(
                "bookings:day",
                kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk, "day": day},
            )
        ),
        visit_types=visit_types,
        # The clinic page sends a one-clinic doctor straight back here: "back" goes to the doctors.
        extra={"only_clinic": len(clinics) == 1},
        held_for=_viewing_patient(request),
    )


def day(request, doctor_id, clinic_id, day):
    doctor, clinic = _doctor_and_clinic(doctor_id, clinic_id)
    now = timezone.now()
    if not takes_bookings_at(doctor, clinic, now) or slot_pages.outside_window(
        request, clinic, day, now
    ):
        return redirect("bookings:calendar", doctor_id=doctor.pk, clinic_id=clinic.pk)
    confirm_url = reverse(
        "bookings:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk}
    )
    visit_types = visit_type_choice.choose(request, doctor, online_only=True)
    return slot_pages.day_page(
        request,
        doctor=doctor,
        clinic=clinic,
        day=day,
        now=now,
        day_url=lambda other: visit_types.url(
            reverse(
                "bookings:day",
                kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk, "day": other},
            )
        ),
        time_url=lambda token: visit_types.url(f"{confirm_url}?start={token}"),
        held_for=_viewing_patient(request),
        visit_types=visit_types,
    )


def _day_url_of(doctor, clinic, start, now):
    """The day page for the date of `start`, or the calendar when that date is not bookable."""
    local_day = start.astimezone(clinic.zone).date()
    first_day, last_day = slot_pages.window(clinic, now)
    if first_day <= local_day <= last_day:
        return reverse(
            "bookings:day",
            kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk, "day": local_day},
        )
    return reverse("bookings:calendar", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})


# Confirming --------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@patient_required
def confirm(request, doctor_id, clinic_id, patient):
    doctor, clinic = _doctor_and_clinic(doctor_id, clinic_id)
    now = timezone.now()
    visit_types, type_refused = visit_type_choice.refused(request, doctor, online_only=True)
    visit_type = visit_types.chosen
    calendar_url = visit_types.url(
        reverse("bookings:calendar", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    )
    if type_refused:
        return redirect(calendar_url)
    hold = None
    if request.method == "POST":
        form = BookingForm(request.POST)
    else:
        picked = SlotForm(request.GET)
        if not picked.is_valid():
            messages.error(request, picked.errors["start"][0])
            return redirect(calendar_url)
        start = picked.cleaned_data["start"]
        if slot_pages.may_hold_on_view(request):
            try:
                hold = services.hold_for_booking_page(
                    doctor=doctor,
                    clinic=clinic,
                    start=start,
                    by=request.user,
                    patient=patient,
                    now=now,
                    visit_type=visit_type,
                )
            except services.BookingError as error:
                messages.error(request, slot_pages.hold_refused_message(error))
                return redirect(visit_types.url(_day_url_of(doctor, clinic, start, now)))
        elif not selectors.slot_is_open(
            doctor=doctor,
            clinic=clinic,
            start=start,
            now=now,
            held_for=patient,
            visit_type=visit_type,
        ):
            messages.error(request, slot_pages.hold_refused_message(None))
            return redirect(visit_types.url(_day_url_of(doctor, clinic, start, now)))
        form = BookingForm(initial={"start": start})

    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            appointment = services.book_appointment(
                patient=patient,
                doctor=doctor,
                clinic=clinic,
                start=data["start"],
                appointment_type=data["appointment_type"],
                payment_mode=data["payment_mode"],
                reason=data["reason"],
                by=request.user,
                now=now,
                visit_type=visit_type,
            )
        except services.SlotUnavailable as error:
            messages.error(request, str(error))
            return redirect(visit_types.url(_day_url_of(doctor, clinic, data["start"], now)))
        except services.BookingError as error:
            form.add_error(None, str(error))
        else:
            return redirect("bookings:booked", pk=appointment.pk)

    start = form.cleaned_data.get("start") if form.is_bound else form.initial["start"]
    if start is None:
        # Without a readable time there is nothing to confirm: back to picking one.
        messages.error(request, gettext("Please pick an appointment time from the list."))
        return redirect(calendar_url)
    if form.is_bound:  # shown again after a refusal: the hold the first showing made, if live
        hold = selectors.hold_kept_for(patient=patient, doctor=doctor, start=start, now=now)
    return render(
        request,
        "bookings/confirm.html",
        {
            "form": form,
            "doctor": doctor,
            "clinic": clinic,
            "start": start,
            "end": start
            + dt.timedelta(minutes=visit_type.minutes if visit_type else doctor.slot_minutes),
            "price": pricing.quote(doctor=doctor, visit_type=visit_type),
            "change_url": visit_types.url(_day_url_of(doctor, clinic, start, now)),
            "hold": hold,
            "visit_type": visit_type,
            "form_action": visit_types.url(
                reverse("bookings:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
            ),
            "series_url": _series_url(doctor, clinic, start, visit_types),
        },
    )


def _series_url(doctor, clinic, start, visit_types):
    """Where the patient books this visit as a series, when its type allows them to."""
    if visit_types.chosen is None or not visit_types.chosen.patients_may_book_series:
        return None
    url = reverse("bookings:book_series", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    return visit_types.url(f"{url}?{urlencode({'start': slot_token(start)})}")


@patient_required
def booked(request, pk, patient):
    appointment = get_object_or_404(selectors.appointments_of_patient(patient), pk=pk)
    if appointment.status != Status.BOOKED:
        # A bookmarked confirmation of an appointment since cancelled or seen must not say "booked".
        return redirect("bookings:detail", pk=appointment.pk)
    return render(
        request,
        "bookings/booked.html",
        {
            "appointment": appointment,
            "panels": panels.render_panels(request, appointment, "booked"),
        },
    )


# My appointments ---------------------------------------------------------------------------------


@patient_required
def my_appointments(request, patient):
    now = timezone.now()
    appointments = selectors.appointments_of_patient(patient)
    # Years of visits would make one endless page; what is coming stays on top of every page.
    past = Paginator(appointments.past(now).order_by("-start", "-pk"), PAST_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "bookings/my_appointments.html",
        {"upcoming": appointments.upcoming(now), "past": past.object_list, "past_page": past},
    )


def _own_appointment(patient, pk):
    return get_object_or_404(selectors.appointments_of_patient(patient), pk=pk)


@patient_required
def detail(request, pk, patient):
    appointment = _own_appointment(patient, pk)
    record_view(appointment)
    now = timezone.now()
    return render(
        request,
        "bookings/detail.html",
        {
            "appointment": appointment,
            "panels": panels.render_panels(request, appointment, "patient"),
            "may_change": patient_may_change(appointment, now),
            "cutoff_hours": int(patient_cancellation_cutoff().total_seconds() // 3600),
        },
    )


@patient_required
def calendar_file(request, pk, patient):
    """The appointment as an .ics file for the patient's own calendar."""
    appointment = _own_appointment(patient, pk)
    if appointment.status != Status.BOOKED:
        raise Http404("Only a booked appointment can be added to a calendar.")
    response = HttpResponse(
        ical.appointment_ics(appointment, now=timezone.now()), content_type=ical.CONTENT_TYPE
    )
    # A neutral file name: downloads folders and browser histories are not private.
    response["Content-Disposition"] = 'attachment; filename="appointment.ics"'
    return response


def _changeable(request, patient, pk):
    """(the patient's own appointment, now, None) when they may still change it online;
    (appointment, now, a redirect to its details with the reason) when they may not."""
    appointment = _own_appointment(patient, pk)
    now = timezone.now()
    return appointment, now, _refuse_change(request, appointment, now)


def _refuse_change(request, appointment, now):
    """Redirects to the details with the reason when the patient can no longer change it."""
    if patient_may_change(appointment, now):
        return None
    if not appointment.is_open_for_changes(now):
        messages.error(request, gettext("This appointment can no longer be changed."))
    else:
        hours = int(patient_cancellation_cutoff().total_seconds() // 3600)
        messages.error(
            request,
            # A clinic setting, said as a plural whatever its value (as the services say it).
            gettext(
                "Appointments can be changed online up to %(hours)s hours before they start. "
                "Please call the clinic."
            )
            % {"hours": hours},
        )
    return redirect("bookings:detail", pk=appointment.pk)


@require_http_methods(["GET", "POST"])
@patient_required
def cancel(request, pk, patient):
    appointment, now, refused = _changeable(request, patient, pk)
    if refused:
        return refused
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_appointment(
                appointment=appointment,
                by=request.user,
                reason=form.cleaned_data["reason"],
                now=now,
            )
        except services.BookingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, gettext("Your appointment is cancelled."))
            return redirect("bookings:mine")
    return render(request, "bookings/cancel.html", {"appointment": appointment, "form": form})


# Rescheduling ------------------------------------------------------------------------------------


def _reschedule_day_url(appointment):
    return lambda day: reverse("bookings:reschedule_day", kwargs={"pk": appointment.pk, "day": day})


@patient_required
def reschedule(request, pk, patient):
    appointment, now, refused = _changeable(request, patient, pk)
    if refused:
        return refused
    return slot_pages.calendar_page(
        request,
        doctor=appointment.doctor,
        clinic=appointment.clinic,
        now=now,
        day_url=_reschedule_day_url(appointment),
        ignoring=appointment,
        extra={"rescheduling": appointment},
        held_for=patient,
    )


@patient_required
def reschedule_day(request, pk, day, patient):
    appointment, now, refused = _changeable(request, patient, pk)
    if refused:
        return refused
    if slot_pages.outside_window(request, appointment.clinic, day, now):
        return redirect("bookings:reschedule", pk=appointment.pk)
    confirm_url = reverse("bookings:reschedule_confirm", kwargs={"pk": appointment.pk})
    return slot_pages.day_page(
        request,
        doctor=appointment.doctor,
        clinic=appointment.clinic,
        day=day,
        now=now,
        day_url=_reschedule_day_url(appointment),
        time_url=lambda token: f"{confirm_url}?start={token}",
        ignoring=appointment,
        extra={"rescheduling": appointment},
        held_for=patient,
    )


@require_http_methods(["GET", "POST"])
@patient_required
def reschedule_confirm(request, pk, patient):
    appointment, now, refused = _changeable(request, patient, pk)
    if refused:
        return refused
    return slot_pages.reschedule_confirm_page(
        request,
        appointment=appointment,
        now=now,
        pick_again=reverse("bookings:reschedule", kwargs={"pk": appointment.pk}),
        template="bookings/reschedule_confirm.html",
        moved_url=lambda moved: reverse("bookings:detail", kwargs={"pk": moved.pk}),
        moved_message=gettext("Your appointment has been moved. The old time is released."),
        held_for=patient,
    )
