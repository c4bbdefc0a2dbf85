"""Forms of the recurring series pages (bookings.series_views). They parse; the services decide."""

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext, gettext_lazy

from bookings.forms import BookingForm, SlotStartField
from bookings.models import SeriesUnit
from bookings.series import SeriesRule, max_occurrences


def _at_most(limit):
    # Formatted here: the validator would read any "%" left in its message as a placeholder.
    return gettext("A series has at most %(limit)s appointments.") % {"limit": limit}


class SeriesForm(BookingForm):
    """The rule (every N days or weeks, a count or an end date) and what each visit is for. The
    first time (`start`) travels in the page's address, as on the confirm step."""

    every = forms.IntegerField(
        label=gettext_lazy("Every"),
        min_value=1,
        max_value=52,
        initial=1,
        error_messages={
            "required": gettext_lazy("Say how often: every how many days or weeks."),
        },
    )
    unit = forms.ChoiceField(
        label=gettext_lazy("Days or weeks"), choices=SeriesUnit.choices, initial="weeks"
    )
    ends = forms.ChoiceField(
        label=gettext_lazy("Ends"),
        choices=[
            ("count", gettext_lazy("After a number of appointments")),
            ("until", gettext_lazy("On a date")),
        ],
        initial="count",
        widget=forms.RadioSelect,
    )
    count = forms.IntegerField(
        label=gettext_lazy("Number of appointments"), min_value=1, required=False
    )
    until = forms.DateField(
        label=gettext_lazy("Last date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["start"].required = False  # in the address; the view reads it from there
        limit = max_occurrences()
        self.fields["count"].validators.append(MaxValueValidator(limit, message=_at_most(limit)))
        self.fields["count"].help_text = gettext("At most %(limit)s, the first one included.") % {
            "limit": limit
        }
        self.order_fields(
            ["every", "unit", "ends", "count", "until", "appointment_type", "payment_mode"]
        )

    def clean(self):
        cleaned = super().clean()
        ends = cleaned.get("ends")
        if ends == "count" and cleaned.get("count") is None and "count" not in self.errors:
            self.add_error("count", gettext("Say how many appointments the series has."))
        if ends == "until":
            until = cleaned.get("until")
            if until is None and "until" not in self.errors:
                self.add_error("until", gettext("Give the date of the last appointment."))
            elif until is not None and not 1900 <= until.year <= 2999:
                self.add_error("until", gettext("Enter a date between the years 1900 and 2999."))
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
        error_messages={"required": gettext_lazy("Tick at least one time to book.")},
    )

    def clean_take(self):
        starts = self.cleaned_data["take"]
        limit = max_occurrences()
        if len(starts) > limit:
            raise forms.ValidationError(_at_most(limit))
        return starts
