"""The accounts pages as each kind of visitor meets them: sign-up, log-in, profile, passwords."""

import datetime
import re
from unittest import mock

import pytest
from django.contrib.auth import get_user
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Patient, User
from accounts.roles import Role, roles_of
from accounts.tests.factories import DEFAULT_PASSWORD, PatientFactory, UserFactory
from accounts.tests.pages import page_text, read_page

pytestmark = pytest.mark.django_db

ANONYMOUS = None
ROLE_USERS = ["patient_user", "doctor_user", "front_desk_user", "clinic_admin_user"]
VISITORS = [ANONYMOUS, *ROLE_USERS]
STAFF_USERS = ["doctor_user", "front_desk_user", "clinic_admin_user"]  # no patient record

NEW_PASSWORD = "Violet-Harbour-2718"
GARBAGE_RESET_URL = "/accounts/password/reset/Mg/not-a-real-token/"


def visitor_id(visitor):
    return visitor or "anonymous"


def visit_as(client, request, visitor):
    if visitor is not None:
        client.force_login(request.getfixturevalue(visitor))
    return client


def logged_in_user(client):
    return get_user(client)


def login_url_for(url):
    return f"{reverse('accounts:login')}?next={url}"


def signup_data(**overrides):
    data = {
        "full_name": "Asha Raman",
        "email": "asha.raman@example.com",
        "date_of_birth": "1990-03-15",
        "sex": "female",
        "phone": "+91 98123 45678",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    data.update(overrides)
    return data


# --- Who gets what: every accounts URL, every kind of visitor --------------------------------


@pytest.mark.parametrize("visitor", VISITORS, ids=visitor_id)
@pytest.mark.parametrize(
    ("url", "heading"),
    [
        (reverse("accounts:password_reset"), "Reset your password"),
        (reverse("accounts:password_reset_done"), "Check your email"),
        (GARBAGE_RESET_URL, "This link has expired"),
        (reverse("accounts:password_reset_complete"), "Your password has been changed"),
    ],
    ids=["reset", "reset-sent", "reset-confirm", "reset-complete"],
)
def test_password_reset_pages_answer_every_visitor(client, request, visitor, url, heading):
    response = visit_as(client, request, visitor).get(url)

    assert response.status_code == 200
    assert heading in page_text(response)


def test_signup_page_is_offered_to_an_anonymous_visitor(client):
    response = client.get(reverse("accounts:signup"))

    assert response.status_code == 200
    assert "Create your account" in page_text(response)


@pytest.mark.parametrize("visitor", ROLE_USERS)
def test_signup_sends_a_logged_in_user_home(client, request, visitor):
    response = visit_as(client, request, visitor).get(reverse("accounts:signup"))

    assert response.status_code == 302
    assert response.url == reverse("home")


@pytest.mark.parametrize("visitor", ROLE_USERS)
def test_signup_post_from_a_logged_in_user_creates_nothing(client, request, visitor):
    visit_as(client, request, visitor)
    users_before = User.objects.count()

    response = client.post(reverse("accounts:signup"), signup_data(email="new@example.com"))

    assert response.status_code == 302
    assert User.objects.count() == users_before
    assert not User.objects.filter(email="new@example.com").exists()


def test_login_page_is_offered_to_an_anonymous_visitor(client):
    response = client.get(reverse("accounts:login"))

    assert response.status_code == 200
    assert "Forgotten your password?" in page_text(response)


ROLE_LANDINGS = [
    ("patient_user", "home"),
    ("doctor_user", "schedule:today"),
    ("front_desk_user", "desk:queue"),
    ("clinic_admin_user", "admin:index"),
]


@pytest.mark.parametrize(("visitor", "landing"), ROLE_LANDINGS)
def test_login_page_sends_a_logged_in_user_to_their_landing_page(client, request, visitor, landing):
    response = visit_as(client, request, visitor).get(reverse("accounts:login"))

    assert response.status_code == 302
    assert response.url == reverse(landing)


@pytest.mark.parametrize("visitor", VISITORS, ids=visitor_id)
def test_logout_by_get_is_refused_and_keeps_the_user_logged_in(client, request, visitor):
    visit_as(client, request, visitor)
    before = logged_in_user(client)

    response = client.get(reverse("accounts:logout"))

    assert response.status_code == 405
    assert logged_in_user(client) == before


@pytest.mark.parametrize("visitor", VISITORS, ids=visitor_id)
def test_logout_by_post_logs_out_and_goes_home(client, request, visitor):
    visit_as(client, request, visitor)

    response = client.post(reverse("accounts:logout"), follow=True)

    assert response.redirect_chain == [(reverse("home"), 302)]
    assert not logged_in_user(client).is_authenticated
    assert "You have been logged out." in page_text(response)


@pytest.mark.parametrize(
    "url_name", ["accounts:profile", "accounts:password_change"], ids=["profile", "pw-change"]
)
def test_pages_for_account_holders_send_anonymous_visitors_to_log_in(client, url_name):
    url = reverse(url_name)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url == login_url_for(url)


@pytest.mark.parametrize(
    "url_name", ["accounts:profile", "accounts:password_change"], ids=["profile", "pw-change"]
)
def test_anonymous_post_to_pages_for_account_holders_changes_nothing(client, url_name):
    patient = PatientFactory(with_account=True, full_name="Asha Raman")

    response = client.post(reverse(url_name), {"full_name": "Hijacked", "user": patient.user_id})

    assert response.status_code == 302
    assert Patient.objects.get(pk=patient.pk).full_name == "Asha Raman"


def test_profile_shows_a_patient_their_patient_details(client, patient_user):
    client.force_login(patient_user)

    response = client.get(reverse("accounts:profile"))

    assert response.status_code == 200
    page = read_page(response)
    assert "My details" in page_text(response)
    assert {"id_full_name", "id_date_of_birth", "id_sex", "id_phone"} <= set(page.ids)
    assert f"You log in as <strong>{patient_user.email}</strong>" in page_text(response)


@pytest.mark.parametrize("visitor", STAFF_USERS)
def test_profile_shows_a_user_without_patient_record_the_account_form(client, request, visitor):
    user = request.getfixturevalue(visitor)
    client.force_login(user)

    response = client.get(reverse("accounts:profile"))

    assert response.status_code == 200
    page = read_page(response)
    assert "My account" in page_text(response)
    assert {"id_full_name", "id_phone"} <= set(page.ids)
    assert "id_date_of_birth" not in page.ids
    assert "id_sex" not in page.ids
    assert not Patient.objects.filter(user=user).exists()


@pytest.mark.parametrize("visitor", ROLE_USERS)
def test_password_change_page_answers_every_account_holder(client, request, visitor):
    response = visit_as(client, request, visitor).get(reverse("accounts:password_change"))

    assert response.status_code == 200
    assert "id_old_password" in read_page(response).ids


# --- Sign-up -----------------------------------------------------------------------------------


def test_signup_creates_a_patient_account_that_works_once_the_emailed_link_confirms_it(
    client, mailoutbox
):
    response = client.post(
        reverse("accounts:signup"), signup_data(email="Asha.Raman@Example.COM"), follow=True
    )

    assert response.redirect_chain == [(reverse("accounts:signup_sent"), 302)]
    assert "Check your email" in page_text(response)
    user = User.objects.get()
    assert user.email == "asha.raman@example.com"
    assert user.full_name == "Asha Raman"
    assert user.phone == "+919812345678"
    assert user.check_password(NEW_PASSWORD)
    assert roles_of(user).names == {Role.PATIENT}
    patient = Patient.objects.get()
    assert patient.user == user
    assert patient.date_of_birth == datetime.date(1990, 3, 15)
    assert patient.sex == Patient.Sex.FEMALE
    assert patient.phone == "+919812345678"
    assert patient.email == "asha.raman@example.com"
    assert not logged_in_user(client).is_authenticated
    assert not can_log_in(client, "asha.raman@example.com", NEW_PASSWORD)

    [message] = mailoutbox
    assert message.to == ["asha.raman@example.com"]
    link = re.search(r"https?://testserver(\S+)", message.body).group(1)
    response = client.post(link, {"password": NEW_PASSWORD}, follow=True)

    assert response.redirect_chain == [(reverse("accounts:profile"), 302)]
    assert logged_in_user(client) == user
    assert "Welcome! Your account is ready." in page_text(response)
    assert "My details" in page_text(response)


def test_signup_without_a_phone_is_accepted(client):
    response = client.post(reverse("accounts:signup"), signup_data(phone=""))

    assert response.status_code == 302
    assert Patient.objects.get().phone == ""


def test_signup_with_nothing_filled_in_names_every_required_field_and_saves_nothing(client):
    response = client.post(reverse("accounts:signup"), {})

    assert response.status_code == 200
    page = read_page(response)
    for field in ("full_name", "email", "date_of_birth", "sex", "password1", "password2"):
        assert page.errors_for(f"id_{field}") == ["This field is required."], field
    assert page.errors_for("id_phone") == []
    assert not User.objects.exists()
    assert not Patient.objects.exists()


SIGNUP_MISTAKES = [
    pytest.param({"full_name": "   "}, "id_full_name", "This field is required.", id="blank-name"),
    pytest.param({"email": ""}, "id_email", "This field is required.", id="missing-email"),
    pytest.param(
        {"email": "asha.example.com"}, "id_email", "Enter a valid email address.", id="bad-email"
    ),
    pytest.param({"email": "asha@"}, "id_email", "Enter a valid email address.", id="no-domain"),
    pytest.param(
        {"password2": "Violet-Harbour-2719"},
        "id_password2",
        "The two password fields didn’t match.",
        id="password-mismatch",
    ),
    pytest.param(
        {"password1": "Vi-2718x", "password2": "Vi-2718x"},
        "id_password2",
        "This password is too short. It must contain at least 10 characters.",
        id="too-short-password",
    ),
    pytest.param(
        {"password1": "password123", "password2": "password123"},
        "id_password2",
        "This password is too common.",
        id="common-password",
    ),
    pytest.param(
        {"password1": "4829173650", "password2": "4829173650"},
        "id_password2",
        "This password is entirely numeric.",
        id="numeric-password",
    ),
    pytest.param(
        {"password1": "asha.raman@example", "password2": "asha.raman@example"},
        "id_password2",
        "The password is too similar to the email address.",
        id="password-like-email",
    ),
    pytest.param(
        {"date_of_birth": ""}, "id_date_of_birth", "This field is required.", id="missing-dob"
    ),
    pytest.param(
        {"date_of_birth": (timezone.localdate() + datetime.timedelta(days=1)).isoformat()},
        "id_date_of_birth",
        "The date of birth cannot be in the future.",
        id="future-dob",
    ),
    pytest.param(
        {"date_of_birth": "1850-01-01"},
        "id_date_of_birth",
        "Please check the year of birth.",
        id="implausible-dob",
    ),
    pytest.param(
        {"date_of_birth": "1990-02-30"}, "id_date_of_birth", "Enter a valid date.", id="bad-date"
    ),
    pytest.param(
        {"phone": "98123 45678"},
        "id_phone",
        "Enter the phone number with its country code, for example +919812345678.",
        id="phone-without-country-code",
    ),
    pytest.param(
        {"phone": "+91 98123 ABCDE"},
        "id_phone",
        "Enter the phone number with its country code, for example +919812345678.",
        id="phone-with-letters",
    ),
    pytest.param(
        {"phone": "+91 123"},
        "id_phone",
        "Enter the phone number with its country code, for example +919812345678.",
        id="phone-too-short",
    ),
    pytest.param(
        {"sex": "alien"},
        "id_sex",
        "Select a valid choice. alien is not one of the available choices.",
        id="bad-sex",
    ),
    pytest.param({"sex": ""}, "id_sex", "This field is required.", id="missing-sex"),
]


@pytest.mark.parametrize(("overrides", "field_id", "message"), SIGNUP_MISTAKES)
def test_signup_with_a_mistake_shows_the_error_by_the_field_and_saves_nothing(
    client, overrides, field_id, message
):
    response = client.post(reverse("accounts:signup"), signup_data(**overrides))

    assert response.status_code == 200
    page = read_page(response)
    assert message in page.errors_for(field_id)
    assert message in page_text(response)
    assert not User.objects.exists()
    assert not Patient.objects.exists()
    assert not logged_in_user(client).is_authenticated


@pytest.mark.parametrize("typed", ["asha@example.com", "ASHA@example.com", "Asha@Example.COM"])
def test_signup_with_existing_email_in_any_case_answers_as_for_a_new_one_and_saves_nothing(
    client, mailoutbox, typed
):
    existing = PatientFactory(with_account=True, email="asha@example.com")

    response = client.post(reverse("accounts:signup"), signup_data(email=typed))

    assert response.status_code == 302
    assert response.url == reverse("accounts:signup_sent")
    assert list(User.objects.all()) == [existing.user]
    assert list(Patient.objects.all()) == [existing]
    assert not logged_in_user(client).is_authenticated
    assert [message.to for message in mailoutbox] == [["asha@example.com"]]


def test_signup_losing_a_race_for_the_email_answers_the_same_and_does_not_log_in(
    client, mailoutbox
):
    # Two sign-ups with one address at once: both pass the form, the database takes one.
    def taken_meanwhile(**details):
        raise services.EmailAlreadyRegistered(UserFactory(email=details["email"]))

    with mock.patch.object(services, "register_patient", side_effect=taken_meanwhile):
        response = client.post(reverse("accounts:signup"), signup_data())

    assert response.status_code == 302
    assert response.url == reverse("accounts:signup_sent")
    assert not logged_in_user(client).is_authenticated
    assert not Patient.objects.exists()
    assert [message.to for message in mailoutbox] == [["asha.raman@example.com"]]


def test_signup_with_an_email_of_a_walk_in_patient_creates_a_new_login(client):
    # A directory entry's email is contact data, not a login: the address is still free.
    PatientFactory(email="asha.raman@example.com")

    response = client.post(reverse("accounts:signup"), signup_data())

    assert response.status_code == 302
    assert User.objects.filter(email="asha.raman@example.com").count() == 1


def test_signup_after_a_mistake_keeps_what_was_typed_except_the_passwords(client):
    response = client.post(reverse("accounts:signup"), signup_data(phone="12"))

    text = page_text(response)
    assert 'value="asha.raman@example.com"' in text
    assert 'value="Asha Raman"' in text
    assert NEW_PASSWORD not in text


# --- Log-in ------------------------------------------------------------------------------------


def test_login_with_a_wrong_password_shows_the_error_and_does_not_log_in(client, patient_user):
    response = client.post(
        reverse("accounts:login"), {"username": patient_user.email, "password": "not-my-password"}
    )

    assert response.status_code == 200
    assert read_page(response).general_errors() == [
        "Please enter a correct email address and password. "
        "Note that both fields may be case-sensitive."
    ]
    assert not logged_in_user(client).is_authenticated


def test_login_with_an_unknown_email_shows_the_same_error(client):
    response = client.post(
        reverse("accounts:login"), {"username": "nobody@example.com", "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200
    assert "Please enter a correct email address and password." in page_text(response)
    assert not logged_in_user(client).is_authenticated


def test_login_with_the_email_in_upper_case_works(client, patient_user):
    response = client.post(
        reverse("accounts:login"),
        {"username": patient_user.email.upper(), "password": DEFAULT_PASSWORD},
    )

    assert response.status_code == 302
    assert logged_in_user(client) == patient_user


@pytest.mark.parametrize(("visitor", "landing"), ROLE_LANDINGS)
def test_login_takes_each_role_to_where_its_work_starts(client, request, visitor, landing):
    user = request.getfixturevalue(visitor)

    response = client.post(
        reverse("accounts:login"), {"username": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == reverse(landing)
    assert logged_in_user(client) == user


def test_login_returns_to_the_page_that_asked_for_it(client, patient_user):
    profile = reverse("accounts:profile")

    response = client.post(
        login_url_for(profile), {"username": patient_user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == profile


def test_login_ignores_a_next_address_on_another_site(client, patient_user):
    response = client.post(
        login_url_for("https://evil.example.com/"),
        {"username": patient_user.email, "password": DEFAULT_PASSWORD},
    )

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_login_of_a_deactivated_account_fails(client):
    user = UserFactory(is_active=False)

    response = client.post(
        reverse("accounts:login"), {"username": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200
    assert not logged_in_user(client).is_authenticated


# --- Password change ---------------------------------------------------------------------------


def change_password(client, old, new1=NEW_PASSWORD, new2=NEW_PASSWORD):
    return client.post(
        reverse("accounts:password_change"),
        {"old_password": old, "new_password1": new1, "new_password2": new2},
        follow=True,
    )


def test_password_change_with_a_wrong_old_password_errors_and_keeps_the_password(
    client, patient_user
):
    client.force_login(patient_user)

    response = change_password(client, old="not-my-password")

    assert response.status_code == 200
    assert read_page(response).errors_for("id_old_password") == [
        "Your old password was entered incorrectly. Please enter it again."
    ]
    patient_user.refresh_from_db()
    assert patient_user.check_password(DEFAULT_PASSWORD)
    assert not patient_user.check_password(NEW_PASSWORD)


def test_password_change_to_a_weak_password_errors_and_keeps_the_password(client, patient_user):
    client.force_login(patient_user)

    response = change_password(client, old=DEFAULT_PASSWORD, new1="short", new2="short")

    assert response.status_code == 200
    assert "This password is too short." in page_text(response)
    patient_user.refresh_from_db()
    assert patient_user.check_password(DEFAULT_PASSWORD)


@pytest.mark.parametrize("visitor", ROLE_USERS)
def test_password_change_sets_the_new_password_and_keeps_the_user_logged_in(
    client, request, visitor
):
    user = request.getfixturevalue(visitor)
    client.force_login(user)

    response = change_password(client, old=DEFAULT_PASSWORD)

    assert response.redirect_chain == [(reverse("accounts:profile"), 302)]
    assert "Your password has been changed." in page_text(response)
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(DEFAULT_PASSWORD)
    assert logged_in_user(client) == user
    assert client.get(reverse("accounts:profile")).status_code == 200


# --- Password reset ----------------------------------------------------------------------------

RESET_LINK = re.compile(r"https?://testserver(/accounts/password/reset/[^/\s]+/[^/\s]+/)")


def ask_for_reset(client, email):
    return client.post(reverse("accounts:password_reset"), {"email": email}, follow=True)


def reset_link_in(message):
    found = RESET_LINK.findall(message.body)
    assert len(found) == 1, message.body
    return found[0]


def can_log_in(client, email, password):
    # Through the login page: django-axes needs the request that client.login() would not pass.
    client.post(reverse("accounts:login"), {"username": email, "password": password})
    return logged_in_user(client).is_authenticated


def test_password_reset_full_flow(client, mailoutbox, patient_user):
    response = ask_for_reset(client, patient_user.email)

    assert response.redirect_chain == [(reverse("accounts:password_reset_done"), 302)]
    assert "Check your email" in page_text(response)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == [patient_user.email]
    assert "Reset your password" in message.subject

    link = reset_link_in(message)
    response = client.get(link)
    assert response.status_code == 302
    set_password_url = response.url
    assert set_password_url.endswith("/set-password/")

    response = client.get(set_password_url)
    assert response.status_code == 200
    assert "id_new_password1" in read_page(response).ids

    response = client.post(
        set_password_url,
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert response.redirect_chain == [(reverse("accounts:password_reset_complete"), 302)]
    assert "Your password has been changed" in page_text(response)

    assert not can_log_in(client, patient_user.email, DEFAULT_PASSWORD)
    assert can_log_in(client, patient_user.email, NEW_PASSWORD)

    client.logout()
    response = client.get(link, follow=True)
    assert response.status_code == 200
    assert "This link has expired" in page_text(response)
    assert "id_new_password1" not in read_page(response).ids


def test_password_reset_for_an_address_typed_in_upper_case_mails_the_account(
    client, mailoutbox, patient_user
):
    ask_for_reset(client, patient_user.email.upper())

    assert [message.to for message in mailoutbox] == [[patient_user.email]]


def test_password_reset_for_an_unknown_address_sends_nothing_but_looks_the_same(
    client, mailoutbox, patient_user
):
    known = ask_for_reset(client, patient_user.email)
    unknown = ask_for_reset(client, "nobody@example.com")

    assert len(mailoutbox) == 1
    assert unknown.redirect_chain == known.redirect_chain
    assert "Check your email" in page_text(unknown)


def test_password_reset_for_a_walk_in_patient_without_login_sends_nothing(client, mailoutbox):
    walk_in = PatientFactory(email="walkin@example.com")

    response = ask_for_reset(client, walk_in.email)

    assert "Check your email" in page_text(response)
    assert mailoutbox == []


def test_password_reset_with_a_mismatched_new_password_keeps_the_old_one(
    client, mailoutbox, patient_user
):
    ask_for_reset(client, patient_user.email)
    set_password_url = client.get(reset_link_in(mailoutbox[0])).url

    response = client.post(
        set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": "Something-Else-1"}
    )

    assert response.status_code == 200
    assert "The two password fields didn’t match." in page_text(response)
    patient_user.refresh_from_db()
    assert patient_user.check_password(DEFAULT_PASSWORD)


def test_password_reset_link_with_a_garbage_token_shows_the_expired_page(
    client, mailoutbox, patient_user
):
    ask_for_reset(client, patient_user.email)
    link = reset_link_in(mailoutbox[0])
    tampered = re.sub(r"/[^/]+/$", "/abc-0123456789abcdef/", link)

    response = client.get(tampered, follow=True)

    assert response.status_code == 200
    assert "This link has expired" in page_text(response)
    client.post(tampered, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    patient_user.refresh_from_db()
    assert patient_user.check_password(DEFAULT_PASSWORD)


# --- Profile -----------------------------------------------------------------------------------


def profile_data(patient, **overrides):
    data = {
        "full_name": patient.full_name,
        "date_of_birth": patient.date_of_birth.isoformat(),
        "sex": patient.sex,
        "phone": patient.phone,
    }
    data.update(overrides)
    return data


def test_profile_form_shows_the_patients_own_details(client, patient_user, other_patient_user):
    client.force_login(patient_user)

    text = page_text(client.get(reverse("accounts:profile")))

    assert f'value="{patient_user.patient.full_name}"' in text
    assert f'value="{patient_user.patient.date_of_birth.isoformat()}"' in text
    assert other_patient_user.patient.full_name not in text
    assert other_patient_user.email not in text


def test_patient_edits_own_details_and_the_login_follows(client, patient_user):
    patient = patient_user.patient
    client.force_login(patient_user)

    response = client.post(
        reverse("accounts:profile"),
        profile_data(
            patient,
            full_name="Asha R. Menon",
            date_of_birth="1991-04-16",
            sex="undisclosed",
            phone="0044 20 7946 0000",
        ),
        follow=True,
    )

    assert response.redirect_chain == [(reverse("accounts:profile"), 302)]
    assert "Your details have been saved." in page_text(response)
    patient.refresh_from_db()
    assert patient.full_name == "Asha R. Menon"
    assert patient.date_of_birth == datetime.date(1991, 4, 16)
    assert patient.sex == Patient.Sex.UNDISCLOSED
    assert patient.phone == "+442079460000"
    user = User.objects.get(pk=patient_user.pk)
    assert (user.full_name, user.phone) == ("Asha R. Menon", "+442079460000")
    assert user.email == patient_user.email


PROFILE_MISTAKES = [
    pytest.param(
        {"date_of_birth": (timezone.localdate() + datetime.timedelta(days=3)).isoformat()},
        "id_date_of_birth",
        "The date of birth cannot be in the future.",
        id="future-dob",
    ),
    pytest.param(
        {"phone": "98123 45678"},
        "id_phone",
        "Enter the phone number with its country code, for example +919812345678.",
        id="bad-phone",
    ),
    pytest.param({"full_name": ""}, "id_full_name", "This field is required.", id="blank-name"),
    pytest.param({"full_name": "  "}, "id_full_name", "This field is required.", id="spaces-name"),
    pytest.param(
        {"sex": "alien"},
        "id_sex",
        "Select a valid choice. alien is not one of the available choices.",
        id="bad-sex",
    ),
]


@pytest.mark.parametrize(("overrides", "field_id", "message"), PROFILE_MISTAKES)
def test_patient_profile_with_a_mistake_shows_the_error_and_saves_nothing(
    client, patient_user, overrides, field_id, message
):
    patient = patient_user.patient
    before = (patient.full_name, patient.date_of_birth, patient.sex, patient.phone)
    client.force_login(patient_user)

    # Every other field changes too: none of it may be saved while one is wrong.
    data = profile_data(patient, full_name="Changed Name", phone="+442079460000")
    data.update(overrides)
    response = client.post(reverse("accounts:profile"), data)

    assert response.status_code == 200
    assert message in read_page(response).errors_for(field_id)
    patient.refresh_from_db()
    assert (patient.full_name, patient.date_of_birth, patient.sex, patient.phone) == before
    user = User.objects.get(pk=patient_user.pk)
    assert (user.full_name, user.phone) == (patient_user.full_name, patient_user.phone)


@pytest.mark.parametrize("visitor", STAFF_USERS)
def test_staff_user_edits_own_account_details(client, request, visitor):
    user = request.getfixturevalue(visitor)
    client.force_login(user)

    response = client.post(
        reverse("accounts:profile"),
        {"full_name": "Dr Meera Iyer", "phone": "+91 98123-45678"},
        follow=True,
    )

    assert response.redirect_chain == [(reverse("accounts:profile"), 302)]
    assert "Your details have been saved." in page_text(response)
    user.refresh_from_db()
    assert (user.full_name, user.phone) == ("Dr Meera Iyer", "+919812345678")
    assert not Patient.objects.filter(user=user).exists()


def test_staff_account_details_with_a_bad_phone_save_nothing(client, front_desk_user):
    client.force_login(front_desk_user)

    response = client.post(
        reverse("accounts:profile"), {"full_name": "Changed Name", "phone": "12345"}
    )

    assert response.status_code == 200
    assert read_page(response).errors_for("id_phone") == [
        "Enter the phone number with its country code, for example +919812345678."
    ]
    reloaded = User.objects.get(pk=front_desk_user.pk)
    assert (reloaded.full_name, reloaded.phone) == (front_desk_user.full_name, "")


def test_patient_cannot_edit_another_patient_through_the_profile(
    client, patient_user, other_patient_user
):
    mine = patient_user.patient
    theirs = other_patient_user.patient
    theirs_before = (theirs.full_name, theirs.date_of_birth, theirs.sex, theirs.phone)
    client.force_login(patient_user)

    data = profile_data(mine, full_name="Injected Name", phone="+442079460000")
    # Everything that could name another record, in the form and in the address.
    data.update(
        {
            "id": theirs.pk,
            "pk": theirs.pk,
            "patient": theirs.pk,
            "patient_id": theirs.pk,
            "user": other_patient_user.pk,
            "user_id": other_patient_user.pk,
            "email": other_patient_user.email,
            "created_by": other_patient_user.pk,
        }
    )
    response = client.post(
        f"{reverse('accounts:profile')}?id={theirs.pk}&pk={theirs.pk}&patient={theirs.pk}", data
    )

    assert response.status_code == 302
    theirs.refresh_from_db()
    assert (theirs.full_name, theirs.date_of_birth, theirs.sex, theirs.phone) == theirs_before
    assert theirs.user == other_patient_user
    assert User.objects.get(pk=other_patient_user.pk).full_name == other_patient_user.full_name
    mine.refresh_from_db()
    assert mine.full_name == "Injected Name"
    assert mine.user == patient_user
    assert mine.email == patient_user.email
    assert mine.created_by != other_patient_user
    assert User.objects.get(pk=patient_user.pk).email == patient_user.email


def test_profile_ignores_fields_that_would_raise_a_users_privileges(client, doctor_user):
    client.force_login(doctor_user)

    client.post(
        reverse("accounts:profile"),
        {
            "full_name": "Dr Meera Iyer",
            "phone": "",
            "email": "someone.else@example.com",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [Group.objects.get(name=Role.CLINIC_ADMIN).pk],
        },
    )

    user = User.objects.get(pk=doctor_user.pk)
    assert user.full_name == "Dr Meera Iyer"
    assert user.email == doctor_user.email
    assert not user.is_staff and not user.is_superuser
    assert roles_of(user).names == {Role.DOCTOR}


# --- Accessibility basics ----------------------------------------------------------------------

PAGES = [
    pytest.param(ANONYMOUS, reverse("accounts:signup"), id="signup"),
    pytest.param(ANONYMOUS, reverse("accounts:login"), id="login"),
    pytest.param(ANONYMOUS, reverse("accounts:password_reset"), id="reset"),
    pytest.param(ANONYMOUS, reverse("accounts:password_reset_done"), id="reset-sent"),
    pytest.param(ANONYMOUS, GARBAGE_RESET_URL, id="reset-expired"),
    pytest.param(ANONYMOUS, reverse("accounts:password_reset_complete"), id="reset-complete"),
    pytest.param("patient_user", reverse("accounts:profile"), id="patient-profile"),
    pytest.param("doctor_user", reverse("accounts:profile"), id="staff-profile"),
    pytest.param("patient_user", reverse("accounts:password_change"), id="password-change"),
]


def assert_accessible_basics(response):
    page = read_page(response)
    for tag, attrs in page.controls:
        assert attrs.get("id"), f"<{tag} name={attrs.get('name')}> has no id for a label"
        assert attrs["id"] in page.label_targets, f"<{tag} id={attrs['id']}> has no <label for>"
    skip_links = [
        a for href, a in page.links if href == "#main" and "skip-link" in a.get("class", "")
    ]
    assert skip_links, "no skip link to #main"
    assert page.main_ids == ["main"]
    # Every error in the summary links to a field that is on the page.
    for href, _text in page.error_summary:
        if href is not None:
            assert href.removeprefix("#") in page.ids, href


@pytest.mark.parametrize(("visitor", "url"), PAGES)
def test_accounts_pages_label_every_input_and_offer_the_skip_link(client, request, visitor, url):
    response = visit_as(client, request, visitor).get(url)

    assert response.status_code == 200
    assert_accessible_basics(response)


def test_form_pages_really_have_inputs_to_check(client, patient_user):
    # Guards the check above: a page whose inputs the parser missed would pass it trivially.
    page = read_page(client.get(reverse("accounts:signup")))

    assert {attrs["name"] for _tag, attrs in page.controls} == {
        "full_name",
        "email",
        "date_of_birth",
        "sex",
        "phone",
        "password1",
        "password2",
    }


def test_signup_page_with_errors_keeps_labels_and_links_errors_to_fields(client):
    response = client.post(reverse("accounts:signup"), signup_data(email="bad", phone="12"))

    page = read_page(response)
    assert page.errors_for("id_email") and page.errors_for("id_phone")
    assert_accessible_basics(response)


def test_password_reset_set_password_page_labels_every_input(client, mailoutbox, patient_user):
    ask_for_reset(client, patient_user.email)

    response = client.get(reset_link_in(mailoutbox[0]), follow=True)

    assert "id_new_password1" in read_page(response).ids
    assert_accessible_basics(response)
