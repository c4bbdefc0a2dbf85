"""The answering pages and the answers on the appointment pages, for each kind of visitor, with
good and bad input."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import roles_of
from accounts.tests.pages import page_text
from bookings.models import Status
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import DoctorFactory
from intake.models import Answer
from intake.receivers import answers_panel
from intake.services import save_answers
from intake.tests.factories import GOOD_ANSWERS, form_data

pytestmark = pytest.mark.django_db


def visible_text(response):
    return " ".join(re.sub(r"<[^>]+>", " ", page_text(response)).split())


def answer_url(appointment):
    return reverse("intake:answer", kwargs={"pk": appointment.pk})


def desk_answer_url(appointment):
    return reverse("intake:desk_answer", kwargs={"pk": appointment.pk})


def saved_answers(appointment):
    return {
        answer.question_text: answer.display_value
        for answer in Answer.objects.filter(appointment=appointment)
    }


def answer_all(appointment, questions, by):
    save_answers(
        appointment=appointment,
        answers={questions[kind]: value for kind, value in GOOD_ANSWERS.items()},
        by=by,
    )


# The patient ---------------------------------------------------------------------------------


def test_patient_answers_the_questions(client, patient_user, appointment, questions):
    client.force_login(patient_user)
    page = client.get(answer_url(appointment))
    assert page.status_code == 200
    text = page_text(page)
    for question in questions.values():
        assert question.text in text

    response = client.post(answer_url(appointment), form_data(questions, **GOOD_ANSWERS))

    assert response.status_code == 302
    assert response["Location"] == reverse("bookings:detail", kwargs={"pk": appointment.pk})
    assert saved_answers(appointment) == {
        "What brings you in?": "Wheezing after climbing stairs",
        "How long has it lasted?": "Weeks",
        "Are you allergic to penicillin?": "Yes",
        "When did it start?": "20 November 2026",
    }


def test_the_form_shows_the_answers_given_and_changes_them(
    client, patient_user, appointment, questions
):
    answer_all(appointment, questions, patient_user)
    client.force_login(patient_user)

    page = client.get(answer_url(appointment)).content.decode()
    assert "Wheezing after climbing stairs</textarea>" in page
    assert re.search(r'<input type="radio"[^>]*value="Weeks"[^>]*checked>', page)
    assert not re.search(r'<input type="radio"[^>]*value="Days"[^>]*checked>', page)

    client.post(answer_url(appointment), form_data(questions, **{**GOOD_ANSWERS, "yes_no": "no"}))
    assert saved_answers(appointment)["Are you allergic to penicillin?"] == "No"


def test_the_choices_and_yes_no_are_fieldsets_with_a_legend(
    client, patient_user, appointment, questions
):
    client.force_login(patient_user)
    page = client.get(answer_url(appointment)).content.decode()

    assert page.count("<fieldset") == 2
    assert "How long has it lasted?" in page.split("<legend", 2)[1].split("</legend>")[0]
    assert f'for="id_question_{questions["text"].pk}"' in page
    assert 'type="date"' in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"text": ""}, "text", "Please answer this question."),
        ({"yes_no": ""}, "yes_no", "Please answer this question."),
        ({"date": "2026-02-30"}, "date", "Enter a real date, such as 2030-01-31."),
        ({"date": "20/11/2026"}, "date", "Enter a real date, such as 2030-01-31."),
        ({"date": "0001-01-01"}, "date", "Enter a real date, such as 2030-01-31."),
        ({"choice": "Years"}, "choice", "Choose one of the answers offered."),
        ({"yes_no": "maybe"}, "yes_no", "Choose one of the answers offered."),
    ],
)
def test_bad_input_is_shown_in_the_error_summary_and_nothing_is_saved(
    client, patient_user, appointment, questions, changes, field, message
):
    client.force_login(patient_user)

    response = client.post(
        answer_url(appointment), form_data(questions, **{**GOOD_ANSWERS, **changes})
    )

    assert response.status_code == 200
    page = response.content.decode()
    summary = page.split('id="form-errors"')[1].split("</div>")[0]
    assert questions[field].text in summary
    assert message in summary
    assert f'href="#id_question_{questions[field].pk}' in summary
    assert not Answer.objects.exists()


def test_optional_questions_may_be_left_out(client, patient_user, appointment, questions):
    client.force_login(patient_user)

    client.post(answer_url(appointment), form_data(questions, text="Fever", yes_no="no"))

    assert saved_answers(appointment) == {
        "What brings you in?": "Fever",
        "Are you allergic to penicillin?": "No",
    }


def test_another_patient_cannot_see_or_answer(client, other_patient_user, appointment, questions):
    client.force_login(other_patient_user)

    assert client.get(answer_url(appointment)).status_code == 404
    response = client.post(answer_url(appointment), form_data(questions, **GOOD_ANSWERS))
    assert response.status_code == 404
    assert not Answer.objects.exists()


def test_visitors_are_sent_to_log_in(client, appointment):
    response = client.get(answer_url(appointment))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("staff", ["doctor_user", "front_desk_user", "clinic_admin_user"])
def test_staff_have_no_patient_answering_page(client, request, appointment, staff):
    client.force_login(request.getfixturevalue(staff))

    assert client.get(answer_url(appointment)).status_code == 403


def test_a_started_appointment_can_no_longer_be_answered(
    client, patient_user, appointment, questions
):
    appointment.status = Status.CHECKED_IN
    appointment.save()
    client.force_login(patient_user)

    for response in (
        client.get(answer_url(appointment)),
        client.post(answer_url(appointment), form_data(questions, **GOOD_ANSWERS)),
    ):
        assert response.status_code == 302
        assert response["Location"] == reverse("bookings:detail", kwargs={"pk": appointment.pk})
    assert not Answer.objects.exists()


def test_an_appointment_without_questions_has_nothing_to_answer(client, patient_user):
    appointment = AppointmentFactory(patient=patient_user.patient)
    client.force_login(patient_user)

    response = client.get(answer_url(appointment), follow=True)

    assert "There are no questions to answer for this appointment." in page_text(response)


def test_the_service_refusal_is_shown_on_the_form(
    client, patient_user, appointment, questions, monkeypatch
):
    """A cancellation between the form's check and the save: the service's message."""
    from intake import services

    def closed(**kwargs):
        raise services.IntakeClosed(services.CLOSED_MESSAGE)

    monkeypatch.setattr(services, "save_answers", closed)
    client.force_login(patient_user)

    response = client.post(answer_url(appointment), form_data(questions, **GOOD_ANSWERS))

    assert response.status_code == 200
    assert "can no longer be answered" in page_text(response)


# The booked page and the appointment's details -----------------------------------------------


def test_the_booked_page_asks_the_questions(client, patient_user, appointment, questions):
    client.force_login(patient_user)

    page = client.get(reverse("bookings:booked", kwargs={"pk": appointment.pk}))

    text = page_text(page)
    assert "Questions before your visit" in text
    assert "Are you allergic to penicillin?" in text
    assert f'action="{answer_url(appointment)}"' in page.content.decode()


def test_the_booked_page_of_a_plain_appointment_asks_nothing(client, patient_user):
    appointment = AppointmentFactory(patient=patient_user.patient)
    client.force_login(patient_user)

    page = client.get(reverse("bookings:booked", kwargs={"pk": appointment.pk}))

    assert "Questions before your visit" not in page_text(page)


def test_the_details_link_to_the_questions_then_show_the_answers(
    client, patient_user, appointment, questions
):
    client.force_login(patient_user)
    detail = reverse("bookings:detail", kwargs={"pk": appointment.pk})

    before = client.get(detail).content.decode()
    assert f'href="{answer_url(appointment)}">Answer the questions</a>' in before

    answer_all(appointment, questions, patient_user)
    after = page_text(client.get(detail))
    assert "Wheezing after climbing stairs" in after
    assert "Change your answers" in after


def test_the_details_of_a_past_appointment_show_the_answers_without_a_link(
    client, patient_user, appointment, questions
):
    answer_all(appointment, questions, patient_user)
    appointment.status = Status.COMPLETED
    appointment.save()
    client.force_login(patient_user)

    page = client.get(reverse("bookings:detail", kwargs={"pk": appointment.pk}))

    assert "Wheezing after climbing stairs" in page_text(page)
    assert answer_url(appointment) not in page.content.decode()


# The doctor ----------------------------------------------------------------------------------


def test_the_doctor_sees_the_answers_on_the_appointment(
    client, own_doctor, appointment, questions, patient_user
):
    answer_all(appointment, questions, patient_user)
    client.force_login(own_doctor.user)

    page = client.get(reverse("schedule:appointment", kwargs={"pk": appointment.pk}))

    text = visible_text(page)
    assert "Are you allergic to penicillin? Yes" in text
    assert "Wheezing after climbing stairs" in text
    assert "Change" not in text.split("Questions before the visit")[1].split("Actions")[0]


def test_another_doctor_cannot_see_the_answers(client, appointment, questions, patient_user):
    answer_all(appointment, questions, patient_user)
    other = DoctorFactory(with_account=True, department=appointment.doctor.department)
    client.force_login(other.user)

    response = client.get(reverse("schedule:appointment", kwargs={"pk": appointment.pk}))

    assert response.status_code == 404
    assert b"Wheezing after climbing stairs" not in response.content


def test_the_doctors_page_costs_the_same_queries_with_or_without_answers(
    client, own_doctor, appointment, questions, patient_user
):
    client.force_login(own_doctor.user)
    url = reverse("schedule:appointment", kwargs={"pk": appointment.pk})
    client.get(url)

    with CaptureQueriesContext(connection) as unanswered:
        client.get(url)
    answer_all(appointment, questions, patient_user)
    with CaptureQueriesContext(connection) as answered:
        client.get(url)

    assert len(answered) == len(unanswered)


def test_the_answers_panel_costs_two_queries_and_none_without_a_visit_type(
    rf, appointment, questions, patient_user, django_assert_num_queries
):
    answer_all(appointment, questions, patient_user)
    request = rf.get("/")
    request.user = patient_user
    roles_of(patient_user)  # read once per request, by the page's navigation

    with django_assert_num_queries(2):
        html = answers_panel(request=request, appointment=appointment, audience="doctor")
    assert html.count("<dt") == 4

    plain = AppointmentFactory()
    with django_assert_num_queries(0):
        assert answers_panel(request=request, appointment=plain, audience="doctor") == ""


# The front desk ------------------------------------------------------------------------------


def test_the_desk_fills_in_the_questions_for_a_walk_in(
    client, front_desk_user, visit_type, questions, own_doctor
):
    walk_in = AppointmentFactory(doctor=own_doctor, visit_type=visit_type)
    assert walk_in.patient.user is None
    client.force_login(front_desk_user)
    desk_page = reverse("desk:appointment", kwargs={"pk": walk_in.pk})

    assert "Fill in the questions" in page_text(client.get(desk_page))
    response = client.post(desk_answer_url(walk_in), form_data(questions, **GOOD_ANSWERS))

    assert response["Location"] == desk_page
    answers = Answer.objects.filter(appointment=walk_in)
    assert {answer.answered_by for answer in answers} == {front_desk_user}
    assert "Wheezing after climbing stairs" in page_text(client.get(desk_page))


def test_the_desk_page_shows_bad_input_and_saves_nothing(
    client, front_desk_user, appointment, questions
):
    client.force_login(front_desk_user)

    response = client.post(
        desk_answer_url(appointment), form_data(questions, **{**GOOD_ANSWERS, "choice": "Ages"})
    )

    assert response.status_code == 200
    assert "Choose one of the answers offered." in page_text(response)
    assert not Answer.objects.exists()


@pytest.mark.parametrize("login", ["patient_user", "doctor_user"])
def test_only_staff_use_the_desk_answering_page(client, request, appointment, questions, login):
    client.force_login(request.getfixturevalue(login))

    response = client.post(desk_answer_url(appointment), form_data(questions, **GOOD_ANSWERS))

    assert response.status_code == 404
    assert not Answer.objects.exists()


def test_a_clinic_admin_may_use_the_desk_answering_page(
    client, clinic_admin_user, appointment, questions
):
    client.force_login(clinic_admin_user)

    assert client.get(desk_answer_url(appointment)).status_code == 200


# Never in URLs -------------------------------------------------------------------------------


def test_no_answer_travels_in_a_url(client, patient_user, appointment, questions):
    client.force_login(patient_user)

    response = client.post(
        answer_url(appointment), form_data(questions, **GOOD_ANSWERS), follow=True
    )

    for url, _ in response.redirect_chain:
        assert "wheezing" not in url.lower() and "Weeks" not in url
    page = response.content.decode()
    links = [part.split('"')[0] for part in page.split('href="')[1:]]
    links += [part.split('"')[0] for part in page.split('action="')[1:]]
    assert links
    assert not [link for link in links if "wheezing" in link.lower() or "Weeks" in link]


def test_a_visit_type_without_questions_shows_no_section(client, patient_user, visit_type):
    appointment = AppointmentFactory(patient=patient_user.patient, visit_type=visit_type)
    client.force_login(patient_user)

    for name in ("bookings:booked", "bookings:detail"):
        page = client.get(reverse(name, kwargs={"pk": appointment.pk}))
        assert "Questions before" not in page_text(page)
