"""The FHIR webhooks' body: the Appointment resource, exactly as GET /fhir/R4/Appointment/<id>
serves it. Registered with notifications in FhirConfig.ready()."""

import json

from bookings.models import Appointment
from fhir.appointments import appointment as appointment_resource


def appointment_as_fhir(appointment):
    # Loaded as the interface's reads load it (doctor, department, clinic, visit type and the
    # appointment that replaced it in one query), then built and validated by the R4B model.
    record = Appointment.objects.select_related(
        "patient", "doctor__department", "clinic", "rescheduled_to", "visit_type"
    ).get(pk=appointment.pk)
    return json.loads(appointment_resource(record).model_dump_json())


def register():
    from notifications.webhook_payloads import register_payload

    register_payload("fhir", "appointment", appointment_as_fhir)
