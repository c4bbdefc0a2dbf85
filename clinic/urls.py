from django.contrib import admin
from django.urls import include, path

from clinic.views import HomeView, favicon

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("favicon.ico", favicon, name="favicon"),
    path("accounts/", include("accounts.urls")),
    path("", include("doctors.urls")),
    path("", include("bookings.urls")),
    path("schedule/", include("bookings.schedule_urls")),
    path("desk/", include("bookings.desk_urls")),
    path("payments/", include("billing.urls")),
    path("my-data/", include("clinic.privacy_urls")),
    path("admin/", admin.site.urls),
]
