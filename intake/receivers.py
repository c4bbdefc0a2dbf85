"""Intake's answers to what bookings announces, and its section on appointment pages."""

from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import timezone

from bookings import panels, signals
from intake import selectors, services
from intake.forms import IntakeForm


@receiver(signals.appointment_rescheduled)
def carry_answers_to_new_time(sender, old, new, **kwargs):
    services.carry_answers(old=old, new=new)


def _panel_context(appointment):
    """None when the appointment has no questions and no answers (nothing to show)."""
    if appointment.visit_type_id is None:
        return None
    questions = selectors.questions_for(appointment)
    answers = selectors.answers_of(appointment)
    if not questions and not answers:
        return None
    answered = {answer.question_id for answer in answers}
    return {
        "appointment": appointment,
        "questions": questions,
        "answers": answers,
        "unanswered": [question for question in questions if question.pk not in answered],
        "may_answer": bool(questions) and selectors.may_answer(appointment, timezone.now()),
    }


@panels.register
def answers_panel(*, request, appointment, audience):
    context = _panel_context(appointment)
    if context is None:
        return ""
    return render_to_string(
        "intake/_partials/answers_panel.html", {**context, "audience": audience}, request=request
    )


@panels.register_booked_page
def questions_after_booking(*, request, appointment, audience):
    """Right after booking: the questions themselves, to answer there and then."""
    context = _panel_context(appointment)
    if context is None or not context["may_answer"]:
        return ""
    form = IntakeForm(questions=context["questions"], answers=context["answers"])
    return render_to_string(
        "intake/_partials/questions_form.html",
        {**context, "form": form, "action": "intake:answer"},
        request=request,
    )
