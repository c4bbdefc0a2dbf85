"""The OpenAPI schema's shared parts: the error shape on every operation, and the
Idempotency-Key header on the operations that honour it."""

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter

from api.idempotency import HEADER, MAX_KEY_LENGTH

ERROR_COMPONENT = "Error"

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error the API answers, 4xx and 5xx alike (see docs/api.md).",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "Stable, for programs."},
                "message": {"type": "string", "description": "For people."},
                "fields": {
                    "type": "object",
                    "description": 'Problems by request field (code "invalid"); else empty.',
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
            "required": ["code", "message", "fields"],
        }
    },
    "required": ["error"],
}

ERROR_DESCRIPTIONS = {
    "400": "Invalid input (code invalid, with fields), or malformed JSON.",
    "401": "No credentials, or a token that is wrong, expired or revoked.",
    "403": "The login's role may not do this.",
    "404": "No such object, or not yours.",
    "405": "Method not allowed.",
    "406": "The client accepts no JSON.",
    "409": "Conflict: the data's state changed, or the Idempotency-Key is still in use.",
    "415": "The body is not application/json.",
    "422": "Refused by a rule (the code names it), or an Idempotency-Key reused.",
    "429": "Too many requests; see Retry-After.",
    "500": "A fault on the server.",
}
EVERY_OPERATION = ("400", "401", "403", "404", "405", "406", "429", "500")
WRITES = ("409", "415", "422")


class AutoSchema(openapi.AutoSchema):
    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        handler = getattr(self.view, self.method.lower(), None)
        if getattr(handler, "idempotent", False):
            parameters = [
                *parameters,
                OpenApiParameter(
                    HEADER,
                    str,
                    OpenApiParameter.HEADER,
                    required=False,
                    description=(
                        f"Up to {MAX_KEY_LENGTH} characters of your choosing (a UUID, say). "
                        "A retry with the same key and body returns the first answer, with "
                        "Idempotent-Replayed: true, and writes nothing more."
                    ),
                ),
            ]
        return parameters


WALL_CLOCK = "%H:%M"
WALL_CLOCK_PATTERN = "^([01][0-9]|2[0-3]):[0-5][0-9]$"


class WallClockTimeExtension(OpenApiSerializerFieldExtension):
    """A TimeField shown (or read) as HH:MM. OpenAPI's "time" format is RFC 3339's, which has
    seconds and an offset, so "09:00" would break the schema's own promise: a pattern instead.
    Fields that keep ISO 8601 times keep the "time" format."""

    target_class = "rest_framework.fields.TimeField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "response":
            wall_clock = getattr(self.target, "format", None) == WALL_CLOCK
        else:
            wall_clock = list(getattr(self.target, "input_formats", None) or ()) == [WALL_CLOCK]
        if wall_clock:
            schema.pop("format", None)
            schema.update(pattern=WALL_CLOCK_PATTERN, examples=["09:00"])
        return schema


# Shown at the top of Swagger UI and Redoc, so that someone can integrate from the page alone.
GUIDE = """
## Authentication

Send `Authorization: Token <token>` with every request.

* **A person's app**: `POST /api/v1/auth/token/` with `{"email": "...", "password": "..."}`
  (staff with two-factor codes add `"otp_code"`) answers 201 with `{"token": ...}`, shown once.
  It lasts a few hours; `DELETE /api/v1/auth/token/` with it revokes it.
* **An integration**: a clinic admin adds a login for it (typically the Front desk role) and a
  token for that login in the portal's admin (Auth tokens); the token is shown once.

Public lists (departments, doctors) need no token. Another patient's or doctor's object answers
404, as if it did not exist.

## Errors

Every 4xx and 5xx has one shape:

```json
{"error": {"code": "slot_taken",
           "message": "Sorry, that time was just taken. Please choose another time.",
           "fields": {}}}
```

`code` is stable, for programs (treat one you do not know by its HTTP status); `message` is for
people; `fields` maps each request field to its problems when `code` is `invalid` (400), and is
`{}` otherwise. 401: no or a bad token; 403: the role may not; 404: not found or not yours;
409: the data changed under you (read it again; `idempotency_in_progress`: retry in a moment);
415: send `Content-Type: application/json`; 422: refused by a rule (the code names it); 429:
too many requests, see `Retry-After`.

## Writes, times, pages

Writes that book, move, cancel, pay or refund accept an `Idempotency-Key` header: a retry with
the same key and body returns the first answer and changes nothing. Times go in as ISO 8601 with
an offset and come out as `{"utc", "local", "time_zone"}` at the clinic. Lists take `page` and
`page_size` and answer `{"count", "next", "previous", "results"}`.
"""


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: the Error component, and its responses on every
    operation (those the operation does not describe itself); the guide to auth and errors."""
    info = result.setdefault("info", {})
    info["description"] = (info.get("description", "") + "\n" + GUIDE).strip()
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = ERROR_SCHEMA
    reference = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            statuses = EVERY_OPERATION
            if method.upper() in ("POST", "PUT", "PATCH", "DELETE"):
                statuses = EVERY_OPERATION + WRITES
            responses = operation.setdefault("responses", {})
            for code in statuses:
                responses.setdefault(
                    code,
                    {
                        "description": ERROR_DESCRIPTIONS[code],
                        "content": {"application/json": {"schema": reference}},
                    },
                )
    return result
