"""Forms of the patient booking pages. They parse input; the services decide what is allowed."""

import datetime as dt

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from accounts.models import Patient
from bookings.models import AppointmentType, PaymentMode
from doctors.models import Clinic, Department

# A slot's start as it travels in links and hidden fields: UTC, to the minute, unambiguous.
SLOT_FORMAT = "%Y-%m-%dT%H:%MZ"


# The ends of the calendar (year 1, 9999) overflow time zone arithmetic; no clinic needs them.
SANE_YEARS = (1900, 2999)


def slot_token(start):
    return start.astimezone(dt.UTC).strftime(SLOT_FORMAT)


def parse_slot_token(value):
    """The aware UTC datetime a slot token names; ValueError for anything else."""
    return dt.datetime.strptime(value, SLOT_FORMAT).replace(tzinfo=dt.UTC)


class SlotStartField(forms.CharField):
    widget = forms.HiddenInput

    default_error_messages = {
        "invalid": gettext_lazy(
            "That appointment time could not be read. Please pick a time from the list."
        ),
    }

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            start = parse_slot_token(value)
        except ValueError:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if not SANE_YEARS[0] <= start.year <= SANE_YEARS[1]:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return start

    def prepare_value(self, value):
        if isinstance(value, dt.datetime):
            return slot_token(value)
        return value


class SlotForm(forms.Form):
    """The time a patient picked, from the query string of a confirm page."""

    start = SlotStartField(
        error_messages={"required": gettext_lazy("Please pick an appointment time from the list.")}
    )


def available_payment_modes():
    """Online payment needs a payment gateway (billing's PAYMENT_PROVIDER setting); until one is
    set up the portal offers only what it can honour instead of pretending to take money."""
    modes = [(PaymentMode.AT_CLINIC.value, PaymentMode.AT_CLINIC.label)]
    if settings.PAYMENT_PROVIDER:
        modes.append((PaymentMode.ONLINE.value, PaymentMode.ONLINE.label))
    return modes


class BookingForm(SlotForm):
    appointment_type = forms.ChoiceField(
        label=gettext_lazy("Type of visit"),
        choices=AppointmentType.choices,
        initial=AppointmentType.CONSULTATION,
    )
    payment_mode = forms.ChoiceField(
        label=gettext_lazy("Payment"),
        choices=available_payment_modes,
        initial=PaymentMode.AT_CLINIC,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason for the visit"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Optional, up to 500 characters. Seen only by the clinic's staff and your doctor."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not settings.PAYMENT_PROVIDER:
            self.fields["payment_mode"].help_text = gettext(
                "Online payment is not available yet; you pay at the clinic's reception."
            )


class RescheduleForm(SlotForm):
    pass


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for cancelling"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Optional, up to 200 characters. It helps the clinic plan."),
    )


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class TimeOffForm(forms.Form):
    """A doctor's absence, in the wall-clock time of the zone the view activates."""

    starts_at = forms.DateTimeField(label=gettext_lazy("From"), widget=LocalDateTimeInput())
    ends_at = forms.DateTimeField(label=gettext_lazy("Until"), widget=LocalDateTimeInput())
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Optional, up to 200 characters; seen by the clinic's staff only."),
    )

    def clean(self):
        cleaned = super().clean()
        for name in ("starts_at", "ends_at"):
            value = cleaned.get(name)
            if value and not SANE_YEARS[0] <= value.year <= SANE_YEARS[1]:
                self.add_error(name, gettext("Enter a date between the years 1900 and 2999."))
                cleaned.pop(name, None)
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at:
            if ends_at <= starts_at:
                self.add_error("ends_at", gettext("The time off must end after it starts."))
            elif ends_at <= timezone.now():
                self.add_error(
                    "ends_at", gettext("This time off is already over. Enter future times.")
                )
        return cleaned


class CalendarPrivacyForm(forms.Form):
    shows_patient_names = forms.BooleanField(
        label=gettext_lazy("Show patients' names in my calendar feed"),
        required=False,
        help_text=gettext_lazy(
            "Your calendar app and anyone you share that calendar with will see them. "
            "Off, the feed shows only the times and the type of visit."
        ),
    )


class DeskBookingForm(BookingForm):
    """The front desk books for a patient chosen on the page."""

    patient = forms.ModelChoiceField(
        queryset=Patient.objects.all(),
        widget=forms.HiddenInput,
        error_messages={
            "required": gettext_lazy(
                "Choose the patient first: search the directory or add a new patient."
            ),
            "invalid_choice": gettext_lazy(
                "That patient is not in the directory. Please search again."
            ),
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].help_text = gettext(
            "Optional, up to 500 characters, as the patient gave it."
        )


class DeskCancelForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for cancelling"),
        max_length=200,
        help_text=gettext_lazy(
            "Required, up to 200 characters; kept with the appointment's history."
        ),
        error_messages={"required": gettext_lazy("Say why the appointment is cancelled.")},
    )


class QueueFilterForm(forms.Form):
    clinic = forms.ModelChoiceField(
        queryset=Clinic.objects.order_by("name"),
        label=gettext_lazy("Clinic"),
        required=False,
        empty_label=gettext_lazy("All clinics"),
    )
    department = forms.ModelChoiceField(
        queryset=Department.objects.order_by("name"),
        label=gettext_lazy("Department"),
        required=False,
        empty_label=gettext_lazy("All departments"),
    )
