"""The scheduling operations on Appointment, as views: $find (GET or POST), $hold and $book
(POST), each with the definition the CapabilityStatement lists (fhir/capability.py reads
`operation` off the routed views).

The definitions are canonical URLs of our own (`<FHIR_IDENTIFIER_SYSTEM_BASE>/OperationDefinition/
appointment-find`...): the parameters follow IHE ITI Scheduling's $find and the Argonaut
scheduling guide's `appt-resource`, but are not exactly either's (docs/fhir.md).
"""

from dataclasses import dataclass

from django.conf import settings
from rest_framework.response import Response

from api.appointments import StaffOrPatient
from api.idempotency import idempotent
from fhir import find, holds
from fhir.outcomes import as_json
from fhir.parameters import as_query, parameters_body
from fhir.search import Links, Query
from fhir.views import FhirView, PostedSearchThrottle, refuse_parameters, written


@dataclass(frozen=True)
class Operation:
    """An operation as the CapabilityStatement lists it."""

    name: str  # without the $
    documentation: str

    def definition(self):
        base = settings.FHIR_IDENTIFIER_SYSTEM_BASE
        return f"{base}/OperationDefinition/appointment-{self.name}"


FIND = Operation(
    "find",
    "Free times as proposed Appointments (a searchset Bundle): start and end (required, inside "
    "the booking window), practitioner, location, specialty, service-type, _count. GET with "
    "the parameters in the URL, or POST a Parameters resource.",
)
HOLD = Operation(
    "hold",
    "POST a Parameters resource with appt-resource, a proposed Appointment of $find (staff name "
    "the Patient): the time is held for a few minutes; the answer is the Appointment pending, "
    "with the hold as an identifier and its expiry as an extension.",
)
BOOK = Operation(
    "book",
    "POST a Parameters resource with appt-resource, the pending Appointment of $hold (booked "
    "with its hold; an expired one is 409) or a proposed one: 201, the booked Appointment. "
    "Takes an Idempotency-Key.",
)


class OperationView(FhirView):
    """An operation on a resource type: no interaction of the type's (`interactions` stays
    empty), the operation it serves instead. Any login may call it unless `allowed` says who."""

    operation = None
    allowed = None

    def get_permissions(self):
        # A method the operation lacks is 405 for every login (and OPTIONS open to any), as
        # for the interactions' views.
        method = self.request.method.lower()
        served = method != "options" and hasattr(self, method)
        if self.allowed is None or not served:
            return super().get_permissions()
        return [permission() for permission in self.allowed]


class Find(OperationView):
    """GET or POST Appointment/$find. It changes nothing: a POST counts as a read, like a
    POSTed search."""

    operation = FIND
    throttle_classes = [PostedSearchThrottle]

    def get(self, request):
        query = Query.read(request, find.FIND_PARAMS)
        return Response(find.find(request, query, Links.of_get(request)))

    def post(self, request):
        refuse_parameters(request)
        given = as_query(parameters_body(request, find.FIND_PARAMETER_NAMES))
        query = Query.parse(given, find.FIND_PARAMS, in_url=False)
        return Response(find.find(request, query, find.posted_links(request, given)))


class Hold(OperationView):
    """POST Appointment/$hold."""

    operation = HOLD
    allowed = [StaffOrPatient]

    @idempotent
    def post(self, request):
        refuse_parameters(request)
        status, resource = holds.hold(request)
        return Response(as_json(resource), status=status)


class Book(OperationView):
    """POST Appointment/$book."""

    operation = BOOK
    allowed = [StaffOrPatient]

    @idempotent
    def post(self, request):
        refuse_parameters(request)
        status, resource = holds.book(request)
        return written(request, status, resource)
