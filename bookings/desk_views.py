"""The front desk's pages: today's arrivals, the patient directory, and booking, moving and
cancelling on a patient's behalf through the same services patients use. Once the patient is
chosen on the confirm step, the time is held for them for a few minutes, as on the patient's own
pages (services.hold_for_booking_page).

Front desk and clinic admins get in; other logins get 404, visitors the login page. Patient
searches are POSTed, so names and phone numbers never land in URLs or server logs.
"""

import datetime as dt
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services as patient_services
from accounts.audit import record_view, record_views
from accounts.forms import DirectoryPatientForm, PatientSearchForm
from accounts.models import Patient
from accounts.roles import roles_of
from accounts.selectors import SEARCH_LIMIT, search_patients
from bookings import (
    first_available_types,
    panels,
    pricing,
    selectors,
    services,
    slot_pages,
    visit_type_choice,
)
from bookings.first_available import (
    all_pairs,
    doctor_pairs,
    first_available,
    first_available_by,
)
from bookings.forms import (
    DeskBookingForm,
    DeskCancelForm,
    QueueFilterForm,
    SlotForm,
    slot_token,
)
from bookings.models import Appointment, ContactChannel
from bookings.rules import booking_rules, may_check_in
from doctors.models import Department, Doctor, WorkingHours
from doctors.selectors import bookable_doctors, clinic_where_works, takes_bookings_at


def desk_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        roles = roles_of(request.user)
        if not (roles.is_front_desk or roles.is_clinic_admin):
            raise Http404("The front desk's pages are for the clinic's staff.")
        return view(request, *args, **kwargs)

    return wrapper


def _safe_next(request, fallback):
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/desk/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _with_query(url, **params):
    params = {key: value for key, value in params.items() if value not in (None, "")}
    return f"{url}?{urlencode(params)}" if params else url


# Arrivals ----------------------------------------------------------------------------------------


@desk_required
def queue(request):
    form = QueueFilterForm(request.GET or None)
    form.is_valid()  # a stale or mistyped id drops only its own filter, not the valid one beside it
    filters = form.cleaned_data if form.is_bound else {}
    clinic, department = filters.get("clinic"), filters.get("department")
    now = timezone.now()
    zone = clinic.zone if clinic else timezone.get_current_timezone()
    appointments = selectors.arrivals_queue(now=now, clinic=clinic, department=department)
    return render(
        request,
        "bookings/desk/queue.html",
        {
            "form": form,
            "day": now.astimezone(zone).date(),
            "appointments": appointments,
            "now": now,
        },
    )


@require_POST
@desk_required
def check_in(request, pk):
    appointment = get_object_or_404(Appointment.objects.select_related("patient"), pk=pk)
    try:
        services.check_in_appointment(appointment=appointment, by=request.user)
    except services.BookingError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            gettext("%(name)s is checked in.") % {"name": appointment.patient.full_name},
        )
    return redirect(_safe_next(request, reverse("desk:appointment", kwargs={"pk": pk})))


# The patient directory ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@desk_required
def patients(request):
    form = PatientSearchForm(request.POST or None)
    results = None
    if request.method == "POST" and form.is_valid():
        results = search_patients(form.cleaned_data["query"])
        # Who looked whom up: each record listed is in the audit trail, as an opened one is.
        record_views(results[:SEARCH_LIMIT])
    return render(
        request,
        "bookings/desk/patients.html",
        {
            "form": form,
            "results": results[:SEARCH_LIMIT] if results is not None else None,
            "truncated": results is not None and len(results) > SEARCH_LIMIT,
        },
    )


@require_http_methods(["GET", "POST"])
@desk_required
def patient_new(request):
    form = DirectoryPatientForm(request.POST or None)
    next_url = _safe_next(request, "")
    if request.method == "POST" and form.is_valid():
        patient = patient_services.add_directory_patient(by=request.user, **form.patient_details())
        messages.success(
            request,
            gettext("%(name)s is added to the directory.") % {"name": patient.full_name},
        )
        if next_url:
            separator = "&" if "?" in next_url else "?"
            return redirect(f"{next_url}{separator}{urlencode({'patient': patient.pk})}")
        return redirect("desk:patient", pk=patient.pk)
    return render(request, "bookings/desk/patient_form.html", {"form": form, "next": next_url})


