"""Video visits: the link to join, made by a provider backend, and when it may be shown.

An appointment whose visit type's mode is VIDEO is a video visit. Its join link comes from the
backend named by VIDEO_BACKEND (a dotted path to a VideoBackend subclass); the default,
JitsiBackend, names a room on VIDEO_JITSI_URL by an HMAC of the appointment's row (its number and
when it was made) under VIDEO_ROOM_SECRET: stable, different for every appointment (a moved one is
a new row, so a new room), unguessable without the secret, and nothing about the patient in it.

Whoever has a Jitsi room's address can enter it, at any time: so the link is shown only to the
appointment's patient and doctor, and only from VIDEO_LINK_OPENS_MINUTES_BEFORE the start until
VIDEO_LINK_GRACE_MINUTES after the end, on the portal's pages behind their login. Messages carry
the address of the appointment's page, never the join link (README, "Video visits").
"""

import base64
import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core import checks
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.module_loading import import_string

from bookings import links
from bookings.models import Status
from doctors.models import VisitType

ROOM_SALT = "bookings.video.room"
# 160 bits of the HMAC: 32 characters of lowercase base32, which Jitsi takes as a room name.
ROOM_BYTES = 20

# The statuses of a visit still to be held; a cancelled (or moved), missed or completed one
# shows no link.
JOINABLE = (Status.BOOKED, Status.CHECKED_IN)


class VideoBackend:
    """Makes the link to join an appointment's video visit.

    join_url() is called each time a page shows the link (to the patient, the doctor): a backend
    that asks a provider's API for a meeting should keep what it got (by the appointment's
    number) rather than ask again.
    """

    def join_url(self, appointment):
        raise NotImplementedError


def room_secret():
    """VIDEO_ROOM_SECRET, or when it is empty a key derived from SECRET_KEY (stable as long as
    SECRET_KEY is; setting VIDEO_ROOM_SECRET keeps the rooms when SECRET_KEY is rotated)."""
    return (
        settings.VIDEO_ROOM_SECRET
        or salted_hmac(
            ROOM_SALT, "room-secret", secret=settings.SECRET_KEY, algorithm="sha256"
        ).hexdigest()
    )


def room_name(appointment):
    """The Jitsi room of `appointment`: an HMAC of its number and creation time (a number used
    again after a database restore still gets another room), nothing else."""
    message = f"{appointment.pk}:{appointment.created_at.isoformat()}"
    digest = salted_hmac(ROOM_SALT, message, secret=room_secret(), algorithm="sha256").digest()
    return base64.b32encode(digest[:ROOM_BYTES]).decode("ascii").lower()


class JitsiBackend(VideoBackend):
    """A room on a Jitsi Meet server (VIDEO_JITSI_URL, https://meet.jit.si by default)."""

    def join_url(self, appointment):
        return f"{settings.VIDEO_JITSI_URL.rstrip('/')}/{room_name(appointment)}"


def get_backend():
    return import_string(settings.VIDEO_BACKEND)()


def is_video(appointment):
    return (
        appointment.visit_type_id is not None
        and appointment.visit_type.mode == VisitType.Mode.VIDEO
    )


def opens_at(appointment):
    return appointment.start - dt.timedelta(minutes=settings.VIDEO_LINK_OPENS_MINUTES_BEFORE)


def closes_at(appointment):
    return appointment.end + dt.timedelta(minutes=settings.VIDEO_LINK_GRACE_MINUTES)


@dataclass(frozen=True)
class VideoJoin:
    """What an appointment's page says about its video visit. `state` is "waiting" (the link
    opens at opens_at), "open" (join_url is set), "over" (after the grace) or "closed" (the
    visit is cancelled, moved, missed or completed); join_url is set only when "open" and the
    viewer may have it."""

    state: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    join_url: str = ""


def join(appointment, *, now, show_link=True):
    """The video visit's state for a page at `now`, with the join link when it is open and
    `show_link` (the viewer is its patient or doctor); None for a visit in person."""
    if not is_video(appointment):
        return None
    opening, closing = opens_at(appointment), closes_at(appointment)
    if appointment.status not in JOINABLE:
        state = "closed"
    elif now < opening:
        state = "waiting"
    elif now >= closing:
        state = "over"
    else:
        state = "open"
    url = get_backend().join_url(appointment) if state == "open" and show_link else ""
    return VideoJoin(state=state, opens_at=opening, closes_at=closing, join_url=url)


@dataclass(frozen=True)
class VideoNotice:
    """What a confirmation or reminder says about joining a video visit: when the link opens and
    the page it shows on (page_url: "" when the portal has no public address, or for a patient
    without a login, who has no page and is told to call the clinic for the link)."""

    opens_at: dt.datetime
    minutes_before: int
    page_url: str
    has_login: bool


def notice(appointment, *, to_doctor):
    """How a message tells its reader to join the video visit; None for a visit in person.

    Never the join link itself: a message is forwarded, kept in mail servers and read on shared
    screens, and whoever has a room's address can enter it at any time. The appointment's page
    is behind its reader's login and shows the link only while the visit is on."""
    if not is_video(appointment):
        return None
    has_login = True if to_doctor else appointment.patient.user_id is not None
    page_url = ""
    if links.portal_url() and has_login:
        page = "schedule:appointment" if to_doctor else "bookings:detail"
        page_url = f"{links.portal_url()}{reverse(page, kwargs={'pk': appointment.pk})}"
    return VideoNotice(
        opens_at=opens_at(appointment),
        minutes_before=settings.VIDEO_LINK_OPENS_MINUTES_BEFORE,
        page_url=page_url,
        has_login=has_login,
    )


@checks.register()
def video_backend_imports(app_configs, **kwargs):
    """A VIDEO_BACKEND that does not import would fail every video visit's page."""
    try:
        backend = import_string(settings.VIDEO_BACKEND)
    except ImportError as error:
        return [
            checks.Error(
                f"VIDEO_BACKEND {settings.VIDEO_BACKEND!r} cannot be imported: {error}.",
                hint="Name a VideoBackend subclass by its dotted path, e.g. "
                "bookings.video.JitsiBackend.",
                id="bookings.E020",
            )
        ]
    if not (isinstance(backend, type) and issubclass(backend, VideoBackend)):
        return [
            checks.Error(
                f"VIDEO_BACKEND {settings.VIDEO_BACKEND!r} is not a VideoBackend subclass.",
                hint="Subclass bookings.video.VideoBackend and give it join_url(appointment).",
                id="bookings.E021",
            )
        ]
    if issubclass(backend, JitsiBackend) and not settings.VIDEO_JITSI_URL.startswith(
        ("https://", "http://")
    ):
        return [
            checks.Error(
                "VIDEO_JITSI_URL must be an address such as https://meet.jit.si.",
                id="bookings.E022",
            )
        ]
    return []
