import pytest

from intake.demo import DEMO_QUESTIONS, seed_questions
from intake.models import Question
from intake.tests.factories import VisitTypeFactory

pytestmark = pytest.mark.django_db


def test_first_consultations_get_the_demo_questions_once():
    first = VisitTypeFactory(name="First consultation")
    VisitTypeFactory(name="Follow-up")
    VisitTypeFactory(name="First visit (retired)", is_active=False)

    assert seed_questions() == 1
    assert seed_questions() == 0

    assert [question.text for question in Question.objects.all()] == [
        text for text, *_ in DEMO_QUESTIONS
    ]
    assert {question.visit_type for question in Question.objects.all()} == {first}
    for question in Question.objects.all():
        question.full_clean()  # valid as the admin would have them
