"""Keeps submitted values out of error logs and error emails.

Exception messages quote the input that broke them ("Field 'id' expected a number but got
'Zenobia'", PostgreSQL's "Key (email)=(someone@example.com) already exists"), and a traceback
carries that message into every log handler and, through mail_admins, into an email full of the
request's data. The portal's rule is no patient details in logs, so quoted values go, while the
shape of the error (its type, the file and line, the code that ran) stays for whoever fixes it.
"""

import logging
import re

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

REMOVED = "[removed]"

# Request headers and server variables that repeat the query string (a patient search's name,
# an email address): gunicorn's RAW_URI, uWSGI's and others' REQUEST_URI, the previous page.
URLS_IN_META = ("RAW_URI", "REQUEST_URI", "HTTP_REFERER")

# Python's repr quotes ('...' or "..."), Django's validation messages (“...”), and the values in
# PostgreSQL's constraint details, up to the last parenthesis on the line.
QUOTED_VALUE = re.compile(
    r"""'(?:[^'\\\n]|\\.)*'"""
    r'''|"(?:[^"\\\n]|\\.)*"'''
    r"|“[^”\n]*”"
    r"|(?<=\)=)\(.*\)"
)

# Addresses whose path holds a secret: a one-click or waitlist offer link's token, a calendar
# feed's, a sign-up confirmation's or a password reset's. Anyone reading a log line must not be
# able to use them ("Not Found: /links/<token>/" is what Django logs for a dead link), so the
# secret part goes; the rest of the path still says which page it was.
SECRET_IN_PATH = re.compile(
    r"(/(?:links|waitlist/offers)/)[^/\s?#'\"]+"
    r"|(/schedule/feed/)[^/\s?#'\"]+(?=\.ics)"
    r"|(/accounts/(?:signup/confirm|password/reset)/)(?!sent/|complete/)[^/\s?#'\"]+/[^/\s?#'\"]+"
)
SECRET = "[secret]"


def without_secrets(text):
    """The text with the secret part of every such address replaced."""
    return SECRET_IN_PATH.sub(lambda match: f"{next(filter(None, match.groups()))}{SECRET}", text)


# Traceback lines that name a file and show its source code: the code is the project's own and
# worth keeping; everything else (the exception's message and any chained one's) is scrubbed.
SOURCE_LINE = re.compile(r'^(?:  File "|    )')


def scrub(text):
    """The text with every quoted value, and every secret in an address, replaced."""

    def replace(match):
        quoted = match.group(0)
        return f"{quoted[0]}{REMOVED}{quoted[-1]}"

    return without_secrets(QUOTED_VALUE.sub(replace, text))


def scrub_traceback(text):
    return "\n".join(line if SOURCE_LINE.match(line) else scrub(line) for line in text.split("\n"))


class ScrubSubmittedValues(logging.Filter):
    """For every handler: a record with an exception in it keeps its type and where it happened,
    not the values its messages quote. Records without one (request lines, notices) are left as
    they are: the portal writes no personal details into them in the first place."""

    def filter(self, record):
        message = record.getMessage()
        if SECRET_IN_PATH.search(message):
            record.msg, record.args = without_secrets(message), None
        if record.exc_info or record.exc_text:
            record.msg = scrub(record.getMessage())
            record.args = None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = scrub_traceback(record.exc_text)
        return True


class NoSubmittedValuesReporterFilter(SafeExceptionReporterFilter):
    """What an error report may show of the request and the frames: the names, not the values."""

    def is_active(self, request):
        return True

    def get_post_parameters(self, request):
        if request is None:
            return {}
        return dict.fromkeys(request.POST, self.cleansed_substitute)

    def get_traceback_frame_variables(self, request, tb_frame):
        return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]

    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        if meta.get("QUERY_STRING"):
            meta["QUERY_STRING"] = self.cleansed_substitute
        for name in URLS_IN_META:
            if isinstance(meta.get(name), str):
                meta[name] = without_query(meta[name])
        return meta

    def get_safe_cookies(self, request):
        # A session cookie is as good as the login it belongs to.
        return dict.fromkeys(getattr(request, "COOKIES", {}), self.cleansed_substitute)


def without_query(url):
    return without_secrets(url.split("?", 1)[0])


class ScrubbedExceptionReporter(ExceptionReporter):
    """The error email (mail_admins): without submitted values, quoted or posted."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filter = NoSubmittedValuesReporterFilter()

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if data.get("exception_value"):
            data["exception_value"] = scrub(str(data["exception_value"]))
        for frame in data.get("frames", []):
            if frame.get("exc_cause"):
                frame["exc_cause"] = scrub(str(frame["exc_cause"]))
        data["request_GET_items"] = [
            (name, self.filter.cleansed_substitute) for name, _ in data.get("request_GET_items", [])
        ]
        # "Request URL" repeats the query that request_GET_items no longer shows.
        if data.get("request_insecure_uri"):
            data["request_insecure_uri"] = without_query(data["request_insecure_uri"])
        return data
