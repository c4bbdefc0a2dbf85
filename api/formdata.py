"""The portal's own Django forms, bound to a JSON body.

Where a page's rules live in its form (the desk's payment modes and references, the sign-up's
password checks), the API validates with that very form rather than a copy of its rules in a
serializer: `cleaned(RecordPaymentForm, request.data)` gives the form's cleaned data, or raises
the API's field errors (code "invalid") with the form's own messages.
"""

from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS
from rest_framework.exceptions import ValidationError

NOT_AN_OBJECT = "Send a JSON object with the fields named in the schema."
NOT_ONE_VALUE = "Give one value (text or a number), not a list or an object."


def _as_form_value(value):
    """A JSON value as a browser would post it: forms expect text, and the temporal fields
    call .strip() on what they get (a number or a list there would be a fault, not an error)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else ""
    if isinstance(value, int | float | Decimal):
        return str(value)
    raise TypeError


def form_data(body, *, fields):
    """The form's data from a JSON body: only `fields`, each as text."""
    if not isinstance(body, dict):
        raise ValidationError({"non_field_errors": [NOT_AN_OBJECT]})
    data, problems = {}, {}
    for name in fields:
        if name not in body:
            continue
        try:
            data[name] = _as_form_value(body[name])
        except TypeError:
            problems[name] = [NOT_ONE_VALUE]
    if problems:
        raise ValidationError(problems)
    return data


def cleaned(form_class, body, *, rename=None, **form_kwargs):
    """`form_class`'s cleaned data for the JSON `body`, or the API's field errors.

    `rename` maps a form field to the name the API gives it (a sign-up's password1 and
    password2 are the API's one `password`).
    """
    rename = rename or {}
    names = list(form_class.base_fields)
    api_names = {rename.get(name, name) for name in names}
    data = form_data(body, fields=api_names)
    for form_name, api_name in rename.items():
        if api_name in data:
            data[form_name] = data[api_name]
    form = form_class(data=data, **form_kwargs)
    if not form.is_valid():
        raise ValidationError(field_errors(form, rename))
    return form.cleaned_data


def field_errors(form, rename=None):
    rename = {NON_FIELD_ERRORS: "non_field_errors", **(rename or {})}
    fields = {}
    for name, messages in form.errors.items():
        problems = fields.setdefault(rename.get(name, name), [])
        problems.extend(message for message in messages if message not in problems)
    return fields
