"""Explicit "viewed" entries in the audit trail (django-auditlog records changes by itself).

Pages (and admin screens) that show a patient's record, an appointment's details or a receipt
call record_view(); the actor and address come from auditlog's middleware, as for changes.
A search that shows many records at once calls record_views(), which writes the same entries in
one statement.
"""

from auditlog.signals import accessed
from django.contrib.contenttypes.models import ContentType
from django.db import router
from django.db.models.signals import pre_save
from django.utils.encoding import smart_str


def record_view(instance):
    accessed.send(sender=instance.__class__, instance=instance)


def record_views(instances):
    """record_view() of each of `instances` (saved records of one model), in one INSERT however
    many they are: the entries auditlog writes for an access, field for field.

    auditlog's receiver saves one entry per record, and takes the actor and address from the
    request's context in a pre_save receiver; bulk_create sends no pre_save, so it is sent here
    for each entry before the one INSERT."""
    from auditlog.cid import get_cid
    from auditlog.models import LogEntry
    from auditlog.registry import auditlog

    instances = [instance for instance in instances if instance.pk is not None]
    if not instances or not auditlog.contains(type(instances[0])):
        return []
    content_type = ContentType.objects.get_for_model(instances[0])
    correlation_id = get_cid()
    database = router.db_for_write(LogEntry)
    entries = []
    for instance in instances:
        entry = LogEntry(
            content_type=content_type,
            object_pk=str(instance.pk),
            object_id=instance.pk if isinstance(instance.pk, int) else None,
            object_repr=smart_str(instance),
            serialized_data=LogEntry.objects._get_serialized_data_or_none(instance),
            action=LogEntry.Action.ACCESS,
            changes=None,
            cid=correlation_id,
        )
        additional_data = getattr(instance, "get_additional_data", None)
        if callable(additional_data):
            entry.additional_data = additional_data()
        pre_save.send(
            sender=LogEntry, instance=entry, raw=False, using=database, update_fields=None
        )
        entries.append(entry)
    return LogEntry.objects.using(database).bulk_create(entries)


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
