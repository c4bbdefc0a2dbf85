"""Sign-up tells nobody who is registered: a taken or pending address gets the answer a free one
gets (the same redirect, the same page, the same work), nothing more is created, and the
address's owner learns by email that someone tried, with links to log in or reset the password,
or (for a sign-up never confirmed) gets the new sign-up's own confirmation link."""

import datetime as dt
import re
from unittest import mock

import pytest
from django.contrib.auth import get_user
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Patient, User
from accounts.signup import signup_token
from accounts.tests.factories import DEFAULT_PASSWORD, PatientFactory, UserFactory
from accounts.tests.pages import page_text

pytestmark = pytest.mark.django_db

PASSWORD = "Violet-Harbour-2718"
LINK = re.compile(r"https?://testserver(\S+)")


def signup_data(email):
    return {
        "full_name": "Asha Raman",
        "email": email,
        "date_of_birth": "1990-03-15",
        "sex": "female",
        "phone": "",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }


def sign_up(client, email):
    return client.post(reverse("accounts:signup"), signup_data(email), follow=True)


def visible(response):
    # The page a person sees, without the per-request CSRF token.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page_text(response))


def links_in(message):
    return LINK.findall(message.body)


def pending_signup(email):
    """A sign-up never confirmed, made through the page by a separate visitor."""
    Client().post(reverse("accounts:signup"), signup_data(email))
    return User.objects.get(email=email)


def test_taken_and_pending_addresses_get_the_same_redirect_and_page_as_a_free_one(
    client, mailoutbox
):
    PatientFactory(with_account=True, email="taken@example.com")
    pending_signup("pending@example.com")

    free = sign_up(client, "free@example.com")
    taken = sign_up(client, "TAKEN@example.com")
    pending = sign_up(client, "Pending@example.com")

    assert (
        taken.redirect_chain
        == pending.redirect_chain
        == free.redirect_chain
        == [(reverse("accounts:signup_sent"), 302)]
    )
    assert visible(taken) == visible(free) == visible(pending)
    assert "already exists" not in page_text(taken)
    assert not get_user(client).is_authenticated


def test_a_taken_address_creates_nothing_and_mails_its_owner_how_to_log_in(client, mailoutbox):
    owner = PatientFactory(with_account=True, email="taken@example.com")
    before = (User.objects.count(), Patient.objects.count())

    sign_up(client, "Taken@Example.com")

    assert (User.objects.count(), Patient.objects.count()) == before
    owner.refresh_from_db()
    assert owner.full_name != "Asha Raman"
    [message] = mailoutbox
    assert message.to == ["taken@example.com"]
    assert "tried to sign up" in message.subject
    assert "already has one" in message.body
    assert sorted(links_in(message)) == sorted(
        [reverse("accounts:login"), reverse("accounts:password_reset")]
    )


def test_every_answer_does_the_same_work_one_password_hash_and_one_email(client, mailoutbox):
    PatientFactory(with_account=True, email="taken@example.com")
    pending_signup("pending@example.com")
    mailoutbox.clear()
    hashes = []
    original = MD5PasswordHasher.encode

    def counting(hasher, password, salt):
        hashes.append(password)
        return original(hasher, password, salt)

    work = []
    with mock.patch.object(MD5PasswordHasher, "encode", autospec=True, side_effect=counting):
        for email in ("free@example.com", "taken@example.com", "pending@example.com"):
            hashes.clear()
            mailoutbox.clear()
            sign_up(client, email)
            work.append((len(hashes), len(mailoutbox)))

    assert work == [(1, 1), (1, 1), (1, 1)]


def confirm(client, link, password=PASSWORD, **extra):
    return client.post(link, {"password": password, **extra})


