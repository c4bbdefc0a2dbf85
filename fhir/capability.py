"""GET /fhir/R4/metadata: the CapabilityStatement, made from the routes themselves, so that it
lists exactly the resource types, interactions, search parameters and operations served, no
more."""

from dataclasses import dataclass, field

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


@dataclass
class Served:
    """What the routes serve of one resource type."""

    resource_type: object  # the ResourceType
    interactions: set = field(default_factory=set)  # interaction codes
    operations: list = field(default_factory=list)  # fhir.operations.Operation


def served_resources():
    """{resource type name: Served} from the fhir namespace's routes."""
    served = {}
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver) and entry.namespace == "fhir":
            for pattern in entry.url_patterns:
                view = getattr(pattern.callback, "view_class", None)
                initkwargs = getattr(pattern.callback, "view_initkwargs", {})
                resource_type = initkwargs.get("resource_type")
                if resource_type is not None:
                    found = served.setdefault(resource_type.name, Served(resource_type))
                    found.interactions.update(view.interactions.values())
                    operation = getattr(view, "operation", None)
                    if operation is not None:
                        found.operations.append(operation)
    return served


def _resource(served):
    resource_type, interactions = served.resource_type, served.interactions
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
        "operation": [
            {
                "name": operation.name,
                "definition": operation.definition(),
                "documentation": operation.documentation,
            }
            for operation in served.operations
        ]
        or None,
    }


def capability_statement(request):
    base = base_url(request)
    served = served_resources()
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
                    "Writes take an Idempotency-Key header to be retried safely. "
                    "Scheduling: Appointment/$find proposes free times, $hold keeps one for a "
                    "few minutes, $book books it."
                ),
                "security": {
                    "cors": False,
                    "service": [{"text": "Token"}],
                    "description": SECURITY,
                },
                "resource": [_resource(found) for _, found in sorted(served.items())],
            }
        ],
    )
