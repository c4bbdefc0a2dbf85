"""Choosing a language: the header's switcher, the saved language of a login and of a patient, and
the language fields on My details, My account and the desk's patient form.

The pages here are checked for the language they are served in (Content-Language, <html lang>),
not for their Hindi wording, which the catalogue's own tests cover.
"""

import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from accounts import languages
from accounts.models import Patient
from accounts.tests.factories import PatientFactory, UserFactory
from accounts.tests.pages import page_text

pytestmark = pytest.mark.django_db

SWITCH = reverse("set_language")


def switch(client, language, next_url="/"):
    return client.post(SWITCH, {"language": language, "next": next_url})


def served_in(response):
    return response.headers.get("Content-Language")


def test_hindi_is_offered_beside_english():
    assert dict(settings.LANGUAGES) == {"en-gb": "English", "hi": "हिंदी"}


def test_a_visitor_switches_and_the_pages_follow_the_cookie(client):
    response = switch(client, "hi", reverse("doctors:departments"))
    assert response.status_code == 302 and response.url == reverse("doctors:departments")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "hi"
    page = client.get(reverse("doctors:departments"))
    assert served_in(page) == "hi" and '<html lang="hi">' in page.content.decode()
    switch(client, "en-gb")
    assert served_in(client.get(reverse("doctors:departments"))) == "en-gb"


def test_the_browsers_language_is_used_until_one_is_chosen(client):
    page = client.get(reverse("doctors:departments"), headers={"accept-language": "hi-IN,hi;q=0.9"})
    assert served_in(page) == "hi"
    english = client.get(reverse("doctors:departments"), headers={"accept-language": "en-US"})
    assert served_in(english) == "en-gb"


@pytest.mark.parametrize(
    "role", ["patient_user", "doctor_user", "front_desk_user", "clinic_admin_user"]
)
def test_a_logins_choice_is_saved_and_follows_it_to_another_device(client, request, role):
    user = request.getfixturevalue(role)
    client.force_login(user)
    switch(client, "hi")
    user.refresh_from_db()
    assert user.language == "hi"
    # Another device: no cookie, an English browser; the login's language wins.
    other = type(client)()
    other.force_login(user)
    page = other.get(reverse("accounts:profile"), headers={"accept-language": "en"})
    assert served_in(page) == "hi"


def test_a_patients_switch_is_also_the_language_of_their_messages(client, patient_user):
    client.force_login(patient_user)
    switch(client, "hi")
    patient = Patient.objects.get(user=patient_user)
    assert patient.language == "hi"
    assert languages.of_patient(patient) == "hi"


@pytest.mark.parametrize("language", ["xx", "", "fr", "hi<script>"])
def test_a_language_not_offered_changes_nothing(client, patient_user, language):
    client.force_login(patient_user)
    response = switch(client, language)
    assert response.status_code == 302
    patient_user.refresh_from_db()
    assert patient_user.language == ""
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_the_switch_never_sends_anyone_to_another_site(client):
    response = switch(client, "hi", "https://evil.example/")
    assert response.status_code == 302 and "evil" not in response.url


def test_the_switch_takes_posts_only(client):
    assert client.get(SWITCH, {"language": "hi"}).status_code == 405


def test_the_switch_comes_back_to_the_page_it_was_made_on(client):
    page = client.get(reverse("accounts:login"), {"next": "/book/"})
    text = page_text(page)
    assert 'id="language-select"' in text and 'lang="hi"' in text
    # The form names no page: the browser's Referer (same-origin only) says where it was.
    assert 'name="next"' not in text.split('id="language-select"')[0].rsplit("<form", 1)[1]
    came_from = "http://testserver/book/doctors/1/clinics/1/?type=2"
    response = client.post(SWITCH, {"language": "hi"}, headers={"referer": came_from})
    assert response.status_code == 302 and response.url == came_from
    elsewhere = client.post(
        SWITCH, {"language": "hi"}, headers={"referer": "https://evil.example/"}
    )
    assert elsewhere.url == "/"


def test_my_details_saves_the_language_for_pages_and_messages(client, patient_user):
    patient = Patient.objects.get(user=patient_user)
    client.force_login(patient_user)
    data = {
        "full_name": patient.full_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex": patient.sex,
        "phone": "",
        "email_reminders": "on",
        "language": "hi",
    }
    response = client.post(reverse("accounts:profile"), data)
    assert response.status_code == 302
    patient.refresh_from_db()
    patient_user.refresh_from_db()
    assert (patient.language, patient_user.language) == ("hi", "hi")
    assert served_in(client.get(reverse("accounts:profile"))) == "hi"


