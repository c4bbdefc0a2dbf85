"""Intake questions in the admin: clinic admins only; choices checked."""

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from intake.models import Question, QuestionKind

pytestmark = pytest.mark.django_db

ADD = reverse("admin:intake_question_add")
LIST = reverse("admin:intake_question_changelist")


def question_form(visit_type, **fields):
    return {
        "visit_type": visit_type.pk,
        "text": "Do you take any medicines?",
        "kind": QuestionKind.TEXT,
        "choices": "",
        "position": 1,
        "active": "on",
        **fields,
    }


def test_a_clinic_admin_adds_a_question_and_the_audit_trail_records_it(
    client, clinic_admin_user, visit_type
):
    client.force_login(clinic_admin_user)

    response = client.post(ADD, question_form(visit_type, required="on"))

    assert response.status_code == 302
    question = Question.objects.get()
    assert (question.visit_type, question.required) == (visit_type, True)
    entry = LogEntry.objects.get_for_object(question).get()
    assert entry.action == LogEntry.Action.CREATE
    assert entry.actor == clinic_admin_user


def test_a_choice_question_is_saved_with_its_choices_one_per_line(
    client, clinic_admin_user, visit_type
):
    client.force_login(clinic_admin_user)

    client.post(
        ADD,
        question_form(visit_type, kind=QuestionKind.CHOICE, choices=" Days \n\nWeeks\r\nMonths"),
    )

    assert Question.objects.get().choice_list() == ["Days", "Weeks", "Months"]


@pytest.mark.parametrize(
    ("kind", "choices", "message"),
    [
        (QuestionKind.CHOICE, "Only one", "Give at least two choices, one per line."),
        (QuestionKind.CHOICE, "Yes\nyes", "Each choice must be different."),
        (QuestionKind.CHOICE, "\n".join(str(n) for n in range(21)), "Give at most 20 choices."),
        (QuestionKind.CHOICE, "Short\n" + "x" * 201, "Keep each choice under 200 characters."),
        (QuestionKind.TEXT, "A\nB", "Only a choice question has choices."),
    ],
)
def test_bad_choices_are_refused_on_the_form(
    client, clinic_admin_user, visit_type, kind, choices, message
):
    client.force_login(clinic_admin_user)

    response = client.post(ADD, question_form(visit_type, kind=kind, choices=choices))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Question.objects.exists()


def test_the_list_filters_by_visit_type(client, clinic_admin_user, questions, visit_type):
    client.force_login(clinic_admin_user)

    response = client.get(LIST, {"visit_type__id__exact": visit_type.pk})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == list(questions.values())


@pytest.mark.parametrize("login", ["front_desk_user", "doctor_user", "patient_user"])
def test_only_clinic_admins_manage_questions(client, request, visit_type, login):
    user = request.getfixturevalue(login)
    client.force_login(user)

    response = client.post(ADD, question_form(visit_type))

    assert response.status_code in (302, 403)
    if response.status_code == 302:  # not staff: sent to the admin's login
        assert reverse("admin:login") in response["Location"]
    assert not Question.objects.exists()


def visit_type_form(visit_type, **inline):
    form = {
        "name": visit_type.name,
        "department": visit_type.department_id,
        "doctor": "",
        "position": 0,
        "is_active": "on",
        "minutes": visit_type.minutes,
        "buffer_before_minutes": 0,
        "buffer_after_minutes": 0,
        "fee": "",
        "bookable_online": "on",
        "mode": "in_person",
        "intake_questions-TOTAL_FORMS": 1,
        "intake_questions-INITIAL_FORMS": 0,
        "intake_questions-MIN_NUM_FORMS": 0,
        "intake_questions-MAX_NUM_FORMS": 1000,
        "intake_questions-0-position": 1,
        "intake_questions-0-kind": QuestionKind.YES_NO,
        "intake_questions-0-choices": "",
        "intake_questions-0-active": "on",
    }
    form.update({f"intake_questions-0-{name}": value for name, value in inline.items()})
    return form


def test_the_visit_types_page_lists_and_adds_its_questions(
    client, clinic_admin_user, visit_type, questions
):
    client.force_login(clinic_admin_user)
    url = reverse("admin:doctors_visittype_change", args=[visit_type.pk])

    page = client.get(url)
    assert page.status_code == 200
    assert "How long has it lasted?" in page.content.decode()

    # The saved questions first (rows 0 to 3, in their order), the new one last.
    form = {
        key.replace("intake_questions-0-", "intake_questions-4-"): value
        for key, value in visit_type_form(
            visit_type, text="Are you pregnant?", required="on"
        ).items()
    }
    form.update({"intake_questions-TOTAL_FORMS": 5, "intake_questions-INITIAL_FORMS": 4})
    for index, question in enumerate(questions.values()):
        for name in ("text", "kind", "choices", "position"):
            form[f"intake_questions-{index}-{name}"] = getattr(question, name)
        form[f"intake_questions-{index}-id"] = question.pk
        form[f"intake_questions-{index}-visit_type"] = visit_type.pk
        form[f"intake_questions-{index}-active"] = "on"
    response = client.post(url, form)

    assert response.status_code == 302, response.context["errors"]
    added = visit_type.intake_questions.get(text="Are you pregnant?")
    assert (added.kind, added.required) == (QuestionKind.YES_NO, True)


def test_a_bad_question_on_the_visit_types_page_is_refused(client, clinic_admin_user, visit_type):
    client.force_login(clinic_admin_user)
    url = reverse("admin:doctors_visittype_change", args=[visit_type.pk])

    response = client.post(
        url, visit_type_form(visit_type, text="Which?", kind=QuestionKind.CHOICE, choices="One")
    )

    assert response.status_code == 200
    assert "Give at least two choices, one per line." in response.content.decode()
    assert not Question.objects.exists()
