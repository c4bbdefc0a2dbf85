from decimal import Decimal

from django import forms
from django.utils.translation import gettext, gettext_lazy

from billing.models import Payment

DESK_MODES = [
    (Payment.Mode.CASH.value, Payment.Mode.CASH.label),
    (Payment.Mode.CARD.value, Payment.Mode.CARD.label),
    (Payment.Mode.UPI.value, Payment.Mode.UPI.label),
]


class RecordPaymentForm(forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"),
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text=gettext_lazy("What the patient paid now; at most what is due."),
    )
    mode = forms.ChoiceField(
        label=gettext_lazy("Paid by"), choices=DESK_MODES, widget=forms.RadioSelect
    )
    reference = forms.CharField(
        label=gettext_lazy("Reference"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("Card slip or UPI transaction number; optional for cash."),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("mode") in (Payment.Mode.CARD, Payment.Mode.UPI) and not cleaned.get(
            "reference"
        ):
            self.add_error("reference", gettext("Enter the card slip or UPI transaction number."))
        return cleaned


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount"), max_digits=10, decimal_places=2, min_value=Decimal("0.01")
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=200,
        help_text=gettext_lazy("Required; kept in the ledger."),
    )
