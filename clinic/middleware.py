import time

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

SEEN_KEY = "_last_seen"
# The expiry is pushed forward at most once a minute, so a busy page does not write the session
# on every request; the idle limit is kept to within that minute.
REFRESH_EVERY_SECONDS = 60


def idle_limit(user):
    """Seconds of inactivity after which the login ends: shorter for staff and doctors, who see
    many patients' data."""
    if user.is_staff or hasattr(user, "doctor"):
        return settings.STAFF_SESSION_IDLE_SECONDS
    return settings.SESSION_IDLE_SECONDS


def _refresh(request, user, now):
    request.session.set_expiry(idle_limit(user))
    request.session[SEEN_KEY] = now


@receiver(user_logged_in)
def start_idle_clock(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        _refresh(request, user, int(time.time()))


class IdleSessionMiddleware:
    """Ends a login after a spell of inactivity (SESSION_IDLE_SECONDS, STAFF_SESSION_IDLE_SECONDS);
    SESSION_COOKIE_AGE stays the longest a login can last in any case."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            if now - request.session.get(SEEN_KEY, 0) >= REFRESH_EVERY_SECONDS:
                _refresh(request, user, now)
        return self.get_response(request)
