"""Forms of the waitlist's pages. They parse input; the services decide what is allowed."""

from django import forms
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

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
        label=gettext_lazy("Department"),
        empty_label=gettext_lazy("(the chosen doctor's)"),
        help_text=gettext_lazy("Any doctor of this department, if you choose no doctor below."),
    )
    doctor = forms.ModelChoiceField(
        queryset=Doctor.objects.active().select_related("department").order_by("full_name"),
        required=False,
        label=gettext_lazy("Doctor"),
        empty_label=gettext_lazy("Any doctor of the department"),
    )
    clinic = forms.ModelChoiceField(
        queryset=Clinic.objects.order_by("name"),
        required=False,
        label=gettext_lazy("Clinic"),
        empty_label=gettext_lazy("Any clinic"),
    )
    earliest = forms.DateField(
        label=gettext_lazy("From"),
        widget=DateInput,
        help_text=gettext_lazy("The first day you could come."),
    )
    latest = forms.DateField(
        label=gettext_lazy("Until"),
        widget=DateInput,
        help_text=gettext_lazy("The last day you could come."),
    )

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("doctor") and not data.get("department"):
            raise forms.ValidationError(
                gettext("Choose a doctor or a department."), code="required"
            )
        if data.get("doctor"):
            data["department"] = None  # the doctor is the choice; their department follows
        earliest, latest = data.get("earliest"), data.get("latest")
        if earliest and latest and latest < earliest:
            self.add_error("latest", gettext("The last day cannot be before the first."))
        return data


class DeskEntryForm(EntryForm):
    """The front desk adds a patient from the directory (with or without a login) by number."""

    patient = forms.ModelChoiceField(
        queryset=Patient.objects.all(),
        label=gettext_lazy("Patient number"),
        widget=forms.NumberInput,
        error_messages={
            "invalid_choice": gettext_lazy("No patient in the directory has that number.")
        },
        help_text=gettext_lazy("The number on the patient's page in the directory."),
    )

    field_order = ["patient", "department", "doctor", "clinic", "earliest", "latest"]


class DeskFilterForm(forms.Form):
    department = forms.ModelChoiceField(
        queryset=Department.objects.order_by("name"),
        required=False,
        label=gettext_lazy("Department"),
        empty_label=gettext_lazy("All departments"),
    )
    doctor = forms.ModelChoiceField(
        queryset=Doctor.objects.order_by("full_name"),
        required=False,
        label=gettext_lazy("Doctor"),
        empty_label=gettext_lazy("All doctors"),
    )
    state = forms.ChoiceField(
        choices=[
            ("", gettext_lazy("Still on the list")),
            *EntryState.choices,
            ("all", gettext_lazy("All")),
        ],
        required=False,
        label=pgettext_lazy("of a waitlist entry", "State"),
    )


class OfferBookingForm(BookingForm):
    """The normal confirm form, for the offered time (which the offer names, not the form)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["start"]
