"""Middleware that keeps bad input away from the views and personal pages out of caches."""

from django.core.exceptions import BadRequest
from django.utils.cache import add_never_cache_headers

NUL = "\x00"


def _holds_nul(query_dict):
    return any(
        NUL in key or any(NUL in value for value in values) for key, values in query_dict.lists()
    )


class RefuseNulCharactersMiddleware:
    """Answers 400 to a NUL character in the path, the query string or a submitted form.

    No form field, URL or filter of the portal has a use for one, and PostgreSQL refuses it in
    any text it is sent: a NUL that reached a lookup (a list filter, the calendar feed's token, a
    login name logged by django-axes) turned into a database error and a 500. Checked before any
    view or middleware that reads the database (uploaded files' contents are not checked).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if NUL in request.path_info or _holds_nul(request.GET):
            raise BadRequest("A NUL character in the address.")
        if request.method == "POST" and _holds_nul(request.POST):
            raise BadRequest("A NUL character in a form.")
        return self.get_response(request)


class PrivatePagesMiddleware:
    """Nothing shown to a logged-in user is kept by a browser, a proxy or a shared computer's
    back button: their pages carry appointments, payments and personal details.

    `no-store` (with `private`, and `no-cache, must-revalidate, max-age=0` for old caches) on
    every answer to a logged-in request, whatever the view set; anonymous pages keep their own.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response
