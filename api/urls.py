"""/api/v1/: the JSON API. Every path under it answers JSON, an unknown one included."""

from django.urls import path, re_path

from api import docs, errors, views
from api.auth import TokenView

app_name = "api"

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="token"),
    path("me/", views.Me.as_view(), name="me"),
    path("departments/", views.DepartmentList.as_view(), name="departments"),
    path("doctors/", views.DoctorList.as_view(), name="doctors"),
    # The schema and the pages that show it, from the sidecar's static files (no CDN).
    path("schema/", docs.SchemaView.as_view(), name="schema"),
    path("docs/", docs.SwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", docs.RedocView.as_view(url_name="api:schema"), name="redoc"),
    # Last: whatever no endpoint above matched.
    re_path(r"^.*$", errors.not_found, name="not_found"),
]