def test_a_free_address_gets_a_link_that_confirms_once_and_only_with_the_password(
    client, mailoutbox
):
    sign_up(client, "new@example.com")
    [link] = links_in(mailoutbox[0])
    user = User.objects.get(email="new@example.com")

    opened = client.get(link)
    assert opened.status_code == 200
    assert "Confirm your account" in page_text(opened)
    assert 'type="password"' in page_text(opened)
    user.refresh_from_db()
    assert not user.is_active  # a mail scanner fetching the link confirms nothing
    blank = client.post(link)
    assert blank.status_code == 200
    user.refresh_from_db()
    assert not user.is_active  # nor does pressing the button without the password

    assert confirm(client, link)["Location"] == reverse("accounts:profile")
    user.refresh_from_db()
    assert user.is_active
    client.logout()

    again = confirm(client, link)
    assert again.status_code == 200
    assert "This link has expired" in page_text(again)
    assert not get_user(client).is_authenticated


def test_a_second_sign_up_for_an_unconfirmed_address_mails_a_fresh_link_and_creates_nothing(
    client, mailoutbox
):
    sign_up(client, "new@example.com")
    sign_up(client, "new@example.com")

    assert User.objects.filter(email="new@example.com").count() == 1
    assert Patient.objects.count() == 1
    first, second = mailoutbox
    assert second.subject == first.subject
    [old] = links_in(first)
    [fresh] = links_in(second)
    assert old != fresh
    assert "This link has expired" in page_text(confirm(client, old))
    assert confirm(client, fresh)["Location"] == reverse("accounts:profile")
    assert User.objects.get(email="new@example.com").is_active


def test_a_login_switched_off_by_an_admin_is_left_alone_and_mailed_nothing(client, mailoutbox):
    switched_off = PatientFactory(with_account=True, email="off@example.com").user
    User.objects.filter(pk=switched_off.pk).update(
        is_active=False, last_login=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    before = User.objects.get(pk=switched_off.pk).password

    response = sign_up(client, "off@example.com")

    assert response.redirect_chain == [(reverse("accounts:signup_sent"), 302)]
    assert User.objects.get(pk=switched_off.pk).password == before
    assert Patient.objects.get(user=switched_off).full_name != "Asha Raman"
    assert mailoutbox == []


def link_for(user):
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse(
        "accounts:signup_confirm", kwargs={"uidb64": uid, "token": signup_token.make_token(user)}
    )


@pytest.mark.parametrize(
    "login",
    [
        # Used before and then switched off by an admin.
        lambda: UserFactory(is_active=False, last_login=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
        # A staff login made inactive before its first use.
        lambda: UserFactory(is_active=False, is_staff=True),
        # An active patient.
        lambda: PatientFactory(with_account=True).user,
    ],
    ids=["switched-off", "staff", "active"],
)
def test_a_confirmation_link_cannot_switch_on_a_login_that_is_not_awaiting_confirmation(
    client, login
):
    user = login()
    was_active = user.is_active

    response = client.post(link_for(user), {"password": DEFAULT_PASSWORD})

    assert response.status_code == 200
    assert "This link has expired" in page_text(response)
    user.refresh_from_db()
    assert user.is_active == was_active
    assert not get_user(client).is_authenticated


@pytest.mark.parametrize(
    "kwargs",
    [{"uidb64": "Mg", "token": "not-a-token"}, {"uidb64": "%%%", "token": "x-y"}],
)
def test_a_garbage_confirmation_link_shows_the_expired_page(client, kwargs):
    response = client.get(reverse("accounts:signup_confirm", kwargs=kwargs))

    assert response.status_code == 200
    assert "This link has expired" in page_text(response)


def test_the_sign_up_form_still_reports_its_own_mistakes_and_mails_nobody(client, mailoutbox):
    PatientFactory(with_account=True, email="taken@example.com")

    response = client.post(
        reverse("accounts:signup"), {**signup_data("taken@example.com"), "password2": "different"}
    )

    assert response.status_code == 200
    assert "didn’t match" in page_text(response)
    assert mailoutbox == []
