"""A visit type with one question of each kind, and an appointment of that type for a patient
with a login, seen by its own doctor (who has a login too)."""

import pytest

from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import DoctorFactory
from intake.models import QuestionKind
from intake.tests.factories import QuestionFactory, VisitTypeFactory


@pytest.fixture
def visit_type(db):
    return VisitTypeFactory()


@pytest.fixture
def questions(visit_type):
    """{kind: question}: text (required), choice, yes/no (required), date."""
    return {
        "text": QuestionFactory(
            visit_type=visit_type, text="What brings you in?", required=True, position=1
        ),
        "choice": QuestionFactory(
            visit_type=visit_type,
            text="How long has it lasted?",
            kind=QuestionKind.CHOICE,
            choices="Days\nWeeks\nMonths",
            position=2,
        ),
        "yes_no": QuestionFactory(
            visit_type=visit_type,
            text="Are you allergic to penicillin?",
            kind=QuestionKind.YES_NO,
            required=True,
            position=3,
        ),
        "date": QuestionFactory(
            visit_type=visit_type,
            text="When did it start?",
            kind=QuestionKind.DATE,
            position=4,
        ),
    }


@pytest.fixture
def own_doctor(visit_type):
    return DoctorFactory(with_account=True, department=visit_type.department)


@pytest.fixture
def appointment(patient_user, own_doctor, visit_type, questions):
    return AppointmentFactory(
        patient=patient_user.patient, doctor=own_doctor, visit_type=visit_type
    )
