"""A visitor sent to log in or sign up in the middle of something (a booking's chosen time) comes
back to it afterwards: `next` survives the login page, sign-up, the confirmation email and the
two-factor prompt, and only ever leads to a page of this site."""

import datetime as dt
import re
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, PatientFactory
from accounts.tests.pages import page_text, read_page
from doctors.tests.factories import ClinicFactory, DoctorFactory, WorkingHoursFactory

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=KOLKATA)  # a Tuesday
TOMORROW = NOW.date() + dt.timedelta(days=1)
PASSWORD = "Violet-Harbour-2718"
LINK = re.compile(r"https?://\S+")


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def doctor_and_clinic():
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    doctor = DoctorFactory(slot_minutes=15)
    for weekday in range(6):
        WorkingHoursFactory(doctor=doctor, clinic=clinic, weekday=weekday)
    return doctor, clinic


def signup_data(email="asha.raman@example.com"):
    return {
        "full_name": "Asha Raman",
        "email": email,
        "date_of_birth": "1990-03-15",
        "sex": "female",
        "phone": "",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }


def links_in(message):
    return LINK.findall(message.body)


def path_and_query(url):
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def link_starting(response, prefix):
    return next(href for href, _ in read_page(response).links if href.startswith(prefix))


def first_time_link(client, doctor, clinic):
    where = {"doctor_id": doctor.pk, "clinic_id": clinic.pk}
    day = client.get(reverse("bookings:day", kwargs={**where, "day": TOMORROW}))
    confirm = reverse("bookings:confirm", kwargs=where)
    return next(href for href, _ in read_page(day).links if href.startswith(confirm))


def test_a_visitor_who_picks_a_time_and_signs_up_comes_back_to_confirm_that_time(
    client, mailoutbox, doctor_and_clinic
):
    doctor, clinic = doctor_and_clinic
    chosen = first_time_link(client, doctor, clinic)

    to_login = client.get(chosen)
    assert to_login.status_code == 302
    login_page = client.get(to_login["Location"])
    signup_link = link_starting(login_page, reverse("accounts:signup"))
    assert parse_qs(urlsplit(signup_link).query)["next"] == [chosen]

    signup_page = client.get(signup_link)
    login_back = link_starting(signup_page, reverse("accounts:login") + "?")
    assert parse_qs(urlsplit(login_back).query)["next"] == [chosen]

    sent = client.post(signup_link, signup_data())
    assert sent["Location"] == reverse("accounts:signup_sent")
    [message] = mailoutbox
    [confirmation] = links_in(message)

    confirm_page = client.get(path_and_query(confirmation))
    assert confirm_page.status_code == 200
    confirmed = client.post(path_and_query(confirmation), {"next": chosen, "password": PASSWORD})

    assert confirmed.status_code == 302
    assert confirmed["Location"] == chosen
    assert get_user(client).email == "asha.raman@example.com"
    booking_page = client.get(chosen)
    assert booking_page.status_code == 200
    assert doctor.full_name in page_text(booking_page)


def test_the_confirm_button_carries_next_from_the_emailed_link(client, mailoutbox):
    client.post(f"{reverse('accounts:signup')}?next=/appointments/", signup_data())
    [link] = links_in(mailoutbox[0])

    page = client.get(path_and_query(link))

    assert 'name="next" value="/appointments/"' in page_text(page)


@pytest.mark.parametrize(
    "elsewhere",
    [
        "https://evil.example/",
        "//evil.example/book/",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
    ],
)
def test_sign_up_never_sends_anyone_to_another_site(client, mailoutbox, elsewhere):
    signup_page = client.get(reverse("accounts:signup"), {"next": elsewhere})
    assert "evil" not in page_text(signup_page)
    query = urlencode({"next": elsewhere})
    client.post(f"{reverse('accounts:signup')}?{query}", signup_data())
    [link] = links_in(mailoutbox[0])
    assert "evil" not in link and "javascript" not in link

    # Even a link whose `next` was altered on the way.
    forged = f"{path_and_query(link)}?{query}"
    confirmed = client.post(forged, {"next": elsewhere, "password": PASSWORD})

    assert confirmed["Location"] == reverse("accounts:profile")


def test_an_existing_account_holder_is_mailed_a_login_link_that_returns_to_the_booking(
    client, mailoutbox
):
    PatientFactory(with_account=True, email="asha.raman@example.com")

    client.post(f"{reverse('accounts:signup')}?next=/appointments/", signup_data())

    [message] = mailoutbox
    login_link = next(link for link in links_in(message) if "/login/" in link)
    assert parse_qs(urlsplit(login_link).query)["next"] == ["/appointments/"]


def test_login_with_two_factor_codes_still_ends_on_the_page_asked_for(client, front_desk_user):
    device = TOTPDevice.objects.create(user=front_desk_user, name="app", confirmed=True)
    wanted = reverse("accounts:profile")

    logged_in = client.post(
        f"{reverse('accounts:login')}?next={wanted}",
        {"username": front_desk_user.email, "password": DEFAULT_PASSWORD},
    )
    assert logged_in["Location"] == wanted
    to_code = client.get(wanted)
    assert to_code["Location"].startswith(reverse("accounts:two_factor_verify"))
    prompt = client.get(to_code["Location"])
    assert f'name="next" value="{wanted}"' in page_text(prompt)

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    verified = client.post(to_code["Location"], {"token": f"{totp.token():06d}", "next": wanted})

    assert verified["Location"] == wanted
    assert client.get(wanted).status_code == 200


def test_a_visitor_signing_up_without_next_lands_on_their_profile(client, mailoutbox):
    client.post(reverse("accounts:signup"), signup_data())
    [link] = links_in(mailoutbox[0])

    confirmed = client.post(path_and_query(link), {"password": PASSWORD})

    assert confirmed["Location"] == reverse("accounts:profile")
    assert User.objects.get().is_active


def test_log_in_and_sign_up_links_on_the_booking_pages_bring_the_visitor_back(
    client, doctor_and_clinic
):
    doctor, clinic = doctor_and_clinic
    day = reverse(
        "bookings:day", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk, "day": TOMORROW}
    )

    page = client.get(day)

    for start in (reverse("accounts:login"), reverse("accounts:signup")):
        link = link_starting(page, start)
        assert parse_qs(urlsplit(link).query)["next"] == [day], start


@pytest.mark.parametrize("word", ["home", "[removed]", "accounts:login", "appointments"])
def test_a_next_that_is_no_path_is_ignored_not_a_server_error(client, mailoutbox, word):
    """redirect() would take a bare word for a URL pattern's name; an unknown one was a 500."""
    client.post(f"{reverse('accounts:signup')}?next=/appointments/", signup_data())
    [link] = links_in(mailoutbox[0])

    confirmed = client.post(path_and_query(link), {"next": word, "password": PASSWORD})

    assert confirmed.status_code == 302
    assert confirmed["Location"] == reverse("accounts:profile")
