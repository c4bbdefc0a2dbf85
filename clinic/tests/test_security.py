"""Security settings and behaviour: password hashing and rules, login lock-out, response headers
and the Content Security Policy, `check --deploy` with production settings, and patient data kept
out of logs, URLs, error pages and email subjects."""

import logging
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.hashers import check_password, make_password
from django.core import mail
from django.test import Client, override_settings
from django.urls import include, path, reverse

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD
from accounts.tests.pages import read_page
from bookings.forms import slot_token
from clinic.tests.sample_clinic import (  # noqa: F401  (fixtures)
    NOW,
    PATIENT_EMAIL,
    PATIENT_NAME,
    REASON,
    TOMORROW,
    appointment,
    desk,
    doctor,
    frozen_now,
    lakeview,
    local,
    patient,
    payment,
    personal_details,
)
from notifications.delivery import send_due

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
WRONG_PASSWORD = "not-the-password-at-all"


def text(response):
    return response.content.decode()


def leaked(haystack, needles=None):
    """The personal details that appear in `haystack`, ignoring letter case."""
    lowered = haystack.lower()
    return [needle for needle in (needles or personal_details()) if needle.lower() in lowered]


# Passwords ----------------------------------------------------------------------------------------


def test_production_hashes_passwords_with_argon2_first():
    # conftest.py swaps in a fast hasher for the suite; the settings module is what deploys.
    from clinic import settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    with override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS):
        encoded = make_password("a-long-passphrase")
        assert encoded.startswith("argon2$")  # argon2-cffi is installed and used
        assert check_password("a-long-passphrase", encoded)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Vi-2718x", "This password is too short. It must contain at least 10 characters."),
        ("password123", "This password is too common."),
        ("4829173650", "This password is entirely numeric."),
        ("raman.asha.example", "The password is too similar to the email address."),
    ],
)
def test_signup_refuses_weak_passwords_with_a_clear_error(client, password, message):
    response = client.post(
        reverse("accounts:signup"),
        {
            "full_name": "Asha Raman",
            "email": "raman.asha@example.com",
            "date_of_birth": "1990-03-15",
            "sex": "female",
            "phone": "",
            "password1": password,
            "password2": password,
        },
    )

    assert response.status_code == 200
    assert message in read_page(response).errors_for("id_password2")
    assert not User.objects.filter(email="raman.asha@example.com").exists()


# Lock-out after wrong passwords (django-axes) --------------------------------------------------


def attempt(client, email, password, ip="127.0.0.1"):
    return client.post(
        reverse("accounts:login"), {"username": email, "password": password}, REMOTE_ADDR=ip
    )


def fail_until_locked(client, email, ip="127.0.0.1"):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = attempt(client, email, WRONG_PASSWORD, ip)
        assert response.status_code == 200, "locked out before the limit"
    return attempt(client, email, WRONG_PASSWORD, ip)


def is_lockout_page(response):
    return response.status_code == 429 and "Too many attempts" in text(response)


def test_the_limit_of_wrong_passwords_locks_out_even_the_right_one(client, patient_user):
    assert is_lockout_page(fail_until_locked(client, patient_user.email))

    response = attempt(client, patient_user.email, DEFAULT_PASSWORD)

    assert is_lockout_page(response)
    assert "paused after several wrong passwords" in text(response)
    assert reverse("accounts:password_reset") in text(response)
    assert not get_user(client).is_authenticated


def test_another_letter_case_of_the_email_is_the_same_account_to_the_lockout(client, patient_user):
    fail_until_locked(client, patient_user.email)

    response = attempt(client, f"  {patient_user.email.upper()} ", DEFAULT_PASSWORD)

    assert is_lockout_page(response)
    assert not get_user(client).is_authenticated


def test_the_lockout_page_says_when_to_try_again_in_words(client, patient_user):
    response = fail_until_locked(client, patient_user.email)
    assert is_lockout_page(response)
    assert "PT1H" not in text(response)
    assert "try again in 1 hour" in text(response)


def test_a_lockout_leaves_other_accounts_and_other_addresses_alone(
    client, patient_user, other_patient_user
):
    fail_until_locked(client, patient_user.email, ip="192.0.2.10")

    elsewhere = Client()
    response = attempt(elsewhere, patient_user.email, DEFAULT_PASSWORD, ip="198.51.100.7")
    assert response.status_code == 302
    assert get_user(elsewhere) == patient_user

    neighbour = Client()
    response = attempt(neighbour, other_patient_user.email, DEFAULT_PASSWORD, ip="192.0.2.10")
    assert response.status_code == 302
    assert get_user(neighbour) == other_patient_user


