"""Sign-ups of one address racing each other, and a sign-up racing the confirmation, on
PostgreSQL: real threads with their own connections. Whatever the order, one login and one
directory entry exist, nobody gets a 500, and only the latest sign-up's link and password
confirm."""

import re

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import reverse

from accounts.models import Patient, User
from clinic.tests.concurrency import postgresql_only, run_concurrently

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

LINK = re.compile(r"https?://testserver(\S+)")
EMAIL = "asha.raman@example.com"
CONTENDERS = 4


@pytest.fixture(autouse=True)
def _postgresql():
    postgresql_only()


def signup_data(password, full_name):
    return {
        "full_name": full_name,
        "email": EMAIL,
        "date_of_birth": "1990-03-15",
        "sex": "female",
        "phone": "",
        "password1": password,
        "password2": password,
    }


def signer(password, full_name):
    def send():
        return Client().post(reverse("accounts:signup"), signup_data(password, full_name))

    return send


def passwords():
    return [f"Contender-{n}-Harbour-2718" for n in range(CONTENDERS)]


@pytest.mark.parametrize("round_number", range(2))
def test_parallel_sign_ups_of_one_address_leave_one_login_and_only_the_last_link_works(
    mailoutbox, round_number
):
    outcomes = run_concurrently(
        *(signer(password, f"Contender {n}") for n, password in enumerate(passwords()))
    )

    assert [response.status_code for response in outcomes] == [302] * CONTENDERS, outcomes
    assert User.objects.filter(email=EMAIL).count() == 1
    assert Patient.objects.filter(email=EMAIL).count() == 1
    user = User.objects.get(email=EMAIL)
    [final] = [password for password in passwords() if check_password(password, user.password)]
    assert user.full_name == Patient.objects.get(user=user).full_name
    assert user.full_name == f"Contender {passwords().index(final)}"
    links = {message.body: LINK.findall(message.body)[0] for message in mailoutbox}
    assert len(links) == CONTENDERS
    confirmed = [
        password
        for link in links.values()
        for password in passwords()
        if Client().post(link, {"password": password}).status_code == 302
    ]
    assert confirmed == [final]


def test_a_sign_up_racing_the_confirmation_never_leaves_a_mixed_account(mailoutbox):
    signer("Owner-Violet-Harbour-2718", "Asha Raman")()
    [link] = LINK.findall(mailoutbox[0].body)

    confirmed, signed_up = run_concurrently(
        lambda: Client().post(link, {"password": "Owner-Violet-Harbour-2718"}),
        signer("Stranger-Knows-This-1", "Mallory Stranger"),
    )

    assert signed_up.status_code == 302
    user = User.objects.get(email=EMAIL)
    patient = Patient.objects.get(user=user)
    if user.is_active:  # the confirmation came first: the owner's account, untouched
        assert confirmed.status_code == 302
        assert check_password("Owner-Violet-Harbour-2718", user.password)
        assert patient.full_name == "Asha Raman"
    else:  # the sign-up came first: the link died with the password it was made for
        assert confirmed.status_code == 200
        assert check_password("Stranger-Knows-This-1", user.password)
        assert patient.full_name == "Mallory Stranger"
