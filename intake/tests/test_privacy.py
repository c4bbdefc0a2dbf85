"""Answers are the patient's data: in their export; never in messages or message links."""

import json

import pytest
from django.core import mail
from django.urls import reverse

from bookings.tests.factories import AppointmentFactory
from intake.services import save_answers
from intake.tests.factories import GOOD_ANSWERS
from notifications.delivery import render_email, render_sms
from notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(appointment, questions, patient_user):
    save_answers(
        appointment=appointment,
        answers={questions[kind]: value for kind, value in GOOD_ANSWERS.items()},
        by=patient_user,
    )
    return appointment


def test_the_answers_are_in_the_patients_data_export(client, patient_user, answered):
    other = AppointmentFactory(visit_type=answered.visit_type)
    save_answers(
        appointment=other,
        answers={answered.visit_type.intake_questions.first(): "Someone else's"},
        by=None,
    )
    client.force_login(patient_user)

    data = json.loads(client.post(reverse("privacy:export")).content)

    assert data["intake_answers"] == [
        {
            "appointment_id": answered.pk,
            "question": question,
            "answer": value,
            "answered_at": data["intake_answers"][0]["answered_at"],
        }
        for question, value in [
            ("What brings you in?", "Wheezing after climbing stairs"),
            ("How long has it lasted?", "Weeks"),
            ("Are you allergic to penicillin?", "Yes"),
            ("When did it start?", "20 November 2026"),
        ]
    ]


def notices_for(appointment):
    return [
        Notification(appointment=appointment, kind=kind, channel=channel, audience=audience)
        for kind in ("confirmation", "reminder", "reschedule", "cancellation")
        for channel in ("email", "sms")
        for audience in ("patient", "doctor")
    ]


def test_no_notice_carries_an_answer(answered, settings):
    settings.PORTAL_URL = "https://portal.example.org"

    for notice in notices_for(answered):
        texts = [render_sms(notice)] if notice.channel == "sms" else []
        if notice.channel == "email":
            message = render_email(notice)
            texts = [message.subject, message.body, *(c for c, _ in message.alternatives)]
        for text in texts:
            for value in ("wheezing", "Weeks", "penicillin", "2026-11-20", "20 November"):
                assert value.lower() not in text.lower(), (notice.kind, notice.channel)
    assert not mail.outbox


def confirmation(appointment, audience="patient", channel="email"):
    return Notification(
        appointment=appointment, kind="confirmation", channel=channel, audience=audience
    )


def test_the_patients_confirmation_links_to_the_appointment_page_for_the_questions(
    answered, settings
):
    settings.PORTAL_URL = "https://portal.example.org"
    page = "https://portal.example.org" + reverse("bookings:detail", kwargs={"pk": answered.pk})

    message = render_email(confirmation(answered))

    assert f"(the portal asks you to log in):\n{page}\n" in message.body
    assert f'<a href="{page}">Answer them' in message.alternatives[0][0]
    assert page not in render_email(confirmation(answered, audience="doctor")).body


def test_no_questions_link_without_questions_a_login_or_a_portal_address(
    answered, questions, settings
):
    settings.PORTAL_URL = "https://portal.example.org"
    walk_in = AppointmentFactory(visit_type=answered.visit_type)
    plain = AppointmentFactory(patient=answered.patient)
    for appointment in (walk_in, plain):
        assert "few questions" not in render_email(confirmation(appointment)).body

    settings.PORTAL_URL = ""
    assert "few questions" not in render_email(confirmation(answered)).body

    settings.PORTAL_URL = "https://portal.example.org"
    for question in questions.values():
        question.active = False
        question.save()
    assert "few questions" not in render_email(confirmation(answered)).body
