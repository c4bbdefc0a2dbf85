"""Deliveries written before 0004 name no appointment: read it from their bodies once, so that
closing a patient's account finds those too (new deliveries get it when they are queued).

A JSON body's `data.id` is the appointment (appointment events) or the ledger entry (payment
events, whose charge names the appointment); a FHIR body is the Appointment resource, its `id` the
appointment's. A body that says neither, or names a row that is gone, is left as it was.
"""

import collections
import json

from django.db import migrations

FHIR_JSON = "application/fhir+json"


def subject_id(content_type, body):
    """The id of what the body is about, or None."""
    try:
        subject = json.loads(body)
    except ValueError:
        return None
    if content_type != FHIR_JSON and isinstance(subject, dict):
        subject = subject.get("data")
    if not isinstance(subject, dict):
        return None
    try:
        return int(subject.get("id"))
    except (TypeError, ValueError):
        return None


def name_the_appointments(apps, schema_editor):
    Delivery = apps.get_model("notifications", "WebhookDelivery")
    Appointment = apps.get_model("bookings", "Appointment")
    Payment = apps.get_model("billing", "Payment")

    subjects = {}  # delivery -> (what the event is about, its id)
    unnamed = Delivery.objects.filter(appointment__isnull=True).exclude(event_type="webhook.test")
    rows = unnamed.values_list("pk", "event_type", "content_type", "body")
    for pk, event_type, content_type, body in rows.iterator():
        subject = subject_id(content_type, body)
        if subject is not None:
            subjects[pk] = (event_type.partition(".")[0], subject)

    payments = {subject for family, subject in subjects.values() if family == "payment"}
    appointment_of_payment = dict(
        Payment.objects.filter(pk__in=payments).values_list("pk", "charge__appointment_id")
    )
    deliveries_of = collections.defaultdict(list)
    for pk, (family, subject) in subjects.items():
        if family == "appointment":
            deliveries_of[subject].append(pk)
        elif family == "payment" and subject in appointment_of_payment:
            deliveries_of[appointment_of_payment[subject]].append(pk)
    existing = set(Appointment.objects.filter(pk__in=deliveries_of).values_list("pk", flat=True))
    for appointment, pks in deliveries_of.items():
        if appointment in existing:
            Delivery.objects.filter(pk__in=pks).update(appointment_id=appointment)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0006_payment_doctor_and_clinic_required"),
        ("notifications", "0004_delivery_appointment_and_body_removal"),
    ]

    operations = [
        migrations.RunPython(name_the_appointments, migrations.RunPython.noop, elidable=True),
    ]
