"""The FHIR interactions as REST framework views: read, search and the CapabilityStatement.

Each resource type is a ResourceType (fhir/structure.py, fhir/schedules.py) that reads one
resource and searches; the views here parse, authenticate, throttle and answer. Every answer is a
model of fhir.resources' R4B package, so it is validated before it leaves.
"""

from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import TokenAuthentication
from api.throttling import ReadThrottle, WriteThrottle
from fhir.capability import capability_statement
from fhir.content import PARSERS, RENDERERS, FhirContentNegotiation
from fhir.outcomes import FhirError, exception_handler
from fhir.search import CONTROL, Query, searchset


class ResourceType:
    """A FHIR resource type served here. `read` is None where only search is offered."""

    name = ""
    search_params = ()

    def read(self, request, resource_id):
        raise NotImplementedError

    def search(self, request, query):
        """(total, [resources of this page])."""
        raise NotImplementedError


class FhirView(APIView):
    """What every FHIR interaction shares: JSON only, the API's tokens and throttles, and
    OperationOutcome for every error.

    Only tokens, not the portal's session: a FHIR client is a program holding a token, and the
    CapabilityStatement announces nothing else."""

    renderer_classes = RENDERERS
    parser_classes = PARSERS
    content_negotiation_class = FhirContentNegotiation
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [ReadThrottle, WriteThrottle]
    # Not part of the JSON API's OpenAPI schema: the CapabilityStatement describes these.
    schema = None

    def get_exception_handler(self):
        return exception_handler


def refuse_parameters(request):
    """A read (and the CapabilityStatement) takes no parameters but _format and _pretty."""
    for key in request.query_params:
        if key.partition(":")[0] not in CONTROL:
            raise FhirError(
                f"This interaction takes no parameter {key!r}.",
                issue="not-supported",
                code="unknown_parameter",
            )


class Read(FhirView):
    interaction = "read"
    resource_type = None

    def get(self, request, resource_id):
        refuse_parameters(request)
        return Response(self.resource_type.read(request, resource_id))


class Search(FhirView):
    interaction = "search-type"
    resource_type = None

    def get(self, request):
        query = Query.read(request, self.resource_type.search_params)
        total, resources = self.resource_type.search(request, query)
        return Response(searchset(request, total=total, resources=resources, page=query.page))


class Metadata(FhirView):
    """The CapabilityStatement: public, as FHIR expects, so a client can learn how to log in."""

    permission_classes = [AllowAny]

    def get(self, request):
        refuse_parameters(request)
        return Response(capability_statement(request))
