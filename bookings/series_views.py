"""Recurring series pages: the front desk books one (rule -> preview -> book), the desk and the
patient cancel an appointment of a series with all its later ones. The rules are bookings.series'
and the services'; these pages parse, authorise and show.

Who gets in: the desk's pages, the front desk and clinic admins (others 404, visitors the login);
the patient's, only the appointment's own patient (another's 404).
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_http_methods

from bookings import panels, pricing, services, visit_type_choice
from bookings.desk_views import (
    _desk_url,
    _doctor_and_clinic,
    _patient_param,
    _refuse_if_not_booking,
    _with_query,
    desk_required,
)
from bookings.forms import CancelForm, DeskCancelForm, SlotForm, slot_token
from bookings.models import Appointment, AppointmentSeries, SeriesLink
from bookings.rules import patient_may_change
from bookings.series import (
    book_series,
    cancel_this_and_later,
    max_occurrences,
    patient_may_book_series,
    plan_series,
    this_and_later,
)
from bookings.series_forms import SeriesChoiceForm, SeriesForm
from bookings.views import _changeable, patient_required
from doctors.selectors import takes_bookings_at


@require_http_methods(["GET", "POST"])
@desk_required
def desk_series(request, doctor_id, clinic_id):
    """The desk books a series for the chosen patient from the first time chosen: the rule, a
    preview of every occurrence (free, or not with the next free time to take instead), then
    the booking of the times ticked. Of any type of visit the doctor offers."""
    doctor, clinic = _doctor_and_clinic(doctor_id, clinic_id)
    patient = _patient_param(request)
    refused = _refuse_if_not_booking(request, doctor, clinic, patient)
    if refused:
        return refused
    visit_types, type_refused = visit_type_choice.refused(request, doctor, online_only=False)
    calendar_url = visit_types.url(
        _desk_url("desk:calendar", patient, doctor_id=doctor.pk, clinic_id=clinic.pk)
    )
    if type_refused:
        return redirect(calendar_url)
    picked = SlotForm(request.GET)
    if not picked.is_valid():
        messages.error(request, picked.errors["start"][0])
        return redirect(calendar_url)
    start = picked.cleaned_data["start"]
    confirm_url = visit_types.url(
        _with_query(
            reverse("desk:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk}),
            start=slot_token(start),
            patient=patient.pk if patient else None,
        )
    )
    if patient is None:
        messages.error(request, gettext("Choose the patient first, then book the series."))
        return redirect(confirm_url)
    return _series_page(
        request,
        doctor=doctor,
        clinic=clinic,
        patient=patient,
        start=start,
        visit_type=visit_types.chosen,
        back_url=confirm_url,
        audience="desk",
        booked_url=lambda series: reverse("desk:series", kwargs={"pk": series.pk}),
    )


@require_http_methods(["GET", "POST"])
@patient_required
def patient_series(request, doctor_id, clinic_id, patient):
    """A patient books their own series from the time they picked, for a type of visit that
    allows it (VisitType.patients_may_book_series); the same steps as the desk's."""
    doctor, clinic = _doctor_and_clinic(doctor_id, clinic_id)
    now = timezone.now()
    visit_types, type_refused = visit_type_choice.refused(request, doctor, online_only=True)
    calendar_url = visit_types.url(
        reverse("bookings:calendar", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    )
    if type_refused or not takes_bookings_at(doctor, clinic, now):
        return redirect(calendar_url)
    picked = SlotForm(request.GET)
    if not picked.is_valid():
        messages.error(request, picked.errors["start"][0])
        return redirect(calendar_url)
    start = picked.cleaned_data["start"]
    confirm_url = visit_types.url(
        _with_query(
            reverse("bookings:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk}),
            start=slot_token(start),
        )
    )
    if not patient_may_book_series(visit_types.chosen):
        messages.error(
            request,
            gettext(
                "This type of visit cannot be booked as a series online. Book this appointment, "
                "or ask the front desk to book the series."
            ),
        )
        return redirect(confirm_url)
    return _series_page(
        request,
        doctor=doctor,
        clinic=clinic,
        patient=patient,
        start=start,
        visit_type=visit_types.chosen,
        back_url=confirm_url,
        audience="patient",
        booked_url=lambda series: reverse("bookings:mine"),
        now=now,
    )


def _series_page(
    request,
    *,
    audience,
    doctor,
    clinic,
    patient,
    start,
    visit_type,
    back_url,
    booked_url,
    now=None,
):
    """The rule form, the preview of the occurrences and the booking of the ticked times, for
    whoever books (the services decide what each may book)."""
    now = now or timezone.now()
    form = SeriesForm(request.POST or None)
    choice_form = SeriesChoiceForm(request.POST or None)
    plan = None

    def plan_now():
        return plan_series(
            doctor=doctor,
            clinic=clinic,
            first_start=start,
            rule=form.rule(),
            patient=patient,
            now=now,
            visit_type=visit_type,
        )

    if request.method == "POST" and form.is_valid():
        try:
            plan = plan_now()
        except services.BookingError as error:
            form.add_error(None, str(error))
        if plan is not None and request.POST.get("action") == "book" and choice_form.is_valid():
            data = form.cleaned_data
            try:
                result = book_series(
                    patient=patient,
                    doctor=doctor,
                    clinic=clinic,
                    starts=choice_form.cleaned_data["take"],
                    rule=form.rule(),
                    appointment_type=data["appointment_type"],
                    payment_mode=data["payment_mode"],
                    reason=data["reason"],
                    by=request.user,
                    now=now,
                    visit_type=visit_type,
                )
            except services.BookingError as error:
                choice_form.add_error(None, str(error))
            else:
                _report_refusals(request, result.refused, clinic)
                if result.series is not None:
                    messages.success(request, _booked_message(result.booked, audience, patient))
                    return redirect(booked_url(result.series))
                choice_form.add_error(
                    None, gettext("Nothing was booked: every time chosen was refused.")
                )
                plan = plan_now()
    length = visit_type.minutes if visit_type else doctor.slot_minutes
    return render(
        request,
        f"bookings/series/{audience}_plan.html",
        {
            "audience": audience,
            "doctor": doctor,
            "clinic": clinic,
            "patient": patient,
            "start": start,
            "visit_type": visit_type,
            "minutes": length,
            "price": pricing.quote(doctor=doctor, visit_type=visit_type),
            "form": form,
            "choice_form": choice_form if request.POST.get("action") == "book" else None,
            "plan": plan,
            "rows": _rows(plan),
            "back_url": back_url,
            "max_occurrences": max_occurrences(),
        },
    )


def _booked_message(booked, audience, patient):
    count = len(booked)
    if audience == "patient":
        return ngettext(
            "Booked %(count)s appointment in the series.",
            "Booked %(count)s appointments in the series.",
            count,
        ) % {"count": count}
    return ngettext(
        "Booked %(count)s appointment in the series for %(name)s.",
        "Booked %(count)s appointments in the series for %(name)s.",
        count,
    ) % {"count": count, "name": patient.full_name}


def _rows(plan):
    """(occurrence, the token of its wanted time, of its suggestion) for the preview table."""
    if plan is None:
        return []
    return [
        (
            occurrence,
            slot_token(occurrence.wanted) if occurrence.free else "",
            slot_token(occurrence.suggestion) if occurrence.suggestion else "",
        )
        for occurrence in plan.occurrences
    ]


def _report_refusals(request, refused, clinic):
    zone = clinic.zone
    for start, error in refused:
        local = start.astimezone(zone)
        messages.error(
            request,
            gettext("%(time)s was not booked: %(reason)s")
            % {"time": date_format(local, "D j M Y H:i"), "reason": error},
        )


@desk_required
def desk_series_detail(request, pk):
    series = get_object_or_404(
        AppointmentSeries.objects.select_related("patient", "doctor__department", "clinic"),
        pk=pk,
    )
    appointments = (
        Appointment.objects.filter(series_link__series=series)
        .select_related("clinic", "doctor__department", "patient")
        .order_by("start", "pk")
    )
    return render(
        request,
        "bookings/series/desk_detail.html",
        {"series": series, "appointments": appointments},
    )


@require_http_methods(["GET", "POST"])
@desk_required
def desk_cancel_series(request, pk):
    """The desk cancels an appointment of a series and the later booked ones."""
    appointment = get_object_or_404(
        Appointment.objects.select_related("patient", "doctor__department", "clinic"),
        pk=pk,
        series_link__isnull=False,
    )
    if not appointment.is_open_for_changes(timezone.now()):
        messages.error(
            request,
            gettext("Only a booked appointment that has not started can be moved or cancelled."),
        )
        return redirect("desk:appointment", pk=appointment.pk)
    form = DeskCancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cancelled, refused = cancel_this_and_later(
            appointment=appointment, by=request.user, reason=form.cleaned_data["reason"]
        )
        _report_cancellations(request, cancelled, refused)
        return redirect("desk:appointment", pk=appointment.pk)
    return render(
        request,
        "bookings/series/desk_cancel.html",
        {"appointment": appointment, "form": form, "affected": this_and_later(appointment)},
    )


def _report_cancellations(request, cancelled, refused):
    if cancelled:
        count = len(cancelled)
        messages.success(
            request,
            ngettext(
                "%(count)s appointment cancelled and their times released.",
                "%(count)s appointments cancelled and their times released.",
                count,
            )
            % {"count": count},
        )
    for appointment, error in refused:
        local = appointment.local_start()
        messages.error(
            request,
            gettext("%(time)s was not cancelled: %(reason)s")
            % {"time": date_format(local, "D j M Y H:i"), "reason": error},
        )


@require_http_methods(["GET", "POST"])
@patient_required
def patient_cancel_series(request, pk, patient):
    """The patient cancels their appointment of a series and its later ones (the cut-off is
    checked for each, by the cancellation service)."""
    appointment, now, refused = _changeable(request, patient, pk)
    if refused:
        return refused
    if not SeriesLink.objects.filter(appointment=appointment).exists():
        return redirect("bookings:cancel", pk=appointment.pk)
    form = CancelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        cancelled, refusals = cancel_this_and_later(
            appointment=appointment, by=request.user, reason=form.cleaned_data["reason"], now=now
        )
        _report_cancellations(request, cancelled, refusals)
        return redirect("bookings:mine")
    return render(
        request,
        "bookings/series/patient_cancel.html",
        {"appointment": appointment, "form": form, "affected": this_and_later(appointment)},
    )


@panels.register
def series_panel(*, request, appointment, audience):
    """On an appointment's pages: which series it belongs to, and the way to cancel it with
    the later ones where the reader may."""
    if audience not in ("desk", "patient"):
        return ""
    link = SeriesLink.objects.filter(appointment=appointment).select_related("series").first()
    if link is None:
        return ""
    now = timezone.now()
    if audience == "desk":
        may_cancel = appointment.is_open_for_changes(now)
    else:
        may_cancel = patient_may_change(appointment, now)
    later = len(this_and_later(appointment)) - 1 if may_cancel else 0
    return render_to_string(
        "bookings/series/_panel.html",
        {
            "series": link.series,
            "appointment": appointment,
            "audience": audience,
            "may_cancel": may_cancel,
            "later": later,
        },
        request=request,
    )
