"""Search parameters, paging and searchset Bundles, shared by every resource type.

Handling is strict (FHIR's `Prefer: handling=strict`, always): a parameter the resource does not
support, a modifier it does not know, or a value it cannot read is a 400 OperationOutcome, never
silently dropped (a dropped filter would answer with more than was asked). A parameter with an
empty value is ignored, as FHIR says. Paging: `_count` (default 20, at most 100; 0 answers the
total alone) and `_offset`, which the Bundle's `next` and `previous` links carry.
"""

import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse
from fhir.resources.R4B.bundle import Bundle

from fhir.outcomes import FhirError

DEFAULT_COUNT = 20
MAX_COUNT = 100
MAX_VALUE_LENGTH = 200
# Nine digits at most: int() of a huge string is slow, and no page is that far.
WHOLE_NUMBER = re.compile(r"[0-9]{1,9}", re.ASCII)
# FHIR's id type: 1 to 64 of these characters.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}", re.ASCII)
# The portal's own ids are database keys: 1 to 2**31 - 1.
INTEGER_ID = re.compile(r"[1-9][0-9]{0,9}", re.ASCII)
MAX_KEY = 2**31 - 1

# Parameters every interaction takes. `_pretty` is accepted and ignored (the JSON is compact).
CONTROL = frozenset({"_format", "_pretty"})
PAGING = frozenset({"_count", "_offset"})

SPEC = "http://hl7.org/fhir/SearchParameter/"


@dataclass(frozen=True)
class SearchParam:
    """One search parameter as the CapabilityStatement declares it and the views read it."""

    name: str
    type: str  # FHIR's search parameter type: token, string, reference, date
    definition: str  # the standard SearchParameter it implements
    documentation: str
    modifiers: frozenset = frozenset()
    repeats: bool = False  # may be given more than once (each narrows further)
    # Carries personal details (a name, a phone number, a date of birth): taken only from the
    # body of POST [type]/_search, never from a URL, which access logs and proxies keep.
    personal: bool = False


def id_param(resource_type):
    return SearchParam(
        "_id", "token", SPEC + "Resource-id", f"The {resource_type}'s id (a comma means or)."
    )


def key_of(value):
    """The database key an id names, or None if it names none of ours."""
    if not INTEGER_ID.fullmatch(value) or int(value) > MAX_KEY:
        return None
    return int(value)


@dataclass
class Page:
    offset: int
    count: int


@dataclass
class Query:
    """The request's search parameters, checked against what the resource supports."""

    values: dict = field(default_factory=dict)  # name -> [(modifier, value), ...]
    page: Page = None
    personal: bool = False  # some parameter carries personal details

    @classmethod
    def read(cls, request, params):
        """The search of a GET: its URL's parameters, which may carry nothing personal."""
        return cls.parse(request.query_params, params, in_url=True)

    @classmethod
    def parse(cls, given, params, *, in_url):
        """The search in `given` (a QueryDict: a URL's query, or a POSTed form with it)."""
        supported = {param.name: param for param in params}
        query = cls()
        for key, values in given.lists():
            name, _, modifier = key.partition(":")
            if name in CONTROL:
                continue
            if name in PAGING:
                if modifier or len(values) > 1:
                    raise FhirError(f"Give {name} once, without a modifier.")
                continue
            param = supported.get(name)
            if param is None:
                raise FhirError(
                    f"This server does not support the search parameter {name!r} here.",
                    issue="not-supported",
                    code="unknown_parameter",
                )
            if modifier and modifier not in param.modifiers:
                raise FhirError(
                    f"The modifier {modifier!r} is not supported for {name}.",
                    issue="not-supported",
                    code="unknown_modifier",
                )
            if param.personal and in_url:
                raise FhirError(
                    f"{name} carries personal details, which stay out of URLs: send the search "
                    "as a form (application/x-www-form-urlencoded) in the body of a POST to "
                    "the type's _search instead.",
                    issue="not-supported",
                    code="personal_detail_in_url",
                )
            present = [value for value in values if value != ""]
            if len(present) > 1 and not param.repeats:
                raise FhirError(f"Give {name} once.")
            if any(len(value) > MAX_VALUE_LENGTH for value in present):
                raise FhirError(f"The value of {name} is too long.", issue="too-long")
            if present:
                query.values.setdefault(name, []).extend((modifier, value) for value in present)
        query.page = Page(
            offset=_whole_number(given, "_offset", 0),
            count=min(_whole_number(given, "_count", DEFAULT_COUNT), MAX_COUNT),
        )
        query.personal = any(supported[name].personal for name in query.values)
        return query

    def one(self, name):
        """(modifier, value) of a parameter given once, or (None, None)."""
        given = self.values.get(name)
        return given[0] if given else (None, None)

    def choices(self, name):
        """The comma-separated alternatives of a parameter given once (None if absent)."""
        _, value = self.one(name)
        if value is None:
            return None
        return [choice.strip() for choice in value.split(",")]

    def ids(self):
        """The `_id` values asked for (None if absent); each must be a FHIR id."""
        ids = self.choices("_id")
        if ids is not None and not all(FHIR_ID.fullmatch(value) for value in ids):
            raise FhirError("An _id is 1 to 64 letters, digits, '-' or '.'.")
        return ids

    def keys(self, name):
        """The database keys named by a parameter of ids (None if absent); ids that cannot be
        ours match nothing, as any unknown id would."""
        ids = self.ids() if name == "_id" else self.choices(name)
        if ids is None:
            return None
        return [key for key in map(key_of, ids) if key is not None]


