"""Admin input that Django's admin itself breaks on, refused before it reaches the database.

For any app's ModelAdmin or inline: `class DoctorAdmin(CheckedAdminInputMixin, admin.ModelAdmin)`.
"""

import datetime as dt

from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import BadRequest, ValidationError

# The admin turns a drill-down year into [1 January, next 1 January) in the site's zone, so the
# year before the calendar's last and the year after its first are the widest it can handle.
YEARS = range(dt.MINYEAR + 1, dt.MAXYEAR)


def _date_drilldown(params, field):
    """The year, month and day of the changelist's date drill-down, or BadRequest if they name no
    real day (Django's admin lets a huge year overflow, and a year 9999 run off the calendar)."""
    parts = [params.get(f"{field}__{part}") for part in ("year", "month", "day")]
    if parts[0] is None:
        return
    try:
        year, month, day = (int(part) if part is not None else 1 for part in parts)
        if year not in YEARS:
            raise ValueError(year)
        dt.date(year, month, day)
    except (ValueError, OverflowError) as error:
        raise BadRequest("No such date.") from error


class KeyCheckingAutocompleteSelect(AutocompleteSelect):
    """An autocomplete that shows a submitted value only if it could be a key of the related model.

    Re-showing a form with a non-numeric or oversized id ("abc" for a doctor) looked the value
    up as it was and broke the page; the form itself already says the choice is not valid.
    """

    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, [v for v in value if self._could_be_key(v)], attr)

    def _could_be_key(self, value):
        target = self.field.target_field
        try:
            key = target.to_python(value)
            target.run_validators(key)  # an integer key's range, for one
        except (ValidationError, TypeError, ValueError):
            return False
        return True


class CheckedAdminInputMixin:
    """Refuses an impossible date drill-down (400) and re-shows an impossible related id in an
    autocomplete as empty (the form's error says why)."""

    def changelist_view(self, request, extra_context=None):
        if self.date_hierarchy:
            _date_drilldown(request.GET, self.date_hierarchy)
        return super().changelist_view(request, extra_context)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = KeyCheckingAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
