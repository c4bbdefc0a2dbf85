"""Request ids (X-Request-ID) and the JSON log lines that carry them, still without patient
details."""

import json
import logging
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import path, reverse

from clinic.json_logs import JsonLogFormatter
from clinic.request_ids import NO_REQUEST
from clinic.tests.sample_clinic import PATIENT_EMAIL, PATIENT_NAME, PATIENT_PHONE
from clinic.tests.test_logging import console_output, portal_handlers

pytestmark = pytest.mark.django_db

GENERATED = re.compile(r"[0-9a-f]{32}")
# As nginx's $request_id and a cloud balancer's trace id look.
SANE_IDS = ["4f8c2d1e9a7b4c3d8e2f1a0b9c8d7e6f", "1-67891233-abcdef012345678912345678"]
INSANE_IDS = [
    "short",  # too short to be anyone's id
    "x" * 129,  # too long
    "has spaces in it",
    'quo"ted"-id-1234',
    f"{PATIENT_EMAIL}",  # someone typed an address into the header
    "line\nbreak-123456",
    "json}{-break-1234",
]


def failing_view(request):
    # Fails as a real bug would, quoting the submitted value in the exception's message.
    return int(request.POST["patient"])


urlpatterns = [path("fails/", failing_view)]


def test_an_answer_carries_a_new_request_id(client):
    first = client.get(reverse("home"))
    second = client.get(reverse("home"))

    assert GENERATED.fullmatch(first["X-Request-ID"])
    assert GENERATED.fullmatch(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.parametrize("offered", SANE_IDS)
def test_a_sane_request_id_from_the_proxy_is_kept(client, offered):
    response = client.get(reverse("home"), HTTP_X_REQUEST_ID=offered)
    assert response["X-Request-ID"] == offered


@pytest.mark.parametrize("offered", INSANE_IDS)
def test_any_other_request_id_is_replaced(client, offered):
    response = client.get(reverse("home"), HTTP_X_REQUEST_ID=offered)
    assert GENERATED.fullmatch(response["X-Request-ID"])


def test_redirects_refusals_and_probes_carry_one_too(client):
    with override_settings(SECURE_SSL_REDIRECT=True):
        redirect = Client().get(reverse("home"))
    assert redirect.status_code == 301
    for response in (
        redirect,
        client.get("/no-such-page/"),
        client.post(reverse("healthz")),
        client.get(reverse("healthz")),
    ):
        assert GENERATED.fullmatch(response["X-Request-ID"]), response


@override_settings(METRICS_ALLOWED_IPS=["127.0.0.1"])
def test_each_log_line_of_a_request_names_its_id(client):
    with console_output() as output:
        client.get("/no-such-page/", HTTP_X_REQUEST_ID="page-0002-abcd")
        # An answer of 400 or more that no view logged is logged by Django after the middleware
        # has returned it: the line still names its request's id.
        client.post(reverse("metrics"), HTTP_X_REQUEST_ID="scrape-0001-abcd")

    lines = output.getvalue().splitlines()
    assert any("[page-0002-abcd] Not Found: /no-such-page/" in line for line in lines), lines
    assert any("[scrape-0001-abcd] Method Not Allowed: /metrics" in line for line in lines), lines


def test_a_line_written_outside_any_request_says_so():
    with console_output("clinic") as output:
        logging.getLogger("clinic").warning("A worker's line")
    assert f"[{NO_REQUEST}] A worker's line" in output.getvalue()


# JSON lines ----------------------------------------------------------------------------------


def json_console():
    """The portal's console handlers (with their filters) writing JSON, as LOG_FORMAT=json."""
    handlers = [
        handler
        for handler in portal_handlers("django.request")
        if type(handler) is logging.StreamHandler
    ]
    before = [handler.formatter for handler in handlers]
    for handler in handlers:
        handler.setFormatter(JsonLogFormatter())
    return handlers, before


@override_settings(ROOT_URLCONF=__name__)
def test_the_json_line_of_a_failing_request_has_its_id_and_no_patient_details():
    handlers, before = json_console()
    client = Client(raise_request_exception=False)
    try:
        with console_output() as output:
            response = client.post(
                f"/fails/?phone={PATIENT_PHONE}",
                {"patient": PATIENT_NAME, "email": PATIENT_EMAIL},
                HTTP_X_REQUEST_ID="lb-7f3a9c2e-0001",
            )
    finally:
        for handler, formatter in zip(handlers, before, strict=True):
            handler.setFormatter(formatter)

    assert response.status_code == 500
    assert response["X-Request-ID"] == "lb-7f3a9c2e-0001"
    printed = output.getvalue()
    lines = [json.loads(line) for line in printed.splitlines()]
    [error] = [line for line in lines if line["logger"] == "django.request"]
    assert set(error) == {
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "status_code",
        "exception",
    }
    assert error["request_id"] == "lb-7f3a9c2e-0001"
    assert error["level"] == "ERROR"
    assert error["status_code"] == 500
    assert error["message"] == "Internal Server Error: /fails/"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", error["time"])
    # Enough to find the fault, nothing of what was sent.
    assert "ValueError: invalid literal for int() with base 10: '[removed]'" in error["exception"]
    for detail in [PATIENT_NAME, *PATIENT_NAME.split(), PATIENT_EMAIL, PATIENT_PHONE]:
        assert detail.lower() not in printed.lower()


def test_a_json_line_is_one_line_whatever_the_message_holds():
    record = logging.LogRecord("clinic", logging.WARNING, __file__, 1, 'a\nb "c" ü', None, None)
    line = JsonLogFormatter().format(record)
    assert "\n" not in line
    assert json.loads(line)["message"] == 'a\nb "c" ü'
    assert json.loads(line)["request_id"] == NO_REQUEST


def test_a_json_line_carries_the_traceback_of_a_record_no_filter_has_seen():
    try:
        raise KeyError("slot")
    except KeyError:
        record = logging.LogRecord(
            "clinic", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    line = json.loads(JsonLogFormatter().format(record))
    assert line["exception"].startswith("Traceback (most recent call last)")
    assert line["exception"].endswith("KeyError: 'slot'")


def test_a_json_line_keeps_the_stack_it_was_asked_for():
    record = logging.LogRecord(
        "clinic", logging.INFO, __file__, 1, "here", None, None, sinfo="Stack (most recent)"
    )
    assert json.loads(JsonLogFormatter().format(record))["stack"] == "Stack (most recent)"


def manage_py_shell(code, **variables):
    environment = {**os.environ, "SECRET_KEY": "only-for-this-test", "DEBUG": "False", **variables}
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_log_format_json_makes_every_console_line_a_json_object():
    result = manage_py_shell(
        "import logging; logging.getLogger('clinic').warning('Sent %s notices', 3)",
        LOG_FORMAT="json",
    )

    assert result.returncode == 0, result.stderr
    [line] = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert line["message"] == "Sent 3 notices"
    assert line["level"] == "WARNING"
    assert line["logger"] == "clinic"
    assert line["request_id"] == NO_REQUEST


def test_plain_lines_stay_the_default():
    result = manage_py_shell("import logging; logging.getLogger('clinic').warning('Plain')")

    assert result.returncode == 0, result.stderr
    assert re.search(r"WARNING clinic \[-\] Plain$", result.stderr, re.MULTILINE), result.stderr


def test_an_unknown_log_format_is_refused_at_start():
    # (Django's shell starts even when the settings fail; reading one shows that they did.)
    result = manage_py_shell("from django.conf import settings; settings.LOGGING", LOG_FORMAT="xml")
    assert result.returncode != 0
    assert "LOG_FORMAT must be plain or json." in result.stderr
