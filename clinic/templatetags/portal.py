from decimal import Decimal

from django import template
from django.conf import settings
from django.utils.translation import ngettext

from billing.money import grouped, money_text

register = template.Library()


@register.filter
def money(amount, currency=None):
    """An amount as the portal writes money: "INR 12,34,567.50" (billing.money.money_text), in the
    clinic's currency unless another is given. Empty for no amount."""
    if amount is None or amount == "":
        return ""
    return money_text(amount, currency or settings.CURRENCY)


@register.filter
def grouped_amount(amount, currency=None):
    """Just the amount, grouped as its currency is written ("12,34,567.50" for rupees:
    billing.money.grouped), for sentences that name the currency themselves."""
    if amount is None or amount == "":
        return ""
    return grouped(amount, currency=currency or settings.CURRENCY)


@register.filter
def report_cell(value):
    """A report table's cell: money (a Decimal) grouped as the clinic's currency is written, the
    rest as it is. The CSV export keeps the plain figures."""
    if isinstance(value, Decimal):
        return grouped(value, currency=settings.CURRENCY)
    return value


@register.filter
def duration_words(delta):
    """A timedelta as people say it: "1 hour", "30 minutes", "2 hours 15 minutes"."""
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours})
    if minutes or not parts:
        parts.append(
            ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
        )
    return " ".join(parts)
