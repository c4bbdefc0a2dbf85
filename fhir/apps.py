from django.apps import AppConfig


class FhirConfig(AppConfig):
    """The FHIR R4 interface (/fhir/R4/): an adapter over the selectors, above the API."""

    name = "fhir"
    verbose_name = "FHIR"

    def ready(self):
        from fhir import webhook_payloads

        webhook_payloads.register()  # webhooks "as the FHIR Appointment"

        from api.idempotency import answers_naming_patient
        from fhir.appointments import stored_answers_naming

        # Closing a patient's account blanks the stored FHIR answers that name them too.
        answers_naming_patient(stored_answers_naming)
