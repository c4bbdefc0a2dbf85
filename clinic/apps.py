from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class ClinicAdminConfig(AdminConfig):
    """Replaces django.contrib.admin so that `admin.site` is the clinic's own site."""

    default_site = "clinic.admin.ClinicAdminSite"


class ClinicConfig(AppConfig):
    """The project package as an app: home page, context processors, management commands."""

    name = "clinic"
    verbose_name = "Clinic portal"

    def ready(self):
        from clinic import audit_admin  # noqa: F401  (the audit trail's read-only admin)
