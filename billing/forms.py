from decimal import Decimal

from django import forms

from billing.models import Payment

DESK_MODES = [
    (Payment.Mode.CASH.value, Payment.Mode.CASH.label),
    (Payment.Mode.CARD.value, Payment.Mode.CARD.label),
    (Payment.Mode.UPI.value, Payment.Mode.UPI.label),
]


class RecordPaymentForm(forms.Form):
    amount = forms.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0.01"),
        help_text="What the patient paid now; at most what is due.",
    )
    mode = forms.ChoiceField(label="Paid by", choices=DESK_MODES, widget=forms.RadioSelect)
    reference = forms.CharField(
        required=False,
        max_length=100,
        help_text="Card slip or UPI transaction number; optional for cash.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("mode") in (Payment.Mode.CARD, Payment.Mode.UPI) and not cleaned.get(
            "reference"
        ):
            self.add_error("reference", "Enter the card slip or UPI transaction number.")
        return cleaned


class RefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(max_length=200, help_text="Required; kept in the ledger.")
