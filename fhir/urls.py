"""/fhir/R4/: the FHIR R4 interface. Every path under it answers FHIR JSON, an unknown one too."""

from django.urls import path, re_path

from fhir import outcomes, views
from fhir.schedules import Schedules, Slots
from fhir.structure import HealthcareServices, Locations, PractitionerRoles, Practitioners

app_name = "fhir"


def interactions(resource_type):
    """The type's search (GET /Type) and, where it has one, read (GET /Type/id)."""
    name = resource_type.name.lower()
    routes = [
        path(
            resource_type.name,
            views.Search.as_view(resource_type=resource_type),
            name=f"{name}_search",
        )
    ]
    if resource_type.read is not None:
        routes.append(
            path(
                f"{resource_type.name}/<str:resource_id>",
                views.Read.as_view(resource_type=resource_type),
                name=name,
            )
        )
    return routes


urlpatterns = [
    path("metadata", views.Metadata.as_view(), name="metadata"),
    *interactions(Practitioners()),
    *interactions(Locations()),
    *interactions(HealthcareServices()),
    *interactions(PractitionerRoles()),
    *interactions(Schedules()),
    *interactions(Slots()),
    # Last: whatever no interaction above matched.
    re_path(r"^.*$", outcomes.not_found, name="not_found"),
]