@desk_required
def patient(request, pk):
    patient = get_object_or_404(Patient.objects.select_related("user"), pk=pk)
    record_view(patient)
    now = timezone.now()
    appointments = selectors.appointments_of_patient(patient)
    return render(
        request,
        "bookings/desk/patient.html",
        {
            "patient": patient,
            "upcoming": appointments.upcoming(now),
            "past": appointments.past(now).order_by("-start", "-pk"),
        },
    )


@require_http_methods(["GET", "POST"])
@desk_required
def patient_edit(request, pk):
    patient = get_object_or_404(Patient, pk=pk)
    if patient.has_account:
        messages.info(
            request,
            gettext("This patient has a login and keeps their own details up to date."),
        )
        return redirect("desk:patient", pk=patient.pk)
    form = DirectoryPatientForm(request.POST or None, instance=patient)
    if request.method == "POST" and form.is_valid():
        patient_services.update_directory_patient(patient=patient, **form.patient_details())
        messages.success(request, gettext("The patient's details are saved."))
        return redirect("desk:patient", pk=patient.pk)
    return render(
        request, "bookings/desk/patient_form.html", {"form": form, "patient": patient, "next": ""}
    )


# Booking for a patient ---------------------------------------------------------------------------


def _patient_param(request):
    """The patient carried through the booking pages, if one was chosen (None otherwise)."""
    value = request.GET.get("patient", "")
    # isdigit() alone accepts "²" and other digits int() refuses.
    if not (value.isascii() and value.isdecimal()):
        return None
    return Patient.objects.filter(pk=int(value)).first()


@desk_required
def book(request):
    patient = _patient_param(request)
    now = timezone.now()
    hours = WorkingHours.objects.select_related("clinic").order_by("clinic__name")
    doctors = (
        bookable_doctors(now=now)
        .select_related("department")
        .prefetch_related(Prefetch("working_hours", queryset=hours))
        .order_by("department__name", "full_name")
    )
    departments, department_keys = {}, {}
    for doctor in doctors:
        clinics = {
            row.clinic_id: row.clinic
            for row in doctor.working_hours.all()
            if takes_bookings_at(doctor, row.clinic, now)
        }
        departments.setdefault(doctor.department.name, []).append(
            (doctor, sorted(clinics.values(), key=lambda clinic: clinic.name))
        )
        department_keys[doctor.department.name] = doctor.department_id
    # Each department's type of visit: the one asked for in its department, else its first.
    types = first_available_types.active_types(online_only=False)
    choices = first_available_types.department_choices(
        request, set(department_keys.values()), types
    )
    # Each department's first free times, all found together (a constant number of queries).
    first_times = first_available_by(
        all_pairs(now=now),
        group=lambda pair: pair.doctor.department.name,
        now=now,
        held_for=patient,
        visit_type_of=first_available_types.type_of_pair(types, choices),
    )
    return render(
        request,
        "bookings/desk/book.html",
        {
            "patient": patient,
            "departments": [
                (
                    name,
                    doctors,
                    _first_time_links(first_times.get(name, []), patient),
                    choices[department_keys[name]],
                )
                for name, doctors in sorted(departments.items())
            ],
            "visit_type_keep": [("patient", patient.pk)] if patient else [],
            "patient_query": urlencode({"patient": patient.pk}) if patient else "",
            "department_count": Department.objects.count(),
            "window_days": booking_rules().window_days,
        },
    )


def _first_time_links(times, patient):
    """[(FreeTime, the desk's confirm step for it, with the chosen patient if there is one)]."""
    return [
        (
            time,
            _with_query(
                reverse(
                    "desk:confirm",
                    kwargs={"doctor_id": time.doctor.pk, "clinic_id": time.clinic.pk},
                ),
                start=slot_token(time.start),
                patient=patient.pk if patient else None,
                type=time.visit_type.pk if time.visit_type else None,
            ),
        )
        for time in times
    ]


