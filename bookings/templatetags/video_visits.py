"""{% video_join appointment audience %}: a video visit's section on an appointment's page (the
link to join, or when it opens); nothing for a visit in person. {% video_badge appointment %}:
the same in a line of a list."""

from django import template
from django.conf import settings
from django.utils import timezone

from bookings import video

register = template.Library()

AUDIENCES = ("patient", "doctor", "desk")


def may_see_link(appointment, audience):
    """The patient and the doctor join; the desk only reads the link out or texts it to a patient
    who has no login (walk-in and phone patients), who has no page of their own to see it on."""
    if audience == "desk":
        return appointment.patient.user_id is None
    return audience in AUDIENCES


@register.filter
def is_video(appointment):
    return video.is_video(appointment)


@register.inclusion_tag("bookings/_partials/video_join.html")
def video_join(appointment, audience):
    link_here = may_see_link(appointment, audience)
    return {
        "appointment": appointment,
        "video": video.join(appointment, now=timezone.now(), show_link=link_here),
        "audience": audience,
        "link_here": link_here,
        "opens_minutes": settings.VIDEO_LINK_OPENS_MINUTES_BEFORE,
    }


@register.inclusion_tag("bookings/_partials/video_badge.html")
def video_badge(appointment, audience):
    joining = video.join(
        appointment, now=timezone.now(), show_link=may_see_link(appointment, audience)
    )
    return {"appointment": appointment, "video": joining}