def test_a_successful_login_resets_the_count(client, patient_user):
    for _ in range(2):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert attempt(client, patient_user.email, WRONG_PASSWORD).status_code == 200
        assert attempt(client, patient_user.email, DEFAULT_PASSWORD).status_code == 302
        client.post(reverse("accounts:logout"))

    # Without the reset the failures above would add up past the limit.
    assert 2 * (settings.AXES_FAILURE_LIMIT - 1) >= settings.AXES_FAILURE_LIMIT
    assert attempt(client, patient_user.email, DEFAULT_PASSWORD).status_code == 302


def test_the_failure_record_keeps_no_password(client, patient_user):
    fail_until_locked(client, patient_user.email)

    record = AccessAttempt.objects.get()
    assert record.username == patient_user.email
    assert record.failures_since_start == settings.AXES_FAILURE_LIMIT
    stored = " ".join(str(value) for value in record.__dict__.values())
    assert WRONG_PASSWORD not in stored
    assert DEFAULT_PASSWORD not in stored


# Headers and the Content Security Policy ---------------------------------------------------------


def csp_directives(response):
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def test_pages_carry_the_security_headers(client):
    response = client.get(reverse("home"))

    directives = csp_directives(response)
    script_sources = directives.get("script-src", directives.get("default-src"))
    assert script_sources == ["'self'"]
    assert "'unsafe-inline'" not in script_sources
    assert "'unsafe-eval'" not in script_sources
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


class ScriptReader(HTMLParser):
    """Every way a page could run code of its own: <script> without src, on... handlers,
    javascript: links."""

    def __init__(self):
        super().__init__()
        self.problems = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            if attrs.get("type") in ("application/json", "application/ld+json"):
                return  # data, not code
            if not attrs.get("src"):
                self._in_inline_script = True
                self.problems.append("inline <script>")
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"{tag} {name}=")
            if name in ("href", "action", "src") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.problems.append(f"{tag} {name}=javascript:")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False


def inline_code(response):
    reader = ScriptReader()
    reader.feed(text(response))
    return reader.problems


@pytest.fixture
def pages(frozen_now, doctor, lakeview, patient, desk, appointment, payment):
    """(login, URL) of a handful of pages of every kind of visitor."""
    calendar = {"doctor_id": doctor.pk, "clinic_id": lakeview.pk}
    confirm = reverse("bookings:confirm", kwargs=calendar)
    return [
        (None, reverse("home")),
        (None, reverse("accounts:login")),
        (None, reverse("accounts:signup")),
        (None, reverse("accounts:password_reset")),
        (patient.user, reverse("bookings:start")),
        (patient.user, reverse("bookings:calendar", kwargs=calendar)),
        (patient.user, reverse("bookings:day", kwargs={**calendar, "day": TOMORROW})),
        (patient.user, f"{confirm}?start={slot_token(local(TOMORROW, 11))}"),
        (patient.user, reverse("bookings:mine")),
        (patient.user, reverse("bookings:detail", args=[appointment.pk])),
        (patient.user, reverse("bookings:cancel", args=[appointment.pk])),
        (patient.user, reverse("accounts:profile")),
        (patient.user, reverse("privacy:my_data")),
        (patient.user, reverse("billing:mine")),
        (patient.user, reverse("billing:receipt", args=[payment.pk])),
        (doctor.user, reverse("schedule:today")),
        (doctor.user, reverse("schedule:week")),
        (doctor.user, reverse("schedule:appointment", args=[appointment.pk])),
        (doctor.user, reverse("schedule:time_off")),
        (doctor.user, reverse("schedule:calendar_feed")),
        (desk, reverse("desk:queue")),
        (desk, reverse("desk:patients")),
        (desk, reverse("desk:patient", args=[patient.pk])),
        (desk, reverse("desk:appointment", args=[appointment.pk])),
        (desk, reverse("desk:book")),
        (desk, reverse("billing:record", args=[appointment.pk])),
        (desk, reverse("accounts:two_factor")),
    ]


def test_no_page_runs_inline_code(pages):
    checked = 0
    for user, url in pages:
        client = Client()
        if user is not None:
            client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, url
        assert "<script" in text(response), f"{url} loads no script at all: is it a real page?"
        assert inline_code(response) == [], url
        checked += 1
    assert checked == len(pages)


