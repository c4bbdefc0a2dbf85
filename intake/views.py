"""Answering the intake questions: the patient for their own appointment, the front desk for
any patient's (a walk-in, a phone booking). Answers travel only in POST bodies, never in URLs.

A patient reaches only their own appointments (another's answers 404); the desk's page is for
front desk staff and clinic admins. Both are open while the appointment is booked and has not
started; afterwards they send back to the appointment's page, which shows the answers.
"""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from bookings import selectors as booking_selectors
from bookings.desk_views import desk_required
from bookings.models import Appointment
from bookings.views import patient_required
from intake import selectors, services
from intake.forms import IntakeForm


def _answer_page(request, appointment, *, back_url, template, saved_message):
    now = timezone.now()
    questions = selectors.questions_for(appointment)
    if not questions:
        messages.info(request, gettext("There are no questions to answer for this appointment."))
        return redirect(back_url)
    if not selectors.may_answer(appointment, now):
        messages.error(request, services.CLOSED_MESSAGE)
        return redirect(back_url)
    answers = selectors.answers_of(appointment)
    form = IntakeForm(request.POST or None, questions=questions, answers=answers)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_answers(
                appointment=appointment, answers=form.answers(), by=request.user, now=now
            )
        except services.IntakeError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, saved_message)
            return redirect(back_url)
    return render(
        request,
        template,
        {"appointment": appointment, "form": form, "back_url": back_url},
        status=200,
    )


@require_http_methods(["GET", "POST"])
@patient_required
def answer(request, pk, patient):
    appointment = get_object_or_404(booking_selectors.appointments_of_patient(patient), pk=pk)
    return _answer_page(
        request,
        appointment,
        back_url=reverse("bookings:detail", kwargs={"pk": appointment.pk}),
        template="intake/answer.html",
        saved_message=gettext(
            "Your answers are saved. The doctor will see them before your visit."
        ),
    )


@require_http_methods(["GET", "POST"])
@desk_required
def desk_answer(request, pk):
    appointment = get_object_or_404(
        Appointment.objects.select_related("patient", "doctor__department", "clinic"), pk=pk
    )
    return _answer_page(
        request,
        appointment,
        back_url=reverse("desk:appointment", kwargs={"pk": appointment.pk}),
        template="intake/desk_answer.html",
        saved_message=gettext("The answers are saved."),
    )
