"""How the subject of an event (an appointment, a payment) is shown in a webhook's body.

The representations belong to the layers above notifications: the JSON API's serializers, the
FHIR interface's resources. Those apps register a builder here in their AppConfig.ready(), so
notifications never imports them (DESIGN.md section 1):

    register_payload("json", "appointment", appointment_as_json)

A builder takes the subject (a bookings.Appointment, a billing.Payment) and returns a dict ready
for json.dumps. It runs inside the transaction of the change, and sees the change.
"""

from django.core import checks

_builders = {}

# What endpoints can ask for: (format, family) pairs, the families being what events are about.
EXPECTED = {("json", "appointment"), ("json", "payment"), ("fhir", "appointment")}


def register_payload(format, family, builder):
    _builders[(format, family)] = builder


def builder_for(format, family):
    """The registered builder, or None."""
    return _builders.get((format, family))


@checks.register()
def every_format_has_its_builders(app_configs, **kwargs):
    """An endpoint's format with nobody to build it would send nothing: say so at start-up."""
    return [
        checks.Error(
            f"No webhook payload is registered for {family} events in the {format} format.",
            hint="The app that owns the format registers it in its AppConfig.ready() "
            "(api for json, fhir for fhir): is it in INSTALLED_APPS?",
            id="notifications.E001",
        )
        for format, family in sorted(EXPECTED)
        if builder_for(format, family) is None
    ]
