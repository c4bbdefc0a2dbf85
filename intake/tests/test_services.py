import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from auditlog.models import LogEntry
from django.utils import timezone

from bookings.models import Status
from bookings.scheduling import at
from bookings.services import reschedule_appointment
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import ClinicFactory, DoctorFactory, WorkingHoursFactory
from intake.models import Answer
from intake.services import IntakeClosed, carry_answers, save_answers
from intake.tests.factories import QuestionFactory, VisitTypeFactory

pytestmark = pytest.mark.django_db


def answers_by_text(appointment):
    return {
        answer.question_text: answer.value
        for answer in Answer.objects.filter(appointment=appointment)
    }


def test_answers_are_saved_with_the_question_text_and_who_gave_them(
    appointment, questions, patient_user
):
    saved = save_answers(
        appointment=appointment,
        answers={questions["text"]: "Wheezing after climbing stairs", questions["yes_no"]: "no"},
        by=patient_user,
    )

    assert saved == 2
    assert answers_by_text(appointment) == {
        "What brings you in?": "Wheezing after climbing stairs",
        "Are you allergic to penicillin?": "no",
    }
    assert {answer.answered_by for answer in Answer.objects.all()} == {patient_user}


def test_a_later_edit_of_the_question_leaves_the_answer_given_alone(
    appointment, questions, patient_user
):
    save_answers(appointment=appointment, answers={questions["text"]: "Fever"}, by=patient_user)
    questions["text"].text = "What is the main problem?"
    questions["text"].save()
    questions["text"].delete()

    assert answers_by_text(appointment) == {"What brings you in?": "Fever"}


def test_changing_and_withdrawing_answers(appointment, questions, patient_user):
    save_answers(
        appointment=appointment,
        answers={questions["text"]: "Fever", questions["choice"]: "Days"},
        by=patient_user,
    )

    saved = save_answers(
        appointment=appointment,
        answers={questions["text"]: "Fever", questions["choice"]: ""},
        by=patient_user,
    )

    assert saved == 1  # the unchanged answer is not written again
    assert answers_by_text(appointment) == {"What brings you in?": "Fever"}


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.CHECKED_IN, Status.COMPLETED])
def test_answers_are_refused_for_an_appointment_no_longer_booked(
    appointment, questions, patient_user, status
):
    appointment.status = status
    appointment.save()

    with pytest.raises(IntakeClosed):
        save_answers(appointment=appointment, answers={questions["text"]: "x"}, by=patient_user)
    assert not Answer.objects.exists()


def test_answers_are_refused_once_the_appointment_has_started(appointment, questions, patient_user):
    with pytest.raises(IntakeClosed):
        save_answers(
            appointment=appointment,
            answers={questions["text"]: "x"},
            by=patient_user,
            now=appointment.start,
        )
    assert not Answer.objects.exists()
    save_answers(
        appointment=appointment,
        answers={questions["text"]: "x"},
        by=patient_user,
        now=appointment.start - dt.timedelta(minutes=1),
    )
    assert Answer.objects.count() == 1


def test_each_answer_given_changed_or_withdrawn_is_in_the_audit_trail(
    appointment, questions, patient_user
):
    save_answers(appointment=appointment, answers={questions["text"]: "Fever"}, by=patient_user)
    save_answers(appointment=appointment, answers={questions["text"]: "Cough"}, by=patient_user)
    save_answers(appointment=appointment, answers={questions["text"]: ""}, by=patient_user)

    entries = LogEntry.objects.get_for_model(Answer).order_by("pk")
    assert [entry.action for entry in entries] == [
        LogEntry.Action.CREATE,
        LogEntry.Action.UPDATE,
        LogEntry.Action.DELETE,
    ]
    assert entries[1].changes["value"] == ["Fever", "Cough"]
    # The entry's title names neither the question nor the answer.
    assert all("Fever" not in entry.object_repr for entry in entries)


def test_a_moved_appointment_keeps_its_answers(appointment, questions, patient_user):
    save_answers(appointment=appointment, answers={questions["text"]: "Fever"}, by=patient_user)
    new = AppointmentFactory(
        patient=appointment.patient,
        doctor=appointment.doctor,
        visit_type=appointment.visit_type,
        rescheduled_from=appointment,
    )

    carry_answers(old=appointment, new=new)

    assert answers_by_text(new) == {"What brings you in?": "Fever"}
    assert answers_by_text(appointment) == {"What brings you in?": "Fever"}


def test_a_move_to_another_visit_type_leaves_the_answers_behind(
    appointment, questions, patient_user
):
    save_answers(appointment=appointment, answers={questions["text"]: "Fever"}, by=patient_user)
    new = AppointmentFactory(patient=appointment.patient, doctor=appointment.doctor)

    carry_answers(old=appointment, new=new)

    assert answers_by_text(new) == {}


def test_display_values(appointment, questions, patient_user):
    save_answers(
        appointment=appointment,
        answers={questions["yes_no"]: "yes", questions["date"]: "2026-11-20"},
        by=patient_user,
        now=timezone.now(),
    )
    shown = {answer.kind: answer.display_value for answer in Answer.objects.all()}
    assert shown == {"yes_no": "Yes", "date": "20 November 2026"}
    assert Answer(kind="date", value="not a date").display_value == "not a date"
    assert Answer(kind="text", value="Plain").display_value == "Plain"


def test_moving_the_appointment_through_the_booking_service_carries_the_answers(db):
    """The receiver of bookings' appointment_rescheduled signal, end to end."""
    zone = ZoneInfo("Asia/Kolkata")
    monday = dt.date(2030, 1, 7)
    now = at(monday, dt.time(8), zone)
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    doctor = DoctorFactory(slot_minutes=15, registration_expires_on=monday + dt.timedelta(days=365))
    doctor.department.opens_at, doctor.department.closes_at = dt.time(8), dt.time(20)
    doctor.department.save()
    for weekday in range(5):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(12)
        )
    visit_type = VisitTypeFactory(department=doctor.department, minutes=15)
    question = QuestionFactory(visit_type=visit_type, text="Any allergies?")
    old = AppointmentFactory(
        doctor=doctor,
        clinic=clinic,
        visit_type=visit_type,
        start=at(monday + dt.timedelta(days=1), dt.time(9), zone),
    )
    save_answers(appointment=old, answers={question: "Dust"}, by=None, now=now)

    new = reschedule_appointment(
        appointment=old,
        start=at(monday + dt.timedelta(days=2), dt.time(10), zone),
        by=old.created_by,
        now=now,
    )

    assert answers_by_text(new) == {"Any allergies?": "Dust"}
