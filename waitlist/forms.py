"""Forms of the waitlist's pages. They parse input; the services decide what is allowed."""

from django import forms

from accounts.models import Patient
from bookings.forms import BookingForm
from doctors.models import Clinic, Department, Doctor
from waitlist.models import EntryState


class DateInput(forms.DateInput):
    input_type = "date"


class EntryForm(forms.Form):
    """What a patient waits for: a doctor, or any doctor of a department; where and when."""

    department = forms.ModelChoiceField(
        queryset=Department.objects.order_by("name"),
        required=False,
        empty_label="(the chosen doctor's)",
        help_text="Any doctor of this department, if you choose no doctor below.",
    )
    doctor = forms.ModelChoiceField(
        queryset=Doctor.objects.active().select_related("department").order_by("full_name"),
        required=False,
        empty_label="Any doctor of the department",
    )
    clinic = forms.ModelChoiceField(
        queryset=Clinic.objects.order_by("name"), required=False, empty_label="Any clinic"
    )
    earliest = forms.DateField(
        label="From", widget=DateInput, help_text="The first day you could come."
    )
    latest = forms.DateField(
        label="Until", widget=DateInput, help_text="The last day you could come."
    )

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("doctor") and not data.get("department"):
            raise forms.ValidationError("Choose a doctor or a department.", code="required")
        if data.get("doctor"):
            data["department"] = None  # the doctor is the choice; their department follows
        earliest, latest = data.get("earliest"), data.get("latest")
        if earliest and latest and latest < earliest:
            self.add_error("latest", "The last day cannot be before the first.")
        return data


class DeskEntryForm(EntryForm):
    """The front desk adds a patient from the directory (with or without a login) by number."""

    patient = forms.ModelChoiceField(
        queryset=Patient.objects.all(),
        label="Patient number",
        widget=forms.NumberInput,
        error_messages={"invalid_choice": "No patient in the directory has that number."},
        help_text="The number on the patient's page in the directory.",
    )

    field_order = ["patient", "department", "doctor", "clinic", "earliest", "latest"]


class DeskFilterForm(forms.Form):
    department = forms.ModelChoiceField(
        queryset=Department.objects.order_by("name"), required=False, empty_label="All departments"
    )
    doctor = forms.ModelChoiceField(
        queryset=Doctor.objects.order_by("full_name"), required=False, empty_label="All doctors"
    )
    state = forms.ChoiceField(
        choices=[("", "Still on the list"), *EntryState.choices, ("all", "All")],
        required=False,
    )


class OfferBookingForm(BookingForm):
    """The normal confirm form, for the offered time (which the offer names, not the form)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["start"]
