"""What the logs and the error emails say: each event once, and no submitted values in them."""

import io
import logging
import sys
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models
from django.test import RequestFactory, override_settings
from django.urls import reverse

from accounts.models import Patient
from clinic.tests.sample_clinic import PATIENT_EMAIL, PATIENT_NAME

pytestmark = pytest.mark.django_db


def portal_handlers(logger_name):
    """The handlers a record of this logger reaches, as configured by settings.LOGGING (and
    Django's defaults), without the ones pytest adds to capture logs."""
    found = []
    logger = logging.getLogger(logger_name)
    while logger is not None:
        found += [
            handler
            for handler in logger.handlers
            if not type(handler).__module__.startswith("_pytest")
        ]
        if not logger.propagate:
            break
        logger = logger.parent
    return found


@contextmanager
def console_output(logger_name="django.request"):
    """Everything the portal's console handlers write while the block runs, in one buffer."""
    buffer = io.StringIO()
    streams = [
        handler
        for handler in portal_handlers(logger_name)
        if type(handler) is logging.StreamHandler
    ]
    assert streams, "no console handler configured"
    before = [handler.setStream(buffer) for handler in streams]
    try:
        yield buffer
    finally:
        for handler, stream in zip(streams, before, strict=True):
            handler.setStream(stream)


# A 403 is logged once ---------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
def test_a_403_is_logged_once(client, front_desk_user, caplog, debug):
    client.force_login(front_desk_user)
    caplog.set_level(logging.INFO)

    with override_settings(DEBUG=debug), console_output() as output:
        response = client.post(reverse("privacy:export"))

    assert response.status_code == 403
    forbidden = [record for record in caplog.records if "Forbidden" in record.getMessage()]
    assert len(forbidden) == 1
    printed = output.getvalue()
    assert printed.count("Forbidden (Permission denied)") == 1, printed
    assert printed.count("Traceback (most recent call last)") == 1, printed


# Submitted values stay out of error logs -------------------------------------------------------


def quoting_int_field():
    try:
        Patient.objects.filter(pk=PATIENT_NAME).exists()
    except ValueError:
        return sys.exc_info()
    raise AssertionError("the lookup should have failed")


def quoting_date_field():
    try:
        models.DateField().to_python(PATIENT_NAME)
    except ValidationError:
        return sys.exc_info()
    raise AssertionError("the date should have been refused")


def quoting_a_chained_cause():
    try:
        try:
            int(PATIENT_NAME)
        except ValueError as error:
            raise RuntimeError("could not read the patient number") from error
    except RuntimeError:
        return sys.exc_info()


def quoting_postgresql_detail():
    try:
        raise IntegrityError(
            'duplicate key value violates unique constraint "accounts_user_email_key"\n'
            f"DETAIL:  Key (email)=({PATIENT_EMAIL}) already exists."
        )
    except IntegrityError:
        return sys.exc_info()


FAILURES = [
    quoting_int_field,
    quoting_date_field,
    quoting_a_chained_cause,
    quoting_postgresql_detail,
]
SECRETS = [PATIENT_NAME, *PATIENT_NAME.split(), PATIENT_EMAIL]


def log_server_error(exc_info):
    request = RequestFactory().post(
        "/desk/patients/", {"query": PATIENT_NAME, "email": PATIENT_EMAIL}
    )
    logging.getLogger("django.request").error(
        "Internal Server Error: %s",
        request.path,
        exc_info=exc_info,
        extra={"status_code": 500, "request": request},
    )


def leaked(text):
    return [secret for secret in SECRETS if secret.lower() in text.lower()]


@pytest.mark.parametrize("failure", FAILURES)
def test_the_console_log_of_an_error_quotes_no_submitted_value(failure):
    exc_info = failure()

    with console_output() as output:
        log_server_error(exc_info)

    printed = output.getvalue()
    assert leaked(printed) == [], printed
    # Still enough to find the fault: the message, the exception's type, where it was raised.
    assert "Internal Server Error: /desk/patients/" in printed
    assert exc_info[0].__name__ in printed
    assert f'File "{__file__}"' in printed


@override_settings(ADMINS=[("Operations", "ops@example.com")], DEBUG=False)
@pytest.mark.parametrize("failure", FAILURES)
def test_the_error_email_quotes_no_submitted_value(failure):
    mail.outbox.clear()
    exc_info = failure()

    with console_output():
        log_server_error(exc_info)

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    for part in [email.subject, email.body, *(body for body, _ in email.alternatives)]:
        assert leaked(part) == [], part
    assert exc_info[0].__name__ in email.body
    assert "/desk/patients/" in email.body
    # The form's field names help; their values are not the report's to carry.
    assert "query" in email.body


def test_the_scrubbed_message_keeps_the_kind_of_error():
    with console_output() as output:
        log_server_error(quoting_int_field())

    assert "expected a number but got '[removed]'" in output.getvalue()


