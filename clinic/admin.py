from django.conf import settings
from django.contrib import admin


class ClinicAdminSite(admin.AdminSite):
    """The staff back office, titled for the clinic that runs the portal."""

    @property
    def site_header(self):
        return f"{settings.CLINIC_NAME} administration"

    @property
    def site_title(self):
        return f"{settings.CLINIC_NAME} admin"

    index_title = "Clinic management"
