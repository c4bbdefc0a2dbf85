"""The pages a one-click link in a message opens (bookings.links), at /links/<token>/, for
anyone holding the link: no login.

GET never changes anything (mail scanners and link previews open links too): it shows the
appointment and one button, which POSTs (CSRF-protected) to the same address. A reschedule link
goes on to the patient's own "move" page, which asks them to log in (a patient without a login
is asked to call the clinic).

A wrong, expired or used link, or one whose appointment is cancelled, moved or started, gets one
page: the same status, the same words, nothing about any patient or appointment. Such answers
are counted per client address like the portal's other forms without a login; past
THROTTLE_FORMS_PER_IP of them, links that do not work answer "too many tries" (429) for a while.
A working link still works from that address: tokens cannot be guessed, so refusing them would
protect nothing, and many patients share an address (a mobile carrier's, the clinic's Wi-Fi),
where one person's bad tries must not stop everyone else's confirmations.

What a working page shows: the doctor, the date and time, and the clinic, which its patient
needs to recognise the appointment and which the message itself already says. Not the
patient's name, the reason for the visit, the department or the payment: a link travels through
mail servers, scanners and forwarded messages, and whoever holds it should learn no more than
the message told.
"""

import datetime as dt
import math

from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods
from django_ratelimit.core import ALL, get_usage

from bookings import links, services
from bookings.models import LinkAction
from bookings.rules import patient_may_change

THROTTLE_GROUP = "message-link:not-working"


def _private(response):
    # The token is in the address: no cache keeps the page, no search engine lists it, and no
    # other site learns the address through a Referer header. "same-origin", not "no-referrer":
    # with no referrer at all, browsers send the button's POST with "Origin: null", which
    # Django's CSRF check rightly refuses.
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "same-origin"
    return response


def _not_working_usage(request, *, count):
    return get_usage(
        request,
        group=THROTTLE_GROUP,
        key="ip",
        rate=settings.THROTTLE_FORMS_PER_IP,
        method=ALL,
        increment=count,
    )


def _too_many(request):
    usage = _not_working_usage(request, count=False)
    # Counted only when a link did not work, so read without counting: refused once there
    # have been as many such answers as the period allows.
    if usage is None or usage["count"] < usage["limit"]:
        return None
    wait = max(usage["time_left"], 1)
    response = render(
        request,
        "accounts/too_many_tries.html",
        {"pause": dt.timedelta(minutes=math.ceil(wait / 60))},
        status=429,
    )
    response["Retry-After"] = str(wait)
    return response


def _not_working(request):
    _not_working_usage(request, count=True)
    return render(request, "bookings/links/not_working.html", status=404)


def _page(request, link, *, now, refusal="", status=200):
    appointment = link.appointment
    return render(
        request,
        "bookings/links/action.html",
        {
            "link": link,
            "appointment": appointment,
            "clinic": appointment.clinic,
            "may_cancel": patient_may_change(appointment, now),
            "has_login": appointment.patient.user_id is not None,
            "refusal": refusal,
        },
        status=status,
    )


def _reschedule(request, link):
    appointment = link.appointment
    if appointment.patient.user_id is not None:
        return redirect(reverse("bookings:reschedule", kwargs={"pk": appointment.pk}))
    # Patients without a login (walk-in and phone patients) move appointments by phone.
    return render(
        request,
        "bookings/links/call_clinic.html",
        {"appointment": appointment, "clinic": appointment.clinic},
    )


@require_http_methods(["GET", "POST"])
def open_link(request, token):
    return _private(_open(request, token))


def _open(request, token):
    now = timezone.now()
    link = links.find(token, now=now)
    if link is None:
        return _too_many(request) or _not_working(request)
    if link.action == LinkAction.RESCHEDULE:
        return _reschedule(request, link)
    if request.method == "GET":
        return _page(request, link, now=now)
    try:
        links.act(link, now=now)
    except links.LinkUsed:
        return _too_many(request) or _not_working(request)
    except services.BookingError as error:
        return _page(request, link, now=now, refusal=str(error), status=409)
    return render(
        request,
        "bookings/links/done.html",
        {
            "action": link.action,
            "appointment": link.appointment,
            "clinic": link.appointment.clinic,
            "has_login": link.appointment.patient.user_id is not None,
        },
    )
