from django.contrib import admin
from django.urls import include, path

from accounts import views as accounts_views
from clinic import health
from clinic.metrics_endpoint import metrics
from clinic.views import HomeView, favicon

urlpatterns = [
    # The probes first: the URL resolver reaches them soonest (clinic.health).
    path(health.HEALTHZ_ROUTE, health.healthz, name="healthz"),
    path(health.READYZ_ROUTE, health.readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    path("", HomeView.as_view(), name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("accounts/", include("accounts.urls")),
    path("language/", accounts_views.set_language, name="set_language"),
    path("", include("doctors.urls")),
    path("", include("bookings.urls")),
    path("schedule/", include("bookings.schedule_urls")),
    path("desk/", include("bookings.desk_urls")),
    path("links/", include("bookings.link_urls")),
    path("intake/", include("intake.urls")),
    path("payments/", include("billing.urls")),
    path("waitlist/", include("waitlist.urls")),
    path("notifications/", include("notifications.sms_urls")),
    path("my-data/", include("clinic.privacy_urls")),
    path("api/v1/", include("api.urls")),
    path("fhir/R4/", include("fhir.urls")),
    path("admin/", admin.site.urls),
]

# Under /fhir/ every error is an OperationOutcome (fhir.outcomes), under /api/ the API's JSON
# shape (api.errors); elsewhere, the portal's pages.
handler400 = "fhir.outcomes.bad_request"
handler403 = "fhir.outcomes.permission_denied"
handler404 = "fhir.outcomes.page_not_found"
handler500 = "fhir.outcomes.server_error"
