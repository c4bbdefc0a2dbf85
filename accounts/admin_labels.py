"""Names for admin fields that Django's widgets leave without a label a screen reader can read.

For any app's ModelAdmin or inline: `class TimeOffAdmin(LabelledFieldsMixin, admin.ModelAdmin)`.

- A date-and-time field shows two inputs (date, time) under one <label> that points at neither;
  each input is named after the field: "Starts at: date", "Starts at: time".
- A tabular inline shows its fields in table cells under column headings, with no <label>; each
  field is named after its column ("Weekday"), and so is its autocomplete box
  (static/js/admin-labels.js reads the name from the field); a saved row's delete checkbox is
  "Delete this row".
"""

from django.contrib import admin
from django.contrib.admin.widgets import AdminSplitDateTime, RelatedFieldWidgetWrapper
from django.utils.translation import gettext, pgettext


def _unwrapped(widget):
    """The widget itself, without the add/change links the admin wraps a relation's in."""
    return widget.widget if isinstance(widget, RelatedFieldWidgetWrapper) else widget


def name_widget(formfield, *, in_table):
    """Gives `formfield`'s inputs names of their own, as the module's docstring says."""
    label = str(formfield.label)
    widget = _unwrapped(formfield.widget)
    if isinstance(widget, AdminSplitDateTime):
        date_input, time_input = widget.widgets
        date_input.attrs.setdefault(
            "aria-label", pgettext("a date input", "%(label)s: date") % {"label": label}
        )
        time_input.attrs.setdefault(
            "aria-label", pgettext("a time input", "%(label)s: time") % {"label": label}
        )
    elif in_table:
        widget.attrs.setdefault("aria-label", label)
    return formfield


class LabelledFieldsMixin:
    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if not isinstance(self, admin.TabularInline):
            return formset

        class LabelledFormSet(formset):
            def add_fields(self, form, index):
                super().add_fields(form, index)
                if "DELETE" in form.fields:
                    # The column heading says "Delete?", for a checkbox in each saved row.
                    form.fields["DELETE"].widget.attrs.setdefault(
                        "aria-label", gettext("Delete this row")
                    )

        LabelledFormSet.__name__ = formset.__name__
        return LabelledFormSet

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is None:
            return None
        return name_widget(formfield, in_table=isinstance(self, admin.TabularInline))
