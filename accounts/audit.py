"""Explicit "viewed" entries in the audit trail (django-auditlog records changes by itself).

Pages (and admin screens) that show a patient's record, an appointment's details or a receipt
call record_view(); the actor and address come from auditlog's middleware, as for changes.
"""

from auditlog.signals import accessed


def record_view(instance):
    accessed.send(sender=instance.__class__, instance=instance)


class AuditedViewsAdminMixin:
    """For ModelAdmins of patient, appointment and payment records: opening one is recorded."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            original = getattr(response, "context_data", {}).get("original")
            if original is not None:
                record_view(original)
        return response


def record_event(instance, event, **details):
    """A named event about a record ("data exported", "account closed") in the audit trail, with
    any details (plain JSON values) kept beside it."""
    from auditlog.models import LogEntry

    return LogEntry.objects.log_create(
        instance,
        force_log=True,
        action=LogEntry.Action.ACCESS,
        changes={"event": [None, event]},
        additional_data={"event": event, **details},
    )