def _whole_number(given, name, default):
    value = given.get(name)
    if value is None or value == "":
        return default
    if not WHOLE_NUMBER.fullmatch(value):
        raise FhirError(f"{name} is a whole number from 0.")
    return int(value)


def base_url(request):
    """The absolute base of the FHIR interface, ending in a slash."""
    metadata = request.build_absolute_uri(reverse("fhir:metadata"))
    return metadata.removesuffix("metadata")


def reference_keys(query, name, resource_type, *, base):
    """The database keys of `resource_type` named by a reference parameter (None if absent):
    `Type/id`, a bare id, or this server's absolute URL of it. Another type is a 400."""
    choices = query.choices(name)
    if choices is None:
        return None
    keys = []
    for choice in choices:
        local = choice.removeprefix(base)
        kind, _, ident = local.rpartition("/")
        if kind and kind != resource_type:
            raise FhirError(f"{name} refers to a {resource_type}: {resource_type}/<id>.")
        key = key_of(ident)
        if key is not None:
            keys.append(key)
    return keys


def token_codes(query, name, system):
    """The codes asked for by a token parameter (None if absent): `code`, `|code` (no system:
    none of ours) or `system|code` (another system than `system` matches nothing)."""
    choices = query.choices(name)
    if choices is None:
        return None
    codes = []
    for choice in choices:
        if "|" not in choice:
            codes.append(choice)
            continue
        given_system, _, code = choice.partition("|")
        if given_system == system:
            codes.append(code)
    return codes


def text_filter(field_name, modifier, value):
    """FHIR's string search over `field_name`: by default the start of any word, ignoring case;
    `:exact` the whole, case and all; `:contains` anywhere, ignoring case."""
    if modifier == "exact":
        return Q(**{field_name: value})
    if modifier == "contains":
        return Q(**{f"{field_name}__icontains": value})
    starts_a_word = Q(**{f"{field_name}__icontains": " " + value})
    return Q(**{f"{field_name}__istartswith": value}) | starts_a_word


def paged(queryset, page):
    """(total, the page's rows) of a query: two queries, or one when only the total is asked."""
    total = queryset.count()
    if page.count == 0 or page.offset >= total:
        return total, []
    return total, list(queryset[page.offset : page.offset + page.count])


@dataclass(frozen=True)
class Links:
    """Where a searchset's self, next and previous links point: a GET of `url` with `pairs`
    (the search's parameters, without _offset, which each link sets)."""

    url: str
    pairs: tuple

    @classmethod
    def of_get(cls, request):
        pairs = tuple(
            (key, value)
            for key, values in request.query_params.lists()
            if key != "_offset"
            for value in values
        )
        return cls(request.build_absolute_uri(request.path), pairs)

    def at(self, offset):
        pairs = list(self.pairs)
        if offset:
            pairs.append(("_offset", str(offset)))
        query = urlencode(pairs)
        return self.url + (f"?{query}" if query else "")


def searchset(request, *, total, resources, page, links=None, full_url=None):
    """A validated searchset Bundle: `total`, the entries of this page, `self`, and `next` and
    `previous` where there are more (GETs of `links`, by default the request's own URL).

    Each entry's fullUrl is where its resource lives, or `full_url(resource)` for resources
    that live nowhere (the proposed appointments of $find)."""
    base = base_url(request)
    if full_url is None:

        def full_url(resource):
            return f"{base}{resource.get_resource_type()}/{resource.id}"

    links = links or Links.of_get(request)
    bundle_links = [{"relation": "self", "url": links.at(page.offset)}]
    if page.count and page.offset + page.count < total:
        bundle_links.append({"relation": "next", "url": links.at(page.offset + page.count)})
    if page.count and page.offset:
        previous = max(page.offset - page.count, 0)
        bundle_links.append({"relation": "previous", "url": links.at(previous)})
    entries = [
        {
            "fullUrl": full_url(resource),
            "resource": resource,
            "search": {"mode": "match"},
        }
        for resource in resources
    ]
    return Bundle(type="searchset", total=total, link=bundle_links, entry=entries or None)
