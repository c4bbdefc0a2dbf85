"""The FHIR interactions as REST framework views: read, search (GET, and POST [type]/_search),
create, update and the CapabilityStatement.

Each resource type is a ResourceType (fhir/structure.py, fhir/schedules.py, fhir/patients.py,
fhir/appointments.py) that reads one resource, searches, and for some creates and updates; the
views here parse, authenticate, throttle and answer. Every answer is a model of fhir.resources'
R4B package, so it is validated before it leaves.
"""

from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import TokenAuthentication
from api.idempotency import idempotent
from api.throttling import ReadThrottle, WriteThrottle
from fhir import stored_searches
from fhir.capability import capability_statement
from fhir.content import PARSERS, RENDERERS, FhirContentNegotiation
from fhir.outcomes import FhirError, as_json, exception_handler
from fhir.search import CONTROL, Query, base_url, searchset


class ResourceType:
    """A FHIR resource type served here. `read` is None where only search is offered; `create`
    and `update` are None unless the type takes writes.

    `permissions` names, per interaction, the permission classes of who may call it at all
    (else 403); by default any login."""

    name = ""
    search_params = ()
    permissions = {}
    create = None  # (request) -> (status, resource)
    update = None  # (request, resource_id) -> (status, resource)

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

    # The interaction each method serves here (the CapabilityStatement lists them).
    interactions = {}
    resource_type = None

    def get_exception_handler(self):
        return exception_handler

    def get_permissions(self):
        interaction = self.interactions.get(self.request.method)
        allowed = getattr(self.resource_type, "permissions", {}).get(interaction)
        if allowed is None:
            return super().get_permissions()
        return [permission() for permission in allowed]


def refuse_parameters(request):
    """A read, a write and the CapabilityStatement take no parameters but _format and _pretty."""
    for key in request.query_params:
        if key.partition(":")[0] not in CONTROL:
            raise FhirError(
                f"This interaction takes no parameter {key!r}.",
                issue="not-supported",
                code="unknown_parameter",
            )


def written(request, status, resource):
    """The answer to a create or an update: the resource, and where a new one lives (201). As
    plain JSON (validated as the model first), which an Idempotency-Key's record can keep."""
    headers = {}
    if status == 201:
        headers["Location"] = f"{base_url(request)}{resource.get_resource_type()}/{resource.id}"
    return Response(as_json(resource), status=status, headers=headers)


class Read(FhirView):
    interactions = {"GET": "read"}

    def get(self, request, resource_id):
        refuse_parameters(request)
        return Response(self.resource_type.read(request, resource_id))


class ReadAndUpdate(Read):
    """GET and PUT [type]/<id>."""

    interactions = {"GET": "read", "PUT": "update"}

    @idempotent
    def put(self, request, resource_id):
        refuse_parameters(request)
        status, resource = self.resource_type.update(request, resource_id)
        return written(request, status, resource)


def _search_answer(request, resource_type, query, links=None, results=None):
    total, resources = results if results is not None else resource_type.search(request, query)
    bundle = searchset(request, total=total, resources=resources, page=query.page, links=links)
    return Response(bundle)


class Search(FhirView):
    """GET [type]: a search in the URL, or a page of a stored one (fhir/stored_searches.py)."""

    interactions = {"GET": "search-type"}

    def get(self, request):
        if stored_searches.PARAMETER in request.query_params:
            query, links = stored_searches.resumed(request, self.resource_type)
            return _search_answer(request, self.resource_type, query, links)
        query = Query.read(request, self.resource_type.search_params)
        return _search_answer(request, self.resource_type, query)


class SearchAndCreate(Search):
    """GET [type] and POST [type]: search, and create."""

    interactions = {"GET": "search-type", "POST": "create"}

    @idempotent
    def post(self, request):
        refuse_parameters(request)
        status, resource = self.resource_type.create(request)
        return written(request, status, resource)


class PostedSearchThrottle(ReadThrottle):
    """A POSTed search writes nothing: it counts against the reads' allowance."""

    def applies_to(self, request):
        return True


class PostedSearch(FhirView):
    """POST [type]/_search: the search as a form in the body (FHIR's way to keep parameters out
    of the URL)."""

    interactions = {"POST": "search-type"}
    parser_classes = [FormParser]
    throttle_classes = [PostedSearchThrottle]

    def post(self, request):
        query, links, results = stored_searches.posted(request, self.resource_type)
        return _search_answer(request, self.resource_type, query, links, results)


class Metadata(FhirView):
    """The CapabilityStatement: public, as FHIR expects, so a client can learn how to log in."""

    permission_classes = [AllowAny]

    def get(self, request):
        refuse_parameters(request)
        return Response(capability_statement(request))
