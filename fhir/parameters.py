"""The body of an operation: a FHIR Parameters resource, read strictly.

A parameter this server does not know is refused (400), as an unknown search parameter is. The
Parameters themselves are validated with the R4B model; a resource inside one (`appt-resource`)
by its own type's model, where the caller takes it.
"""

from django.http import QueryDict
from fhir.resources.R4B.parameters import Parameters

from fhir.outcomes import FhirError
from fhir.validation import valid_model

SHAPE = 'The body is a Parameters resource: {"resourceType": "Parameters", "parameter": [...]}.'
# Value types whose JSON is the text a URL would carry.
TEXT_VALUES = frozenset(
    {
        "valueString",
        "valueCode",
        "valueUri",
        "valueCanonical",
        "valueId",
        "valueDate",
        "valueDateTime",
        "valueInstant",
    }
)
NUMBER_VALUES = frozenset({"valueInteger", "valuePositiveInt", "valueUnsignedInt"})


def parameters_body(request, names):
    """The parameters of the request's Parameters body (raw JSON objects), each named one of
    `names`; 400 for anything else."""
    data = request.data
    if not isinstance(data, dict) or data.get("resourceType") != "Parameters":
        raise FhirError(SHAPE)
    given = data.get("parameter") or []
    if not isinstance(given, list) or not all(isinstance(item, dict) for item in given):
        raise FhirError(SHAPE)
    # The resources inside are left to their own models: the library's Parameters would look
    # their classes up by any resourceType sent.
    outer = [{k: v for k, v in item.items() if k != "resource"} for item in given]
    valid_model(Parameters, {**data, "parameter": outer or None})
    for item in given:
        if item["name"] not in names:
            raise FhirError(
                f"This operation takes no parameter {item['name']!r}.",
                issue="not-supported",
                code="unknown_parameter",
            )
    return given


def _coding_text(coding):
    if not isinstance(coding, dict) or not isinstance(coding.get("code"), str):
        return None
    system = coding.get("system")
    return f"{system}|{coding['code']}" if isinstance(system, str) else coding["code"]


def _value_text(item):
    """A parameter's one value as the text its GET form would carry (a Reference as its
    reference, a Coding as system|code, a CodeableConcept's codings joined by commas: or)."""
    name = item["name"]
    values = [key for key in item if key.startswith("value")]
    if "resource" in item or "part" in item or len(values) != 1:
        raise FhirError(f"Give {name} one value.")
    key, value = values[0], item[values[0]]
    if key in TEXT_VALUES and isinstance(value, str):
        return value
    if key in NUMBER_VALUES and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if key == "valueReference" and isinstance(value, dict):
        reference = value.get("reference")
        if isinstance(reference, str):
            return reference
    if key == "valueCoding":
        text = _coding_text(value)
        if text is not None:
            return text
    if key == "valueCodeableConcept" and isinstance(value, dict):
        texts = [_coding_text(coding) for coding in value.get("coding") or []]
        if texts and None not in texts:
            return ",".join(texts)
    raise FhirError(
        f"{name} is given as text (valueString, valueDate...), a number, a valueReference, "
        "a valueCoding or a valueCodeableConcept."
    )


def as_query(given):
    """The parameters as a QueryDict, as a GET of the same operation would give them: each
    value as text, a repeated parameter's values joined by commas (or)."""
    texts = {}
    for item in given:
        texts.setdefault(item["name"], []).append(_value_text(item))
    query = QueryDict(mutable=True)
    for name, values in texts.items():
        query[name] = ",".join(values)
    return query


def the_resource(given, name):
    """The resource (raw JSON) of the one parameter `name`; 400 if it is missing, repeated or
    not a resource."""
    found = [item for item in given if item["name"] == name]
    if len(found) != 1:
        raise FhirError(
            f"Give one {name} parameter with the Appointment as its resource.",
            issue="required",
            code="required",
        )
    (item,) = found
    if set(item) - {"name", "resource"} or not isinstance(item.get("resource"), dict):
        raise FhirError(f"{name} carries a resource (the Appointment), and nothing else.")
    return item["resource"]
