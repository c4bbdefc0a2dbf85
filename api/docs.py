"""The OpenAPI schema (JSON by default, ?format=yaml too) and the two pages that show it, Swagger
UI and Redoc, both from drf-spectacular-sidecar's static files: no CDN, no inline script (the
portal's Content-Security-Policy allows neither), so the pages use templates of our own."""

from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer


class _ErrorsAsJson:
    """A refusal from a page view (a POST, say) is the API's JSON, not an HTML page."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class SchemaView(_ErrorsAsJson, SpectacularAPIView):
    permission_classes = [AllowAny]
    renderer_classes = [
        OpenApiJsonRenderer,
        OpenApiJsonRenderer2,
        OpenApiYamlRenderer,
        OpenApiYamlRenderer2,
    ]


class SwaggerView(_ErrorsAsJson, SpectacularSwaggerSplitView):
    permission_classes = [AllowAny]
    template_name = "api/swagger_ui.html"


# Redoc's search runs in a Web Worker that its bundle makes from a blob: URL: allowed on this
# page only (django-csp's per-response update). Its sidebar also always shows Redocly's logo from
# cdn.redoc.ly (no option turns it off); that is not allowed, so the browser blocks the image
# before any request leaves (the logo hides itself when it fails to load). A health-data portal's
# pages make no request to anyone else's server: not even one that only tells them who is reading.
REDOC_CSP = {"worker-src": ["blob:"]}


class RedocView(_ErrorsAsJson, SpectacularRedocView):
    permission_classes = [AllowAny]
    template_name = "api/redoc.html"

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response._csp_update = REDOC_CSP
        return response