def test_my_details_refuses_a_language_not_offered(client, patient_user):
    patient = Patient.objects.get(user=patient_user)
    client.force_login(patient_user)
    data = {
        "full_name": "Someone Else",
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex": patient.sex,
        "language": "klingon",
    }
    response = client.post(reverse("accounts:profile"), data)
    assert response.status_code == 200
    assert "Select a valid choice" in page_text(response)
    patient.refresh_from_db()
    assert patient.full_name != "Someone Else" and patient.language == ""


def test_staff_choose_their_language_on_my_account(client, front_desk_user):
    client.force_login(front_desk_user)
    data = {"full_name": front_desk_user.full_name, "phone": "", "language": "hi"}
    assert client.post(reverse("accounts:profile"), data).status_code == 302
    front_desk_user.refresh_from_db()
    assert front_desk_user.language == "hi"
    # And back to the browser's.
    client.post(reverse("accounts:profile"), {**data, "language": ""})
    front_desk_user.refresh_from_db()
    assert front_desk_user.language == ""


def test_the_desk_sets_a_directory_patients_language(client, front_desk_user):
    client.force_login(front_desk_user)
    data = {
        "full_name": "Ramesh Kumar",
        "date_of_birth": "1950-04-01",
        "sex": "male",
        "phone": "+919800000001",
        "email": "",
        "language": "hi",
    }
    response = client.post(reverse("desk:patient_new"), data)
    assert response.status_code == 302
    patient = Patient.objects.get(full_name="Ramesh Kumar")
    assert patient.language == "hi" and patient.user is None
    edit = reverse("desk:patient_edit", kwargs={"pk": patient.pk})
    assert client.post(edit, {**data, "language": ""}).status_code == 302
    patient.refresh_from_db()
    assert patient.language == ""


def test_the_desks_form_refuses_a_language_not_offered(client, front_desk_user):
    client.force_login(front_desk_user)
    data = {
        "full_name": "Ramesh Kumar",
        "date_of_birth": "1950-04-01",
        "sex": "male",
        "phone": "+919800000001",
        "language": "de",
    }
    response = client.post(reverse("desk:patient_new"), data)
    assert response.status_code == 200 and "Select a valid choice" in page_text(response)
    assert not Patient.objects.filter(full_name="Ramesh Kumar").exists()


def test_whose_language_a_message_is_in():
    walk_in = PatientFactory(language="hi")
    assert languages.of_patient(walk_in) == "hi"
    plain = PatientFactory()
    assert languages.of_patient(plain) == settings.LANGUAGE_CODE
    # A patient record without its own choice follows its login's.
    user = UserFactory(language="hi")
    with_login = PatientFactory(user=user, date_of_birth=dt.date(1990, 1, 1))
    assert languages.of_patient(with_login) == "hi"
    # A language no longer offered falls back to the default.
    assert languages.of_patient(PatientFactory(language="ta")) == settings.LANGUAGE_CODE


def test_a_patient_who_signs_up_in_hindi_gets_hindi_pages_and_messages(client, mailoutbox):
    data = {
        "full_name": "Sunita Devi",
        "email": "sunita@example.com",
        "date_of_birth": "1975-03-02",
        "sex": "female",
        "phone": "",
        "password1": "a-long-passphrase-2026",
        "password2": "a-long-passphrase-2026",
    }
    switch(client, "hi")
    assert client.post(reverse("accounts:signup"), data).status_code == 302
    patient = Patient.objects.get(email="sunita@example.com")
    assert (patient.language, patient.user.language) == ("hi", "hi")
    # The confirmation email went out in the page's language too.
    assert len(mailoutbox) == 1 and mailoutbox[0].subject != ""
    with translation.override("hi"):
        assert translation.gettext("Hello,") in mailoutbox[0].body


def test_a_sign_up_in_the_default_language_leaves_the_choice_to_the_browser(client):
    data = {
        "full_name": "Tom Baker",
        "email": "tom@example.com",
        "date_of_birth": "1975-03-02",
        "sex": "male",
        "phone": "",
        "password1": "a-long-passphrase-2026",
        "password2": "a-long-passphrase-2026",
    }
    assert client.post(reverse("accounts:signup"), data).status_code == 302
    patient = Patient.objects.get(email="tom@example.com")
    assert (patient.language, patient.user.language) == ("", "")
