"""Billing's answers to what bookings announces, and its section on appointment pages."""

from django.dispatch import receiver
from django.template.loader import render_to_string

from billing import selectors, services
from bookings import panels, pricing, signals


@receiver(signals.appointment_booked)
def charge_new_appointment(sender, appointment, **kwargs):
    services.open_charge(appointment=appointment)


@receiver(signals.appointment_rescheduled)
def carry_charge_to_new_time(sender, old, new, **kwargs):
    services.move_charge(old=old, new=new)


@receiver(signals.appointment_cancelled)
def flag_paid_cancellation(sender, appointment, **kwargs):
    services.flag_refund_due(appointment=appointment)


pricing.register(services.quote)


@panels.register
def money_panel(*, request, appointment, audience):
    if audience == "doctor":
        return ""
    summary = selectors.money_summary(appointment)
    if summary is None:
        return ""
    return render_to_string(
        "billing/_partials/appointment_money.html",
        {"summary": summary, "audience": audience, "appointment": appointment},
        request=request,
    )
