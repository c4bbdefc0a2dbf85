"""Request rates per caller, counted in Django's cache (CACHES; shared by every app server when
CACHE_URL names Redis): writes (POST, PUT, PATCH, DELETE) at API_THROTTLE_WRITES, reads at the
more generous API_THROTTLE_READS, logins (POST auth/token/) at API_THROTTLE_LOGINS.

The caller is the token when one is used (an integration and a person's app each have their
own allowance, even under one login), else the logged-in user (the portal's session), else the
client's address: accounts.throttling.client_address, the one django-axes and the forms' throttles
use, which reads X-Forwarded-For only as far as the portal's own proxies wrote it (REST
framework's own reading trusts whatever the client wrote there unless NUM_PROXIES is set). An
answer over the rate is 429 "throttled" with Retry-After.
"""

from knox.models import AuthToken
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.throttling import client_address

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class _CallerThrottle(SimpleRateThrottle):
    def get_rate(self):
        # Read when asked, not when the class was defined: the rates are settings.
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def get_ident(self, request):
        return client_address(request)

    def get_cache_key(self, request, view):
        if not self.applies_to(request):
            return None
        if isinstance(request.auth, AuthToken):
            # The digest identifies the token without being usable as one.
            ident = f"token:{request.auth.digest[:32]}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def applies_to(self, request):
        raise NotImplementedError


class ReadThrottle(_CallerThrottle):
    scope = "api_read"

    def applies_to(self, request):
        return request.method in SAFE_METHODS


class WriteThrottle(_CallerThrottle):
    scope = "api_write"

    def applies_to(self, request):
        return request.method not in SAFE_METHODS


class LoginThrottle(_CallerThrottle):
    """Password guessing is django-axes' to stop; this caps the two-factor codes tried and the
    work of hashing passwords per client address."""

    scope = "api_login"

    def applies_to(self, request):
        return request.method == "POST"
