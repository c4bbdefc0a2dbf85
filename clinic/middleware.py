import time

from django.conf import settings
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.signals import user_logged_in
from django.db.models import Q
from django.dispatch import receiver

from accounts.roles import Role

SEEN_KEY = "_last_seen"
LOGIN_AT_KEY = "_logged_in_at"
# The expiry is pushed forward at most once a minute, so a busy page does not write the session
# on every request; the idle limit is kept to within that minute.
REFRESH_EVERY_SECONDS = 60


STAFF_ROLES = (Role.DOCTOR, Role.FRONT_DESK, Role.CLINIC_ADMIN)


def idle_limit(user):
    """Seconds of inactivity after which the login ends: shorter for staff and doctors, who see
    many patients' data. The front desk's pages go by role, not by is_staff, so neither does
    this."""
    if user.is_staff or _has_staff_role_or_doctor_link(user):
        return settings.STAFF_SESSION_IDLE_SECONDS
    return settings.SESSION_IDLE_SECONDS


def _has_staff_role_or_doctor_link(user):
    # Read afresh at each refresh, so a role given during a session shortens it at once; one
    # query for both the groups and the doctor link, as this runs on a booking's request too.
    return (
        get_user_model()
        ._default_manager.filter(pk=user.pk)
        .filter(Q(groups__name__in=STAFF_ROLES) | Q(doctor__isnull=False))
        .exists()
    )


def _refresh(request, user, now):
    # Never past SESSION_COOKIE_AGE after the login, however busy the session is.
    logged_in_at = request.session.get(LOGIN_AT_KEY, now)
    left = logged_in_at + settings.SESSION_COOKIE_AGE - now
    request.session.set_expiry(max(1, min(idle_limit(user), left)))
    request.session[SEEN_KEY] = now


@receiver(user_logged_in)
def start_idle_clock(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        now = int(time.time())
        request.session[LOGIN_AT_KEY] = now
        _refresh(request, user, now)


class IdleSessionMiddleware:
    """Ends a login after a spell of inactivity (SESSION_IDLE_SECONDS, STAFF_SESSION_IDLE_SECONDS),
    and in any case SESSION_COOKIE_AGE after it began."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            # Sessions from before the login time was kept count from now.
            logged_in_at = request.session.setdefault(LOGIN_AT_KEY, now)
            if now - logged_in_at >= settings.SESSION_COOKIE_AGE:
                logout(request)
            elif now - request.session.get(SEEN_KEY, 0) >= REFRESH_EVERY_SECONDS:
                _refresh(request, user, now)
        return self.get_response(request)
