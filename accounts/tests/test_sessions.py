"""How long a login lasts: idle limits by role, the absolute limit, logging out on every device,
and what a password change does to other sessions.

Time is moved with time_machine; sessions live in the database, whose expiry date is what the
session store checks on every request.
"""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 12, 1, 4, 0, tzinfo=dt.UTC)
NEW_PASSWORD = "a-brand-new-passphrase-2026"


@pytest.fixture
def traveller():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def log_in(client, user, password=DEFAULT_PASSWORD):
    """Through the login page, as a person would (django-axes and the idle clock both see it)."""
    response = client.post(
        reverse("accounts:login"), {"username": user.email, "password": password}
    )
    assert response.status_code == 302, "the login was refused"
    assert get_user(client).pk == user.pk


def is_logged_in(client):
    """Asks the portal itself: a page behind login answers 200 only while the session lasts."""
    response = client.get(reverse("accounts:profile"))
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    return False


# Idle limits --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_fixture", "limit_setting"),
    [
        ("patient_user", "SESSION_IDLE_SECONDS"),
        ("doctor_user", "STAFF_SESSION_IDLE_SECONDS"),
        ("front_desk_user", "STAFF_SESSION_IDLE_SECONDS"),
        ("clinic_admin_user", "STAFF_SESSION_IDLE_SECONDS"),
    ],
)
def test_a_login_expires_after_its_roles_idle_limit(
    request, client, traveller, user_fixture, limit_setting
):
    user = request.getfixturevalue(user_fixture)
    limit = getattr(settings, limit_setting)
    log_in(client, user)
    assert client.session.get_expiry_age() == limit

    traveller.shift(dt.timedelta(seconds=limit - 5))
    assert get_user(client).is_authenticated  # not yet

    traveller.shift(dt.timedelta(seconds=6))
    assert not is_logged_in(client)


def test_the_idle_limits_differ_as_documented():
    # The tests above would pass with one limit for everyone; the design wants staff shorter.
    assert settings.STAFF_SESSION_IDLE_SECONDS < settings.SESSION_IDLE_SECONDS


def test_a_front_desk_login_without_staff_status_still_gets_the_short_limit(client, traveller):
    from accounts.roles import Role

    desk = UserFactory(roles=[Role.FRONT_DESK], is_staff=False)
    log_in(client, desk)
    assert client.session.get_expiry_age() == settings.STAFF_SESSION_IDLE_SECONDS


def test_activity_within_the_limit_keeps_the_login_alive(client, traveller, patient_user):
    limit = settings.SESSION_IDLE_SECONDS
    log_in(client, patient_user)

    # Active a little before the limit, then again well past the limit counted from the login.
    traveller.shift(dt.timedelta(seconds=limit - 120))
    assert is_logged_in(client)
    traveller.shift(dt.timedelta(seconds=limit - 120))
    assert is_logged_in(client)

    traveller.shift(dt.timedelta(seconds=limit + 1))
    assert not is_logged_in(client)


def test_a_staff_login_idle_longer_than_its_limit_ends_though_a_patient_would_stay(
    client, traveller, front_desk_user, patient_user
):
    patient_client = Client()
    log_in(client, front_desk_user)
    log_in(patient_client, patient_user)

    traveller.shift(dt.timedelta(seconds=settings.STAFF_SESSION_IDLE_SECONDS + 1))

    assert client.get(reverse("desk:queue")).status_code == 302
    assert not is_logged_in(client)
    assert is_logged_in(patient_client)


def test_even_a_busy_login_ends_after_the_session_cookie_age(client, traveller, patient_user):
    log_in(client, patient_user)
    step = dt.timedelta(seconds=settings.SESSION_IDLE_SECONDS // 2)
    elapsed = dt.timedelta(0)
    while elapsed + step < dt.timedelta(seconds=settings.SESSION_COOKIE_AGE):
        traveller.shift(step)
        elapsed += step
        assert is_logged_in(client), f"logged out after only {elapsed}"

    traveller.shift(dt.timedelta(seconds=settings.SESSION_COOKIE_AGE) - elapsed)
    assert not is_logged_in(client)


def test_the_session_expiry_never_reaches_past_the_session_cookie_age(
    client, traveller, patient_user
):
    log_in(client, patient_user)
    almost = settings.SESSION_COOKIE_AGE - settings.SESSION_IDLE_SECONDS // 4
    # Active every half idle-limit until close to the end.
    for _ in range(almost // (settings.SESSION_IDLE_SECONDS // 2)):
        traveller.shift(dt.timedelta(seconds=settings.SESSION_IDLE_SECONDS // 2))
        assert is_logged_in(client)
    traveller.move_to(START + dt.timedelta(seconds=almost))
    assert is_logged_in(client)
    assert client.session.get_expiry_age() <= settings.SESSION_COOKIE_AGE - almost


# Ending other sessions ----------------------------------------------------------------------------


def test_log_out_everywhere_ends_every_session_of_that_login(
    client, patient_user, other_patient_user
):
    phone = Client()
    someone_else = Client()
    log_in(client, patient_user)
    log_in(phone, patient_user)
    log_in(someone_else, other_patient_user)

    response = client.post(reverse("accounts:logout_everywhere"))

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert not is_logged_in(client)
    assert not is_logged_in(phone)
    assert is_logged_in(someone_else)
    # And the login itself still works.
    log_in(phone, patient_user)


def test_log_out_everywhere_needs_a_post(client, patient_user):
    log_in(client, patient_user)
    assert client.get(reverse("accounts:logout_everywhere")).status_code == 405
    assert is_logged_in(client)


def test_a_password_change_keeps_this_session_and_ends_the_others(client, patient_user):
    phone = Client()
    log_in(client, patient_user)
    log_in(phone, patient_user)

    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert is_logged_in(client)
    assert not is_logged_in(phone)
    fresh = Client()
    log_in(fresh, patient_user, password=NEW_PASSWORD)