def test_the_script_reader_finds_inline_code():
    class Fake:
        content = b'<p onclick="x()">a</p><script>alert(1)</script><a href="javascript:x()">b</a>'

    assert inline_code(Fake) == ["p onclick=", "inline <script>", "a href=javascript:"]


# manage.py check --deploy ------------------------------------------------------------------------


def production_environment(**changes):
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SECURE_", "SESSION_", "CSRF_", "DATABASE_", "PLAIN_"))
    }
    environment.update(
        {
            # Real variables win over the development .env file, which turns DEBUG on.
            "DEBUG": "False",
            "SECRET_KEY": "k3#Vq9!pL2@xR7$wN4%tB8^mJ6&hF1*zD5(cG0)yS3-aE9+uK2=oI7_eW4~rT6",
            "ALLOWED_HOSTS": "clinic.example.org",
            "DATABASE_URL": "postgres://clinic@db.example.org:5432/clinic",
        }
    )
    environment.update(changes)
    return environment


def check_deploy(environment):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_only_the_four_required_variables():
    """DEBUG off, a key, the host names and a database: HTTPS redirect, HSTS and secure cookies
    are on without anyone turning them on."""
    result = check_deploy(production_environment())

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output and "ERRORS" not in output
    # Only the two notes that no email or SMS provider is named yet (not warnings: an install
    # may start without them), which naming both silences.
    assert "System check identified 2 issues (0 silenced)." in output
    assert "notifications.I001" in output and "notifications.I002" in output
    with_providers = check_deploy(
        production_environment(
            EMAIL_BACKEND="anymail.backends.postmark.EmailBackend",
            SMS_BACKEND="notifications.sms.LocmemSmsBackend",
        )
    )
    assert "System check identified no issues (0 silenced)." in with_providers.stdout


def test_check_deploy_notices_a_missing_https_setting():
    # The same run with HSTS off must complain, or the test above proves nothing.
    result = check_deploy(production_environment(SECURE_HSTS_SECONDS="0"))

    assert "security.W004" in result.stdout + result.stderr


def test_plain_http_turns_every_https_default_off_and_check_deploy_says_so():
    result = check_deploy(production_environment(PLAIN_HTTP="true"))

    output = result.stdout + result.stderr
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in output


def settings_under(environment):
    code = (
        "from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "s.SECURE_HSTS_PRELOAD, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_the_https_defaults_a_production_install_gets():
    on = ["True", "31536000", "True", "True", "True", "True"]
    assert settings_under(production_environment()) == on
    off = ["False", "0", "False", "False", "False", "False"]
    assert settings_under(production_environment(PLAIN_HTTP="true")) == off
    # Development (DEBUG on) is plain HTTP on 127.0.0.1.
    assert settings_under(production_environment(DEBUG="True"))[0] == "False"


# No patient data in error pages, URLs, email subjects or logs -----------------------------------


def explode(request):
    raise RuntimeError(f"Could not load the record of {PATIENT_NAME} ({PATIENT_EMAIL})")


urlpatterns = [path("explode/", explode), path("", include("clinic.urls"))]


@override_settings(ROOT_URLCONF=__name__)
def test_the_500_page_is_generic_and_echoes_nothing(patient):
    client = Client(raise_request_exception=False)
    client.force_login(patient.user)

    response = client.post(f"/explode/?q={PATIENT_NAME}", {"reason": REASON})

    assert response.status_code == 500
    assert "<title>Something went wrong</title>" in text(response)
    assert leaked(text(response)) == []
    assert "Traceback" not in text(response)
    assert "RuntimeError" not in text(response)


def test_the_404_page_echoes_neither_the_address_nor_the_query(client, patient, other_patient_user):
    client.force_login(other_patient_user)

    responses = [
        client.get(f"/appointments/987654/?name={PATIENT_NAME}&phone={patient.phone}"),
        client.get(f"/records/{PATIENT_NAME.replace(' ', '-')}/{PATIENT_EMAIL}/"),
    ]

    for response in responses:
        assert response.status_code == 404
        assert "Page not found" in text(response)
        assert leaked(text(response)) == []


def test_the_403_page_echoes_nothing_sent(client, desk, doctor, lakeview):
    client.force_login(desk)
    confirm = reverse("bookings:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": lakeview.pk})

    response = client.post(
        f"{confirm}?patient={PATIENT_NAME}",
        {"reason": REASON, "full_name": PATIENT_NAME, "email": PATIENT_EMAIL},
    )

    assert response.status_code == 403
    assert "Not available to you" in text(response)
    assert leaked(text(response)) == []


