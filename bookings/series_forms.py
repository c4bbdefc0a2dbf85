"""Forms of the recurring series pages (bookings.series_views). They parse; the services decide."""

from django import forms
from django.core.validators import MaxValueValidator

from bookings.forms import BookingForm, SlotStartField
from bookings.models import SeriesUnit
from bookings.series import SeriesRule, max_occurrences


class SeriesForm(BookingForm):
    """The rule (every N days or weeks, a count or an end date) and what each visit is for. The
    first time (`start`) travels in the page's address, as on the confirm step."""

    every = forms.IntegerField(
        label="Every",
        min_value=1,
        max_value=52,
        initial=1,
        error_messages={
            "required": "Say how often: every how many days or weeks.",
        },
    )
    unit = forms.ChoiceField(label="Days or weeks", choices=SeriesUnit.choices, initial="weeks")
    ends = forms.ChoiceField(
        label="Ends",
        choices=[("count", "After a number of appointments"), ("until", "On a date")],
        initial="count",
        widget=forms.RadioSelect,
    )
    count = forms.IntegerField(label="Number of appointments", min_value=1, required=False)
    until = forms.DateField(
        label="Last date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["start"].required = False  # in the address; the view reads it from there
        limit = max_occurrences()
        self.fields["count"].validators.append(
            MaxValueValidator(limit, message=f"A series has at most {limit} appointments.")
        )
        self.fields["count"].help_text = f"At most {limit}, the first one included."
        self.order_fields(
            ["every", "unit", "ends", "count", "until", "appointment_type", "payment_mode"]
        )

    def clean(self):
        cleaned = super().clean()
        ends = cleaned.get("ends")
        if ends == "count" and cleaned.get("count") is None and "count" not in self.errors:
            self.add_error("count", "Say how many appointments the series has.")
        if ends == "until":
            until = cleaned.get("until")
            if until is None and "until" not in self.errors:
                self.add_error("until", "Give the date of the last appointment.")
            elif until is not None and not 1900 <= until.year <= 2999:
                self.add_error("until", "Enter a date between the years 1900 and 2999.")
        return cleaned

    def rule(self):
        data = self.cleaned_data
        by_count = data["ends"] == "count"
        return SeriesRule(
            every=data["every"],
            unit=data["unit"],
            count=data["count"] if by_count else None,
            until=None if by_count else data["until"],
        )


class SeriesStartsField(forms.Field):
    """The times ticked on the preview: slot tokens, each read as SlotStartField reads one."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if not value:
            return []
        one = SlotStartField()
        return sorted({one.clean(token) for token in value})


class SeriesChoiceForm(forms.Form):
    take = SeriesStartsField(
        required=True,
        error_messages={"required": "Tick at least one time to book."},
    )

    def clean_take(self):
        starts = self.cleaned_data["take"]
        limit = max_occurrences()
        if len(starts) > limit:
            raise forms.ValidationError(f"A series has at most {limit} appointments.")
        return starts
