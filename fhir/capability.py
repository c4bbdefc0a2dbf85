"""GET /fhir/R4/metadata: the CapabilityStatement, made from the routes themselves, so that it
lists exactly the resource types, interactions and search parameters served, no more."""

from django.conf import settings
from django.urls import URLResolver, get_resolver
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from fhir.search import base_url

FHIR_VERSION = "4.0.1"
# When what this statement says last changed (FHIR wants a date; it is not the time of asking).
PUBLISHED = "2026-12-02"
SPEC = "http://hl7.org/fhir/StructureDefinition/"

SECURITY = (
    "Every interaction but this statement needs an API token of the portal: send "
    "`Authorization: Token <token>`. People get one from POST /api/v1/auth/token/; an "
    "integration from a clinic admin (Admin, Auth tokens). No OAuth or SMART on FHIR yet."
)


def served_interactions():
    """{resource type: (ResourceType, {interaction codes})} from the fhir namespace's routes."""
    served = {}
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == "fhir":
            for pattern in entry.url_patterns:
                view = getattr(pattern.callback, "view_class", None)
                initkwargs = getattr(pattern.callback, "view_initkwargs", {})
                resource_type = initkwargs.get("resource_type")
                if resource_type is not None:
                    _, interactions = served.setdefault(resource_type.name, (resource_type, set()))
                    interactions.update(view.interactions.values())
    return served


def _resource(resource_type, interactions):
    return {
        "type": resource_type.name,
        "profile": SPEC + resource_type.name,
        "interaction": [{"code": code} for code in sorted(interactions)],
        "versioning": "no-version",
        "readHistory": False,
        "updateCreate": False,
        "searchParam": [
            {
                "name": param.name,
                "definition": param.definition,
                "type": param.type,
                "documentation": param.documentation,
            }
            for param in resource_type.search_params
        ],
    }


def capability_statement(request):
    base = base_url(request)
    served = served_interactions()
    return CapabilityStatement(
        status="active",
        date=PUBLISHED,
        publisher=settings.CLINIC_NAME,
        kind="instance",
        software={"name": f"{settings.CLINIC_NAME} portal"},
        implementation={"description": f"{settings.CLINIC_NAME}: scheduling", "url": base},
        fhirVersion=FHIR_VERSION,
        format=["json"],
        rest=[
            {
                "mode": "server",
                "documentation": (
                    "Searches are strict: an unknown parameter or modifier is refused (400). "
                    "Pages: _count (default 20, at most 100) and the Bundle's next link. "
                    "A search may be POSTed to [type]/_search as a form; parameters that carry "
                    "personal details (Patient name, telecom, birthdate) are taken only so. "
                    "Writes take an Idempotency-Key header to be retried safely."
                ),
                "security": {
                    "cors": False,
                    "service": [{"text": "Token"}],
                    "description": SECURITY,
                },
                "resource": [
                    _resource(resource_type, interactions)
                    for _, (resource_type, interactions) in sorted(served.items())
                ],
            }
        ],
    )
