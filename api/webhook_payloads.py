"""The JSON webhooks' `data`: an appointment or a ledger entry exactly as the API returns it.

Registered with notifications in ApiConfig.ready(). Each builder reads its subject again the way
the API's own views load it (one query), inside the transaction of the change, so the payload
shows the change as committed.
"""

from api.appointments import AppointmentSerializer
from api.billing import ReceiptSerializer
from billing import selectors
from billing.models import Payment
from bookings.models import Appointment


def appointment_as_json(appointment):
    """As the API's appointment actions answer (GET /api/v1/appointments/<id>/ less the price:
    payments are events of their own)."""
    # Loaded as api.appointments.appointments_for loads it for the front desk.
    record = Appointment.objects.select_related(
        "patient", "doctor__department", "clinic", "rescheduled_to", "visit_type"
    ).get(pk=appointment.pk)
    return AppointmentSerializer(record).data


def payment_as_json(payment):
    """As GET /api/v1/payments/<id>/ answers (the receipt), for a payment or a refund."""
    # Loaded as api.billing.ledger loads it for the front desk.
    entry = selectors.with_refunds(
        Payment.objects.select_related(
            "charge__appointment__clinic",
            "charge__appointment__doctor__department",
            "charge__appointment__patient",
            "recorded_by",
        )
    ).get(pk=payment.pk)
    return ReceiptSerializer(entry).data


def register():
    from notifications.webhook_payloads import register_payload

    register_payload("json", "appointment", appointment_as_json)
    register_payload("json", "payment", payment_as_json)
