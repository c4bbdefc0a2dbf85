"""/fhir/R4/: the FHIR R4 interface. Every path under it answers FHIR JSON, an unknown one too."""

from django.urls import path, re_path

from fhir import operations, outcomes, views
from fhir.appointment_changes import WritableAppointments
from fhir.patients import Patients
from fhir.schedules import Schedules, Slots
from fhir.structure import HealthcareServices, Locations, PractitionerRoles, Practitioners

app_name = "fhir"


def interactions(resource_type):
    """The type's search (GET /Type, POST /Type/_search), create where it takes one (POST /Type),
    and, where it has them, read and update (GET and PUT /Type/id)."""
    name = resource_type.name.lower()
    search = views.Search if resource_type.create is None else views.SearchAndCreate
    routes = [
        path(
            resource_type.name, search.as_view(resource_type=resource_type), name=f"{name}_search"
        ),
        # Before the read: "_search" is no FHIR id (no underscore), but the route would take it.
        path(
            f"{resource_type.name}/_search",
            views.PostedSearch.as_view(resource_type=resource_type),
            name=f"{name}_posted_search",
        ),
    ]
    if resource_type.read is not None:
        read = views.Read if resource_type.update is None else views.ReadAndUpdate
        routes.append(
            path(
                f"{resource_type.name}/<str:resource_id>",
                read.as_view(resource_type=resource_type),
                name=name,
            )
        )
    return routes


def scheduling_operations(resource_type):
    """Appointment/$find, $hold and $book."""
    return [
        path(
            f"{resource_type.name}/${view.operation.name}",
            view.as_view(resource_type=resource_type),
            name=f"{resource_type.name.lower()}_{view.operation.name}",
        )
        for view in (operations.Find, operations.Hold, operations.Book)
    ]


# One instance for the type's interactions and operations: the CapabilityStatement lists them
# under one resource.
APPOINTMENTS = WritableAppointments()

urlpatterns = [
    path("metadata", views.Metadata.as_view(), name="metadata"),
    *interactions(Practitioners()),
    *interactions(Locations()),
    *interactions(HealthcareServices()),
    *interactions(PractitionerRoles()),
    *interactions(Schedules()),
    *interactions(Slots()),
    *interactions(Patients()),
    # Before the Appointment's read, whose id would take "$find".
    *scheduling_operations(APPOINTMENTS),
    *interactions(APPOINTMENTS),
    # Last: whatever no interaction above matched.
    re_path(r"^.*$", outcomes.not_found, name="not_found"),
]
