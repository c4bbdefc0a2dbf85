"""Demo intake questions (seed_demo): every first consultation asks these, one of each kind."""

from django.db import transaction

from doctors.models import VisitType
from intake.models import Question, QuestionKind

DEMO_QUESTIONS = [
    ("What would you like the doctor to look at?", QuestionKind.TEXT, "", True),
    ("How long has it been going on?", QuestionKind.CHOICE, "Days\nWeeks\nMonths\nYears", False),
    ("Are you allergic to any medicine?", QuestionKind.YES_NO, "", True),
    ("When did you last see a doctor about it?", QuestionKind.DATE, "", False),
]


def seed_questions():
    """Adds the demo questions to each active first-consultation type that has none yet (seeding
    again adds nothing). Returns how many visit types got them."""
    with transaction.atomic():
        types = VisitType.objects.filter(
            is_active=True, name__icontains="first", intake_questions__isnull=True
        )
        seeded = 0
        for visit_type in types:
            for position, (text, kind, choices, required) in enumerate(DEMO_QUESTIONS, start=1):
                Question.objects.create(
                    visit_type=visit_type,
                    text=text,
                    kind=kind,
                    choices=choices,
                    required=required,
                    position=position,
                )
            seeded += 1
    return seeded
