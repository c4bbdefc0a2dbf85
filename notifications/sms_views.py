"""Twilio's calls to the portal: delivery reports for the texts it took, and patients' replies.

Each must carry Twilio's signature (X-Twilio-Signature, keyed with TWILIO_AUTH_TOKEN) for the
address it called, the portal's public one (SMS_CALLBACK_BASE_URL) when set: behind proxies the
address this server sees differs. Anything else is refused 403 with an empty answer.
"""

import logging
from xml.sax.saxutils import escape

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from notifications.sms_inbound import answer_reply, record_status
from notifications.sms_providers import provider_status, signature_is_valid

logger = logging.getLogger(__name__)


def _called_url(request):
    base = settings.SMS_CALLBACK_BASE_URL.rstrip("/")
    return base + request.get_full_path() if base else request.build_absolute_uri()


def _signed_by_twilio(request):
    params = [(name, value) for name in request.POST for value in request.POST.getlist(name)]
    if signature_is_valid(
        auth_token=settings.TWILIO_AUTH_TOKEN,
        url=_called_url(request),
        params=params,
        signature=request.headers.get("X-Twilio-Signature", ""),
    ):
        return True
    # Forged, or a wrong TWILIO_AUTH_TOKEN or SMS_CALLBACK_BASE_URL (then every call fails):
    # the path only, which names no one.
    logger.warning("Refused a call to %s without a valid Twilio signature.", request.path)
    return False


def _notice_named(request):
    """The notice id in the callback address (sms_providers.status_callback_url), if any."""
    try:
        return int(request.GET["notice"])
    except (KeyError, ValueError):
        return None


@csrf_exempt
@require_POST
def twilio_status(request):
    """A delivery report: answered 204 whether or not it changed a notice (Twilio has nothing to
    do about a report the portal does not need)."""
    if not _signed_by_twilio(request):
        return HttpResponseForbidden()
    record_status(
        message_id=request.POST.get("MessageSid", ""),
        status=provider_status(request.POST.get("MessageStatus", "")),
        error_code=request.POST.get("ErrorCode", ""),
        notice_id=_notice_named(request),
    )
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def twilio_inbound(request):
    """A text to the clinic's number: acted on, and answered with one text (TwiML)."""
    if not _signed_by_twilio(request):
        return HttpResponseForbidden()
    answer = answer_reply(
        from_number=request.POST.get("From", ""), text=request.POST.get("Body", "")
    )
    twiml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Response><Message>{escape(answer)}</Message></Response>"
    )
    return HttpResponse(twiml, content_type="text/xml; charset=utf-8")