@desk_required
def first_available_with(request, doctor_id):
    """One doctor's first free times across the clinics where they take bookings."""
    doctor = get_object_or_404(Doctor.objects.active().select_related("department"), pk=doctor_id)
    patient = _patient_param(request)
    now = timezone.now()
    visit_types = visit_type_choice.choose(request, doctor, online_only=False)
    times = first_available(
        doctor_pairs(doctor, now=now), now=now, held_for=patient, visit_type=visit_types.chosen
    )
    return render(
        request,
        "bookings/desk/first_available.html",
        {
            "doctor": doctor,
            "patient": patient,
            "first_times": _first_time_links(times, patient),
            "back_url": _desk_url("desk:book", patient),
            "window_days": booking_rules().window_days,
            **visit_types.context,
            "visit_type_keep": [("patient", patient.pk)] if patient else [],
            "desk": True,
        },
    )


def _doctor_and_clinic(doctor_id, clinic_id):
    doctor = get_object_or_404(Doctor.objects.active().select_related("department"), pk=doctor_id)
    clinic = clinic_where_works(doctor, clinic_id)
    if clinic is None:
        raise Http404("The doctor does not work at that clinic.")
    return doctor, clinic


def _desk_url(name, patient, **kwargs):
    return _with_query(reverse(name, kwargs=kwargs), patient=patient.pk if patient else None)


def _refuse_if_not_booking(request, doctor, clinic, patient):
    """Back to the doctors when this one takes no bookings (e.g. the registration lapsed), as the
    patient pages do: otherwise the desk is offered times the booking service then refuses."""
    if takes_bookings_at(doctor, clinic, timezone.now()):
        return None
    messages.error(
        request,
        gettext("%(name)s is not taking new appointments at the moment.")
        % {"name": doctor.full_name},
    )
    return redirect(_desk_url("desk:book", patient))


@desk_required
def calendar(request, doctor_id, clinic_id):
    doctor, clinic = _doctor_and_clinic(doctor_id, clinic_id)
    patient = _patient_param(request)
    refused = _refuse_if_not_booking(request, doctor, clinic, patient)
    if refused:
        return refused
    visit_types = visit_type_choice.choose(request, doctor, online_only=False)
    return slot_pages.calendar_page(
        request,
        doctor=doctor,
        clinic=clinic,
        now=timezone.now(),
        day_url=lambda day: visit_types.url(
            _desk_url("desk:day", patient, doctor_id=doctor.pk, clinic_id=clinic.pk, day=day)
        ),
        visit_types=visit_types,
        extra={
            "heading": gettext("Book: choose a date"),
            "back_url": _desk_url("desk:book", patient),
            "back_label": gettext("Choose another doctor"),
            "desk": True,
        },
        held_for=patient,
    )


@desk_required
def day(request, doctor_id, clinic_id, day):
    doctor, clinic = _doctor_and_clinic(doctor_id, clinic_id)
    patient = _patient_param(request)
    refused = _refuse_if_not_booking(request, doctor, clinic, patient)
    if refused:
        return refused
    now = timezone.now()
    visit_types = visit_type_choice.choose(request, doctor, online_only=False)
    calendar_url = visit_types.url(
        _desk_url("desk:calendar", patient, doctor_id=doctor.pk, clinic_id=clinic.pk)
    )
    if slot_pages.outside_window(request, clinic, day, now):
        return redirect(calendar_url)
    confirm_url = reverse("desk:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    return slot_pages.day_page(
        request,
        doctor=doctor,
        clinic=clinic,
        day=day,
        now=now,
        day_url=lambda other: visit_types.url(
            _desk_url("desk:day", patient, doctor_id=doctor.pk, clinic_id=clinic.pk, day=other)
        ),
        time_url=lambda token: visit_types.url(
            _with_query(confirm_url, start=token, patient=patient.pk if patient else None)
        ),
        visit_types=visit_types,
        extra={
            "heading": gettext("Book: choose a time"),
            "back_url": calendar_url,
            "back_label": gettext("Choose another date"),
            "desk": True,
        },
        held_for=patient,
    )


