"""The pages of a search that carried personal details.

A Patient search by name, telecom or birthdate is POSTed (`[type]/_search`, a form in the body),
so that those details never sit in a URL, where access logs and proxies keep them. Its Bundle's
`next` and `previous` links must not put them back there: the search is kept on the server, in
Django's cache (CACHES; a shared one, CACHE_URL=redis://..., when there are several app servers),
for LIFETIME_SECONDS, and the links name it by a random id: `GET [type]?_search_id=<id>&_count=..
&_offset=..`. Only the login that searched may page it; for anyone else, and once it has expired,
the id names nothing (410: search again).
"""

import re
import secrets

from django.core.cache import cache
from django.http import QueryDict

from fhir.outcomes import FhirError
from fhir.search import CONTROL, PAGING, Links, Query

PARAMETER = "_search_id"
LIFETIME_SECONDS = 15 * 60
SEARCH_ID = re.compile(r"[A-Za-z0-9_-]{16,64}", re.ASCII)


def _key(search_id):
    return f"fhir:search:{search_id}"


def _search_pairs(given):
    """(name, value) of the search's own parameters, in order: not the page, not the format."""
    return tuple(
        (key, value)
        for key, values in given.lists()
        if key.partition(":")[0] not in PAGING | CONTROL
        for value in values
    )


def _page_pairs(given, query):
    """What every link repeats besides the search: the page size, and the format asked for."""
    pairs = [(key, value) for key in CONTROL for value in given.getlist(key)]
    return (*pairs, ("_count", str(query.page.count)))


def posted(request, resource_type):
    """(Query, Links, (total, resources)) of POST [type]/_search: the form in the body with the
    URL's parameters, as FHIR combines them. Links carry the search itself unless it is personal;
    then the id of the search, stored once it has been answered (not when it was refused)."""
    given = request.query_params.copy()
    for key, values in request.data.lists():
        given.setlist(key, given.getlist(key) + values)
    if PARAMETER in given:
        raise FhirError(f"{PARAMETER} pages a search already made: GET it from the Bundle's links.")
    query = Query.parse(given, resource_type.search_params, in_url=False)
    results = resource_type.search(request, query)
    url = request.build_absolute_uri(request.path).removesuffix("/_search")
    if not query.personal:
        pairs = tuple(
            (key, value) for key, values in given.lists() if key != "_offset" for value in values
        )
        return query, Links(url, pairs), results
    search_id = secrets.token_urlsafe(24)
    stored = {"type": resource_type.name, "user": request.user.pk, "pairs": _search_pairs(given)}
    cache.set(_key(search_id), stored, LIFETIME_SECONDS)
    return query, Links(url, ((PARAMETER, search_id), *_page_pairs(given, query))), results


def resumed(request, resource_type):
    """(Query, Links) of GET [type]?_search_id=...: the stored search, at the page asked for."""
    given = request.query_params
    for key in given:
        if key != PARAMETER and key.partition(":")[0] not in PAGING | CONTROL:
            raise FhirError(
                f"A page of a stored search takes no other parameter than _count and _offset: "
                f"{key!r}.",
                issue="not-supported",
                code="unknown_parameter",
            )
    search_id = given.getlist(PARAMETER)
    stored = None
    if len(search_id) == 1 and SEARCH_ID.fullmatch(search_id[0]):
        stored = cache.get(_key(search_id[0]))
    if not stored or stored["type"] != resource_type.name or stored["user"] != request.user.pk:
        raise FhirError(
            "This search has expired or is not yours: search again.",
            status_code=410,
            issue="not-found",
            code="search_expired",
        )
    search = QueryDict(mutable=True)
    for key, value in stored["pairs"]:
        search.appendlist(key, value)
    for key in PAGING | CONTROL:
        search.setlist(key, given.getlist(key))
    query = Query.parse(search, resource_type.search_params, in_url=False)
    url = request.build_absolute_uri(request.path)
    return query, Links(url, ((PARAMETER, search_id[0]), *_page_pairs(given, query)))
