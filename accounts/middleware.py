"""The logged-in user's saved language wins over the browser's (accounts.languages)."""

from django.utils import translation

from accounts import languages


class UserLanguageMiddleware:
    """After LocaleMiddleware and the login: a user who saved a language gets it on every page,
    on any device (LocaleMiddleware's response step then names it in Content-Language)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        code = languages.of_user(getattr(request, "user", None))
        if code and code != translation.get_language():
            translation.activate(code)
            request.LANGUAGE_CODE = code
        return self.get_response(request)