@require_http_methods(["GET", "POST"])
@desk_required
def confirm(request, doctor_id, clinic_id):
    doctor, clinic = _doctor_and_clinic(doctor_id, clinic_id)
    now = timezone.now()
    patient = _patient_param(request)
    refused = _refuse_if_not_booking(request, doctor, clinic, patient)
    if refused:
        return refused

    visit_types, type_refused = visit_type_choice.refused(request, doctor, online_only=False)
    visit_type = visit_types.chosen

    def calendar_url(patient):
        # Back to picking a time keeps the chosen patient, so the desk need not find them again.
        return visit_types.url(
            _desk_url("desk:calendar", patient, doctor_id=doctor.pk, clinic_id=clinic.pk)
        )

    if type_refused:
        return redirect(calendar_url(patient))

    picked = SlotForm(request.GET)
    if not picked.is_valid():
        messages.error(request, picked.errors["start"][0])
        return redirect(calendar_url(patient))
    start = picked.cleaned_data["start"]
    search_form = PatientSearchForm()
    results = None
    hold = None
    form = DeskBookingForm(initial={"start": start, "patient": patient})

    action = request.POST.get("action")
    if request.method == "POST" and action == "search":
        search_form = PatientSearchForm(request.POST)
        if search_form.is_valid():
            results = search_patients(search_form.cleaned_data["query"])[:SEARCH_LIMIT]
            record_views(results)
    elif request.method == "POST":
        form = DeskBookingForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                appointment = services.book_appointment(
                    patient=data["patient"],
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
                return redirect(calendar_url(data["patient"]))
            except services.BookingError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    gettext("Booked for %(name)s. Nothing else to do.")
                    % {"name": appointment.patient.full_name},
                )
                return redirect("desk:appointment", pk=appointment.pk)
        patient = form.cleaned_data.get("patient") if form.is_bound else patient
        if form.cleaned_data.get("start"):
            start = form.cleaned_data["start"]
        if patient is not None:  # shown again after a refusal: the hold made for them, if live
            hold = selectors.hold_kept_for(patient=patient, doctor=doctor, start=start, now=now)
    elif patient is not None and slot_pages.may_hold_on_view(request):
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
            return redirect(calendar_url(patient))
    elif not selectors.slot_is_open(
        doctor=doctor,
        clinic=clinic,
        start=start,
        now=now,
        held_for=patient,
        visit_type=visit_type,
    ):
        # Nobody to hold it for yet (the desk chooses the patient on this page, which then
        # holds), or a page opened from elsewhere, which holds nothing.
        messages.error(request, slot_pages.hold_refused_message(None))
        return redirect(calendar_url(patient))

    this_page = visit_types.url(_with_query(request.path, start=request.GET.get("start")))
    return render(
        request,
        "bookings/desk/confirm.html",
        {
            "doctor": doctor,
            "clinic": clinic,
            "start": start,
            "end": start
            + dt.timedelta(minutes=visit_type.minutes if visit_type else doctor.slot_minutes),
            "patient": patient,
            "price": pricing.quote(doctor=doctor, visit_type=visit_type),
            "visit_type": visit_type,
            "form": form,
            "search_form": search_form,
            "results": results,
            "this_page": this_page,
            "new_patient_url": _with_query(reverse("desk:patient_new"), next=this_page),
            "hold": hold,
        },
    )


# One appointment: check in, cancel, move ---------------------------------------------------------


def _appointment(pk):
    return get_object_or_404(
        Appointment.objects.select_related(
            "patient",
            "doctor__department",
            "clinic",
            "rescheduled_to",
            "created_by",
            "attendance_confirmed_by",
            "visit_type",
        ),
        pk=pk,
    )


@desk_required
def appointment(request, pk):
    appointment = _appointment(pk)
    record_view(appointment)
    now = timezone.now()
    movable = appointment.is_open_for_changes(now)
    return render(
        request,
        "bookings/desk/appointment.html",
        {
            "appointment": appointment,
            "panels": panels.render_panels(request, appointment, "desk"),
            "can_check_in": may_check_in(appointment, now),
            "movable": movable,
            "can_confirm": movable and not appointment.attendance_confirmed,
        },
    )


