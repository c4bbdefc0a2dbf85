"""JSON only, as FHIR names it: `application/fhir+json` in and out.

A client may ask through `Accept` or, overriding it as FHIR says, `_format`. Plain
`application/json` (and the older `application/json+fhir`) are the same bytes; XML, Turtle or HTML
are not offered (406). A body in anything else than JSON is 415.
"""

import json
from types import SimpleNamespace

from fhir_core.fhirabstractmodel import FHIRAbstractModel
from rest_framework import exceptions, negotiation, parsers, renderers

FHIR_JSON = "application/fhir+json"

# What `_format` may say, and the media type answered for it.
FORMATS = {
    "json": FHIR_JSON,
    FHIR_JSON: FHIR_JSON,
    "application/json+fhir": FHIR_JSON,
    "application/json": "application/json",
}

NOT_ACCEPTABLE = "This server answers in JSON only (application/fhir+json)."


class FhirJsonRenderer(renderers.BaseRenderer):
    media_type = FHIR_JSON
    format = "json"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if isinstance(data, FHIRAbstractModel):
            return data.model_dump_json().encode()
        return json.dumps(data).encode()


class PlainJsonRenderer(FhirJsonRenderer):
    """For a client that accepts only application/json: the same resource, labelled so."""

    media_type = "application/json"


class LegacyFhirJsonRenderer(FhirJsonRenderer):
    """DSTU2's name for FHIR JSON, still sent by older clients; answered as today's."""

    media_type = "application/json+fhir"


class FhirJsonParser(parsers.JSONParser):
    media_type = FHIR_JSON


class LegacyFhirJsonParser(parsers.JSONParser):
    media_type = "application/json+fhir"


RENDERERS = [FhirJsonRenderer, PlainJsonRenderer, LegacyFhirJsonRenderer]
PARSERS = [FhirJsonParser, parsers.JSONParser, LegacyFhirJsonParser]


class FhirContentNegotiation(negotiation.DefaultContentNegotiation):
    """`_format` first, then `Accept`; REST framework's own `?format=` is not ours to honour (an
    unknown search parameter is refused by the views instead)."""

    settings = SimpleNamespace(URL_FORMAT_OVERRIDE=None)

    def select_renderer(self, request, renderers, format_suffix=None):
        formats = request.query_params.getlist("_format")
        if not formats:
            try:
                renderer, media_type = super().select_renderer(request, renderers)
            except exceptions.NotAcceptable:
                raise exceptions.NotAcceptable(NOT_ACCEPTABLE) from None
            if isinstance(renderer, LegacyFhirJsonRenderer):
                return renderers[0], FHIR_JSON
            return renderer, media_type
        wanted = None
        if len(formats) == 1:
            wanted = FORMATS.get(formats[0].split(";")[0].strip().lower())
        for renderer in renderers:
            if renderer.media_type == wanted:
                return renderer, wanted
        raise exceptions.NotAcceptable(NOT_ACCEPTABLE)
