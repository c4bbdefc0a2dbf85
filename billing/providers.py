"""The seam for an online payment gateway (Razorpay, Stripe, ...).

No gateway ships with the portal. Set PAYMENT_PROVIDER to the dotted path of a PaymentProvider
subclass to turn online payment on; until then patients are told plainly that it is unavailable.
"""

from django.conf import settings
from django.utils.module_loading import import_string


class PaymentProvider:
    """What a gateway must do for the portal."""

    name = "gateway"

    def checkout_url(self, *, charge, amount, return_url):
        """The gateway's page where the patient pays `amount` towards `charge`."""
        raise NotImplementedError

    def confirm(self, request):
        """Checks the gateway's return (signature and all) and returns (charge_id, amount,
        reference) for a successful payment; raises PaymentNotConfirmed otherwise."""
        raise NotImplementedError


class PaymentNotConfirmed(Exception):
    pass


def configured_provider():
    """The gateway in use, or None when online payment is off."""
    path = settings.PAYMENT_PROVIDER
    return import_string(path)() if path else None
