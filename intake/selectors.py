"""Reads of intake questions and answers, one query each."""

from intake.models import Answer, Question


def questions_for(appointment):
    """The active questions of the appointment's visit type, in the order they are asked."""
    if appointment.visit_type_id is None:
        return []
    return list(Question.objects.filter(visit_type_id=appointment.visit_type_id, active=True))


def answers_of(appointment):
    return list(Answer.objects.filter(appointment=appointment))


def may_answer(appointment, now):
    """Answers can be given and changed while the appointment is booked and has not started."""
    return appointment.is_open_for_changes(now)