def test_every_configured_handler_scrubs_quoted_values():
    for name, handler in settings.LOGGING["handlers"].items():
        assert "scrub_submitted_values" in handler.get("filters", []), name
    for handler in portal_handlers("django.request"):
        filters = [type(entry).__name__ for entry in handler.filters]
        assert "ScrubSubmittedValues" in filters, handler


def test_records_without_an_exception_are_left_as_they_are():
    # Request lines and notices carry no submitted values, and need their quotes intact.
    with console_output("clinic") as output:
        logging.getLogger("clinic").warning('Notice "%s" sent', "reminder")
    assert 'Notice "reminder" sent' in output.getvalue()


def test_the_error_email_goes_to_the_addresses_in_ADMINS():
    import os
    import subprocess
    import sys

    from django.conf import settings

    environment = {
        **os.environ,
        "DEBUG": "False",
        "SECRET_KEY": "only-for-this-test",
        "ADMINS": "ops@example.org, oncall@example.org",
    }
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.ADMINS)",
        ],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # Django's shell first says how many names it imported; the setting is the last line.
    assert result.stdout.strip().splitlines()[-1] == (
        "[('ops@example.org', 'ops@example.org'), ('oncall@example.org', 'oncall@example.org')]"
    )


def _with_secrets_in_its_url():
    from urllib.parse import urlencode

    query = urlencode({"q": PATIENT_NAME, "email": PATIENT_EMAIL})
    request = RequestFactory().get(
        f"/desk/patients/?{query}",
        # What gunicorn and uWSGI add, and a referring page's own query.
        RAW_URI=f"/desk/patients/?{query}",
        REQUEST_URI=f"/desk/patients/?{query}",
        HTTP_REFERER=f"http://testserver/desk/?{query}",
        HTTP_COOKIE="sessionid=s3ss10n-value-of-a-patient",
    )
    return request, query


def _leaked_from_url(text, query):
    from urllib.parse import quote, quote_plus

    secrets = [*SECRETS, query]
    encoded = [form(secret) for secret in secrets for form in (quote, quote_plus)]
    return [secret for secret in [*secrets, *encoded] if secret.lower() in text.lower()]


@override_settings(ADMINS=[("Operations", "ops@example.com")], DEBUG=False)
def test_the_error_email_shows_the_url_without_its_query():
    mail.outbox.clear()
    request, query = _with_secrets_in_its_url()
    request.COOKIES = {"sessionid": "s3ss10n-value-of-a-patient"}
    with console_output():
        logging.getLogger("django.request").error(
            "Internal Server Error: %s",
            request.path,
            exc_info=quoting_int_field(),
            extra={"status_code": 500, "request": request},
        )
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    for part in [email.subject, email.body, *(body for body, _ in email.alternatives)]:
        assert _leaked_from_url(part, query) == [], part
        assert "s3ss10n-value-of-a-patient" not in part
    assert "Request URL: http://testserver/desk/patients/\n" in email.body
    # The parameters' names stay: they help to find the fault.
    assert "q = '********************'" in email.body
    assert "QUERY_STRING = '********************'" in email.body
    assert "RAW_URI = '/desk/patients/'" in email.body
    assert "HTTP_REFERER = 'http://testserver/desk/'" in email.body


# Secrets in addresses ----------------------------------------------------------------------------

SECRET_ADDRESSES = [
    ("links:open", {"token": "Zq3-secretToken_1"}),
    ("waitlist:offer", {"token": "Zq3-secretToken_1"}),
    ("schedule:feed", {"token": "Zq3-secretToken_1"}),
    ("accounts:signup_confirm", {"uidb64": "MTIz", "token": "Zq3-secretToken_1"}),
    ("accounts:password_reset_confirm", {"uidb64": "MTIz", "token": "Zq3-secretToken_1"}),
]


@pytest.mark.parametrize(("name", "kwargs"), SECRET_ADDRESSES)
@pytest.mark.django_db
def test_a_dead_link_is_logged_without_its_secret(client, name, kwargs):
    """Django logs every 404 with its path; whoever reads the log must not be able to use a link
    that works (a link is 404 for everyone once used, but a typo'd neighbour may not be)."""
    path = reverse(name, kwargs=kwargs)
    with console_output() as output:
        logging.getLogger("django.request").warning("Not Found: %s", path)
        client.get(path.replace("Zq3", "Zq4"))
    logged = output.getvalue()
    assert "Not Found: " in logged
    assert "secretToken" not in logged
    assert "[secret]" in logged


def test_only_the_secret_part_of_an_address_goes():
    from clinic.log_scrubbing import without_secrets

    assert without_secrets("GET /links/abc-DEF_1/ 404") == "GET /links/[secret]/ 404"
    assert without_secrets("/schedule/feed/abc.ics") == "/schedule/feed/[secret].ics"
    assert (
        without_secrets("/accounts/password/reset/MTIz/set-password/")
        == "/accounts/password/reset/[secret]/"
    )
    # The pages around them name nothing secret and stay as they are.
    for plain in ("/accounts/password/reset/sent/", "/accounts/password/reset/complete/", "/desk/"):
        assert without_secrets(plain) == plain
