"""The audit trail in the admin: for clinic admins to read, for nobody to edit or delete."""

from auditlog.admin import LogEntryAdmin
from auditlog.models import LogEntry
from axes.admin import AccessAttemptAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.utils.translation import gettext_lazy

from accounts.admin_input import CheckedAdminInputMixin

admin.site.unregister(LogEntry)
# Failed-attempt logging is off (AXES_ENABLE_ACCESS_FAILURE_LOG); lockouts and logins stay.
admin.site.unregister(AccessFailureLog)

# django-axes' own lists as they are, but a date drill-down that names no real day is a 400
# instead of overflowing into a 500.
for model, model_admin in ((AccessAttempt, AccessAttemptAdmin), (AccessLog, AccessLogAdmin)):
    admin.site.unregister(model)
    admin.site.register(
        model, type(model_admin.__name__, (CheckedAdminInputMixin, model_admin), {})
    )


@admin.register(LogEntry)
class AuditTrailAdmin(CheckedAdminInputMixin, LogEntryAdmin):
    # Searches travel in the address (?q=...), so the trail is searched by number: the record's
    # (a patient's, an appointment's...; the type is a filter) or the login's that acted. The
    # stock search took names and emails.
    search_fields = ["=object_pk", "=actor__id"]
    search_help_text = gettext_lazy(
        "Record number (with the resource type filter: patient, appointment, payment...) or the "
        "number of the login that acted."
    )

    def has_delete_permission(self, request, obj=None):
        return False
