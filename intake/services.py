"""Saving intake answers: the patient's own, or the front desk's for them.

Each answer is saved row by row (never in bulk), so the audit trail records every answer given,
changed or withdrawn, with who did it.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from bookings.models import Appointment
from intake.models import Answer
from intake.selectors import may_answer


class IntakeError(Exception):
    pass


class IntakeClosed(IntakeError):
    pass


CLOSED_MESSAGE = gettext_lazy(
    "The questions can no longer be answered or changed: the appointment has started or is no "
    "longer booked."
)


def save_answers(*, appointment, answers, by, now=None):
    """Stores `answers`, {question: value as text} ("" or None: no answer), for `appointment`.

    Refused once the appointment has started or is no longer booked (IntakeClosed). Returns the
    number of answers added, changed or withdrawn."""
    now = now or timezone.now()
    with transaction.atomic():
        # The appointment's row is locked: a cancellation or a move cannot slip in between.
        appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if not may_answer(appointment, now):
            raise IntakeClosed(CLOSED_MESSAGE)
        existing = {
            answer.question_id: answer
            for answer in Answer.objects.filter(appointment=appointment, question__isnull=False)
        }
        changed = 0
        for question, value in answers.items():
            value = (value or "").strip()
            answer = existing.get(question.pk)
            if not value:
                if answer is not None:
                    answer.delete()
                    changed += 1
                continue
            if answer is not None and answer.value == value:
                continue
            if answer is None:
                answer = Answer(appointment=appointment, question=question)
            answer.question_text = question.text
            answer.kind = question.kind
            answer.position = question.position
            answer.value = value
            answer.answered_at = now
            answer.answered_by = by
            answer.save()
            changed += 1
    return changed


def carry_answers(*, old, new):
    """A moved appointment of the same visit type keeps the answers given for its old time.
    Runs inside the move's transaction (bookings' appointment_rescheduled signal)."""
    if old.visit_type_id != new.visit_type_id:
        return
    for answer in Answer.objects.filter(appointment=old):
        answer.pk = None
        answer.appointment = new
        answer.save()
