from django.apps import AppConfig


class FhirConfig(AppConfig):
    """The FHIR R4 interface (/fhir/R4/): an adapter over the selectors, above the API."""

    name = "fhir"
    verbose_name = "FHIR"