@require_POST
@desk_required
def confirm_attendance(request, pk):
    """The patient told the desk (by phone or at the counter) that they will come."""
    appointment = get_object_or_404(Appointment.objects.select_related("patient"), pk=pk)
    try:
        services.confirm_attendance(
            appointment=appointment, via=ContactChannel.DESK, by=request.user
        )
    except services.BookingError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            gettext("%(name)s will come: recorded.") % {"name": appointment.patient.full_name},
        )
    return redirect(_safe_next(request, reverse("desk:appointment", kwargs={"pk": pk})))


@require_http_methods(["GET", "POST"])
@desk_required
def cancel(request, pk):
    appointment = _appointment(pk)
    if request.method == "GET":
        # No form to fill in for what can no longer be cancelled (a POST gets the service's say).
        refused = _movable_or_redirect(request, appointment)
        if refused:
            return refused
    form = DeskCancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_appointment(
                appointment=appointment, by=request.user, reason=form.cleaned_data["reason"]
            )
        except services.BookingError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request, gettext("The appointment is cancelled and its time released.")
            )
        return redirect("desk:appointment", pk=appointment.pk)
    return render(request, "bookings/desk/cancel.html", {"appointment": appointment, "form": form})


def _movable_or_redirect(request, appointment):
    if appointment.is_open_for_changes(timezone.now()):
        return None
    messages.error(
        request,
        gettext("Only a booked appointment that has not started can be moved or cancelled."),
    )
    return redirect("desk:appointment", pk=appointment.pk)


def _reschedule_extra(appointment, heading, back_url, back_label):
    return {
        "rescheduling": appointment,
        "heading": heading,
        "back_url": back_url,
        "back_label": back_label,
        "desk": True,
    }


@desk_required
def reschedule(request, pk):
    appointment = _appointment(pk)
    refused = _movable_or_redirect(request, appointment)
    if refused:
        return refused
    return slot_pages.calendar_page(
        request,
        doctor=appointment.doctor,
        clinic=appointment.clinic,
        now=timezone.now(),
        day_url=lambda day: reverse("desk:reschedule_day", kwargs={"pk": pk, "day": day}),
        ignoring=appointment,
        held_for=appointment.patient,
        extra=_reschedule_extra(
            appointment,
            gettext("Move %(name)s's appointment: choose a date")
            % {"name": appointment.patient.full_name},
            reverse("desk:appointment", kwargs={"pk": pk}),
            gettext("Back to the appointment"),
        ),
    )


@desk_required
def reschedule_day(request, pk, day):
    appointment = _appointment(pk)
    refused = _movable_or_redirect(request, appointment)
    if refused:
        return refused
    now = timezone.now()
    if slot_pages.outside_window(request, appointment.clinic, day, now):
        return redirect("desk:reschedule", pk=pk)
    confirm_url = reverse("desk:reschedule_confirm", kwargs={"pk": pk})
    return slot_pages.day_page(
        request,
        doctor=appointment.doctor,
        clinic=appointment.clinic,
        day=day,
        now=now,
        day_url=lambda other: reverse("desk:reschedule_day", kwargs={"pk": pk, "day": other}),
        time_url=lambda token: _with_query(confirm_url, start=token),
        ignoring=appointment,
        held_for=appointment.patient,
        extra=_reschedule_extra(
            appointment,
            gettext("Move %(name)s's appointment: choose a time")
            % {"name": appointment.patient.full_name},
            reverse("desk:reschedule", kwargs={"pk": pk}),
            gettext("Choose another date"),
        ),
    )


@require_http_methods(["GET", "POST"])
@desk_required
def reschedule_confirm(request, pk):
    appointment = _appointment(pk)
    refused = _movable_or_redirect(request, appointment)
    if refused:
        return refused
    return slot_pages.reschedule_confirm_page(
        request,
        appointment=appointment,
        now=timezone.now(),
        pick_again=reverse("desk:reschedule", kwargs={"pk": pk}),
        template="bookings/desk/reschedule_confirm.html",
        moved_url=lambda moved: reverse("desk:appointment", kwargs={"pk": moved.pk}),
        moved_message=gettext("The appointment is moved; the old time is released."),
        held_for=appointment.patient,
    )
