"""System checks about how notices leave the portal."""

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

from notifications.sms_providers import REQUIRED_SETTINGS, SENDER_SETTINGS, TwilioSmsBackend

NOT_CONFIGURED = {
    "EMAIL_BACKEND": (
        "notifications.email_backends.NotConfiguredEmailBackend",
        "notifications.I001",
        "email (notices, password resets, sign-up confirmations)",
    ),
    "SMS_BACKEND": (
        "notifications.sms.NotConfiguredSmsBackend",
        "notifications.I002",
        "text messages",
    ),
}


@checks.register()
def messages_have_somewhere_to_go(app_configs, **kwargs):
    """Says so when, with DEBUG off, no provider was named: a production install may well start
    without text messages, so this is a note, not a warning, but notices will fail until then."""
    notes = []
    for setting, (backend, check_id, what) in NOT_CONFIGURED.items():
        if getattr(settings, setting) == backend:
            notes.append(
                checks.Info(
                    f"No provider is configured for {what}: nothing is sent, and the notices "
                    "waiting in the outbox are marked failed after their tries.",
                    hint=f"Set {setting} (README, Settings).",
                    id=check_id,
                )
            )
    return notes


@checks.register()
def sms_provider_has_its_settings(app_configs, **kwargs):
    """A Twilio backend without its account, token or sender fails every text; without the
    portal's public address, Twilio reports no delivery status."""
    try:
        backend = import_string(settings.SMS_BACKEND)
    except ImportError:
        return []  # Django's own error when the first text is sent names it.
    if not (isinstance(backend, type) and issubclass(backend, TwilioSmsBackend)):
        return []
    problems = []
    missing = [name for name in REQUIRED_SETTINGS if not getattr(settings, name)]
    if not any(getattr(settings, name) for name in SENDER_SETTINGS):
        missing.append(" or ".join(SENDER_SETTINGS))
    if missing:
        problems.append(
            checks.Error(
                f"SMS_BACKEND is Twilio, but these settings are empty: {', '.join(missing)}. "
                "No text can be sent.",
                hint="Set them from the Twilio console (README, Text messages (SMS)).",
                id="notifications.E010",
            )
        )
    if not settings.SMS_CALLBACK_BASE_URL:
        problems.append(
            checks.Warning(
                "SMS_CALLBACK_BASE_URL is not set: Twilio is not asked for delivery reports, "
                "so notices show no delivery status.",
                hint="Set it to the portal's public address, e.g. https://clinic.example.org.",
                id="notifications.W011",
            )
        )
    return problems