def links_and_forms(response):
    page = read_page(response)
    found = [href for href, _ in page.links if href]
    found += re.findall(r'<form[^>]*action="([^"]*)"', text(response))
    return found


SAFE_URL = re.compile(
    r"^/[a-z0-9/._-]*"  # path: words, ids and dates
    r"(\?([a-z_]+=[0-9A-Za-z:%_./-]*)(&[a-z_]+=[0-9A-Za-z:%_./-]*)*)?$"
)


def test_the_booking_flow_carries_ids_and_dates_in_its_urls_not_names(
    client, frozen_now, doctor, lakeview, patient
):
    client.force_login(patient.user)
    seen = []

    def visit(url, **kwargs):
        response = client.get(url, follow=True, **kwargs)
        assert response.status_code == 200, url
        seen.append(url)
        seen.extend(location for location, _ in response.redirect_chain)
        seen.extend(links_and_forms(response))
        return response

    visit(reverse("bookings:start"))
    visit(reverse("bookings:doctors", args=[doctor.department_id]))
    visit(reverse("bookings:clinics", args=[doctor.pk]))
    day = visit(
        reverse(
            "bookings:day",
            kwargs={"doctor_id": doctor.pk, "clinic_id": lakeview.pk, "day": TOMORROW},
        )
    )
    confirm_link = next(href for href in links_and_forms(day) if "confirm" in href)
    visit(confirm_link)
    start = confirm_link.split("start=")[1]
    booked = client.post(
        confirm_link.split("?")[0],
        {
            "start": unquote(start),
            "appointment_type": "consultation",
            "payment_mode": "at_clinic",
            "reason": REASON,
        },
        follow=True,
    )
    assert booked.status_code == 200
    assert patient.appointments.count() == 1
    seen.extend(location for location, _ in booked.redirect_chain)
    seen.extend(links_and_forms(booked))
    visit(reverse("bookings:mine"))

    portal_urls = {url for url in seen if not urlsplit(url).netloc and url.startswith("/")}
    assert len(portal_urls) > 10
    for url in portal_urls:
        if url.startswith(settings.STATIC_URL) or url.startswith(f"/{settings.STATIC_URL}"):
            continue
        assert leaked(unquote(url), [*personal_details(), *doctor.full_name.split()]) == [], url
        assert SAFE_URL.match(url), url


def test_email_subjects_name_nobody(client, frozen_now, appointment, patient, doctor):
    mail.outbox.clear()
    send_due(now=NOW)
    client.post(reverse("accounts:password_reset"), {"email": patient.email})

    subjects = [message.subject for message in mail.outbox]
    assert len(subjects) >= 2, subjects  # the booking's confirmation(s) and the reset link
    for subject in subjects:
        assert leaked(subject, [*personal_details(), *doctor.full_name.split()]) == [], subject


PORTAL_LOGGERS = ["accounts", "bookings", "billing", "clinic", "doctors", "axes", "django"]


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in PORTAL_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_logs_carry_no_patient_details_through_booking_login_and_payment(
    all_logs, frozen_now, doctor, lakeview, patient, desk
):
    patient_client = Client()
    patient_client.force_login(patient.user)
    confirm = reverse("bookings:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": lakeview.pk})
    response = patient_client.post(
        confirm,
        {
            "start": slot_token(local(TOMORROW, 11)),
            "appointment_type": "consultation",
            "payment_mode": "at_clinic",
            "reason": REASON,
        },
    )
    assert response.status_code == 302
    booked = patient.appointments.get()
    send_due(now=NOW)

    stranger = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(stranger, PATIENT_EMAIL, WRONG_PASSWORD)
    attempt(stranger, PATIENT_EMAIL, DEFAULT_PASSWORD)

    desk_client = Client()
    desk_client.force_login(desk)
    paid = desk_client.post(
        reverse("billing:record", args=[booked.pk]), {"amount": "100.00", "mode": "cash"}
    )
    assert paid.status_code == 302
    assert booked.charge.ledger.count() == 1

    assert len(all_logs.records) > 0  # the lock-out at least is logged
    for record in all_logs.records:
        message = record.getMessage()
        assert leaked(message, [*personal_details(), WRONG_PASSWORD, DEFAULT_PASSWORD]) == [], (
            f"{record.name}: {message}"
        )
