import factory

from doctors.models import VisitType
from doctors.tests.factories import DepartmentFactory
from intake.models import Question, QuestionKind


class VisitTypeFactory(factory.django.DjangoModelFactory):
    """A department's 20-minute first consultation (written directly)."""

    class Meta:
        model = VisitType

    name = "First consultation"
    department = factory.SubFactory(DepartmentFactory)
    doctor = None
    minutes = 20


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    visit_type = factory.SubFactory(VisitTypeFactory)
    text = factory.Sequence(lambda n: f"Question {n}?")
    kind = QuestionKind.TEXT
    required = False
    position = factory.Sequence(lambda n: n)


def form_data(questions, **values):
    """POST data answering `questions` ({kind: question}) with values given by kind."""
    return {f"question_{questions[kind].pk}": value for kind, value in values.items()}


GOOD_ANSWERS = {
    "text": "Wheezing after climbing stairs",
    "choice": "Weeks",
    "yes_no": "yes",
    "date": "2026-11-20",
}
