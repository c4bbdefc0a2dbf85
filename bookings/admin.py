import datetime as dt

from django.contrib import admin, messages
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_lazy, ngettext

from accounts.admin_input import CheckedAdminInputMixin
from accounts.audit import AuditedViewsAdminMixin
from accounts.spreadsheets import SafeWriter
from bookings import services
from bookings.forms import DeskCancelForm
from bookings.models import Appointment, AppointmentSeries, SeriesLink, SlotHold, Status

REPORTS_PERMISSION = "bookings.view_reports"

# What the export carries: when, with whom, where and how it went. No patient, no contact
# details, no reason for the visit: the file leaves the portal and must hold no health data.
EXPORT_COLUMNS = [
    "id",
    "start_clinic_time",
    "doctor",
    "department",
    "clinic",
    "status",
    "type",
    "payment_mode",
    "created_at_utc",
]
# How many refused appointments a message names before it just counts the rest.
NAMED_IN_MESSAGE = 10


def _label(appointment):
    start = date_format(appointment.local_start(), "j M Y H:i")
    return f"#{appointment.pk} {appointment.doctor} {start}"


def _refusals(refused):
    named = "; ".join(f"{_label(a)}: {error}" for a, error in refused[:NAMED_IN_MESSAGE])
    more = len(refused) - NAMED_IN_MESSAGE
    if more <= 0:
        return named
    return named + ngettext("; and %(more)s more.", "; and %(more)s more.", more) % {"more": more}


@admin.register(Appointment)
class AppointmentAdmin(CheckedAdminInputMixin, AuditedViewsAdminMixin, admin.ModelAdmin):
    """Appointments for the back office to look up. Every change of an appointment goes through
    the booking services (and their rules), so the admin form itself edits nothing; the actions
    call the same services as the front desk's pages."""

    list_display = (
        "local_start_display",
        "doctor",
        "department",
        "clinic",
        "patient",
        "appointment_type",
        "payment_mode",
        "status",
    )
    list_filter = ("status", "clinic", "doctor__department", "appointment_type", "payment_mode")
    list_select_related = ("doctor__department", "clinic", "patient")
    # No patient names or phones: admin searches travel in the address (see PatientAdmin).
    search_fields = ("=id", "doctor__full_name")
    search_help_text = gettext_lazy("Appointment number or doctor's name.")
    date_hierarchy = "start"
    ordering = ("-start",)
    actions = ["mark_no_show", "cancel_with_reason", "export_csv"]
    fieldsets = (
        (None, {"fields": ("patient", "doctor", "clinic", "start", "end", "status")}),
        (gettext_lazy("Visit"), {"fields": ("appointment_type", "payment_mode", "reason")}),
        (
            gettext_lazy("History"),
            {
                "fields": (
                    "created_by",
                    "created_at",
                    "updated_at",
                    "checked_in_at",
                    "completed_at",
                    "no_show_at",
                    "cancelled_at",
                    "cancelled_by",
                    "cancelled_via",
                    "cancellation_reason",
                    "rescheduled_from",
                )
            },
        ),
        (
            gettext_lazy("Attendance confirmation"),
            {
                "fields": (
                    "attendance_confirmed_at",
                    "attendance_confirmed_via",
                    "attendance_confirmed_by",
                )
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # history is kept; a mistaken booking is cancelled instead

    def has_reports_permission(self, request):
        return request.user.has_perm(REPORTS_PERMISSION)

    @admin.display(description=gettext_lazy("Starts (clinic time)"), ordering="start")
    def local_start_display(self, appointment):
        return date_format(appointment.local_start(), "j M Y H:i")

    @admin.display(description=gettext_lazy("Department"), ordering="doctor__department__name")
    def department(self, appointment):
        return appointment.doctor.department

    # Actions -------------------------------------------------------------------------------------

    def _selected(self, queryset):
        return queryset.select_related("doctor", "clinic").order_by("start", "pk")

    @admin.action(
        description=gettext_lazy("Mark the selected appointments as no-shows"),
        permissions=["change"],
    )
    def mark_no_show(self, request, queryset):
        now = timezone.now()
        marked, refused = 0, []
        for appointment in self._selected(queryset):
            try:
                services.mark_no_show(appointment=appointment, by=request.user, now=now)
            except services.BookingError as error:
                refused.append((appointment, error))
            else:
                marked += 1
        if marked:
            self.message_user(
                request,
                ngettext(
                    "Marked %(count)s appointment(s) as no-shows.",
                    "Marked %(count)s appointment(s) as no-shows.",
                    marked,
                )
                % {"count": marked},
                messages.SUCCESS,
            )
        if refused:
            self.message_user(
                request,
                ngettext(
                    "%(count)s appointment(s) not marked as no-shows: %(reasons)s",
                    "%(count)s appointment(s) not marked as no-shows: %(reasons)s",
                    len(refused),
                )
                % {"count": len(refused), "reasons": _refusals(refused)},
                messages.WARNING,
            )

    @admin.action(
        description=gettext_lazy("Cancel the selected appointments…"), permissions=["change"]
    )
    def cancel_with_reason(self, request, queryset):
        """First a page that lists the selection and asks why; its form posts back here."""
        confirmed = "confirm" in request.POST
        form = DeskCancelForm(request.POST if confirmed else None)
        if confirmed and form.is_valid():
            self._cancel(request, queryset, form.cleaned_data["reason"])
            return None  # back to the change list, with the messages
        now = timezone.now()
        appointments = list(self._selected(queryset).select_related("patient"))
        cancellable = [a for a in appointments if a.status == Status.BOOKED and a.start > now]
        return TemplateResponse(
            request,
            "admin/bookings/appointment/cancel_with_reason.html",
            {
                **self.admin_site.each_context(request),
                "title": gettext("Cancel appointments"),
                "opts": self.model._meta,
                "form": form,
                "appointments": appointments,
                "cancellable": cancellable,
                "not_cancellable": [a for a in appointments if a not in cancellable],
                "action_name": "cancel_with_reason",
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "media": self.media,
            },
        )

    def _cancel(self, request, queryset, reason):
        now = timezone.now()
        cancelled, refused = 0, []
        for appointment in self._selected(queryset):
            try:
                services.cancel_appointment(
                    appointment=appointment, by=request.user, reason=reason, now=now
                )
            except services.BookingError as error:
                refused.append((appointment, error))
            else:
                cancelled += 1
        if cancelled:
            self.message_user(
                request,
                ngettext(
                    "Cancelled %(count)s appointment(s).",
                    "Cancelled %(count)s appointment(s).",
                    cancelled,
                )
                % {"count": cancelled},
                messages.SUCCESS,
            )
        if refused:
            self.message_user(
                request,
                ngettext(
                    "%(count)s appointment(s) not cancelled: %(reasons)s",
                    "%(count)s appointment(s) not cancelled: %(reasons)s",
                    len(refused),
                )
                % {"count": len(refused), "reasons": _refusals(refused)},
                messages.WARNING,
            )

    @admin.action(
        description=gettext_lazy("Export the selected appointments as CSV"), permissions=["reports"]
    )
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="appointments-{stamp}.csv"'
        writer = SafeWriter(response)
        writer.writerow(EXPORT_COLUMNS)
        rows = (
            queryset.select_related("doctor__department", "clinic")
            .order_by("start", "pk")
            .iterator(chunk_size=2000)
        )
        for appointment in rows:
            writer.writerow(
                [
                    appointment.pk,
                    appointment.local_start().isoformat(timespec="minutes"),
                    appointment.doctor.full_name,
                    appointment.doctor.department.name,
                    appointment.clinic.name,
                    appointment.status,
                    appointment.appointment_type,
                    appointment.payment_mode,
                    appointment.created_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
                ]
            )
        return response


@admin.register(SlotHold)
class SlotHoldAdmin(CheckedAdminInputMixin, AuditedViewsAdminMixin, admin.ModelAdmin):
    """Times kept for someone for a few minutes, for the front desk to see why a time is not on
    offer, and to let one go (a patient who rang off, an integration that never came back).
    Holds are made and consumed by the booking services only: nothing is added or edited here."""

    list_display = (
        "local_start_display",
        "doctor",
        "clinic",
        "patient",
        "purpose",
        "held_by",
        "expires_display",
        "is_live_display",
    )
    list_filter = ("purpose", "clinic")
    list_select_related = ("doctor", "clinic", "patient", "held_by")
    # Doctors' names only: patient names would travel in the address (see PatientAdmin).
    search_fields = ("doctor__full_name",)
    search_help_text = gettext_lazy("Doctor's name.")
    ordering = ("start",)
    actions = ["release"]
    # The token is the holder's key to the time: staff release a hold, they never need its key.
    fields = (
        "doctor",
        "clinic",
        "start",
        "end",
        "patient",
        "purpose",
        "held_by",
        "created_at",
        "expires_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # letting a hold go is the release action, through the service

    def has_release_permission(self, request):
        return request.user.has_perm("bookings.release_slothold")

    @admin.display(description=gettext_lazy("Starts (clinic time)"), ordering="start")
    def local_start_display(self, hold):
        return date_format(hold.local_start(), "j M Y H:i")

    @admin.display(description=gettext_lazy("Kept until (clinic time)"), ordering="expires_at")
    def expires_display(self, hold):
        return date_format(hold.local_expires_at(), "j M Y H:i")

    @admin.display(description=gettext_lazy("Live"), boolean=True)
    def is_live_display(self, hold):
        return hold.is_live(timezone.now())

    @admin.action(description=gettext_lazy("Release the selected holds"), permissions=["release"])
    def release(self, request, queryset):
        released = 0
        for hold in queryset.select_related("patient"):
            services.release_hold(hold=hold, by=request.user)
            released += 1
        self.message_user(
            request,
            ngettext(
                "Released %(count)s hold(s): those times are free again.",
                "Released %(count)s hold(s): those times are free again.",
                released,
            )
            % {"count": released},
            messages.SUCCESS,
        )


class SeriesLinkInline(admin.TabularInline):
    """The series' appointments, each a link to its own page (where it is cancelled or moved)."""

    model = SeriesLink
    fields = ("appointment",)
    readonly_fields = ("appointment",)
    extra = 0
    can_delete = False
    show_change_link = False
    verbose_name = gettext_lazy("appointment of the series")
    verbose_name_plural = gettext_lazy("appointments of the series")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("appointment__patient", "appointment__doctor", "appointment__clinic")
        )

    def has_view_permission(self, request, obj=None):
        # The links are part of the series: whoever may see the series sees its appointments.
        return request.user.has_perm("bookings.view_appointmentseries")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AppointmentSeries)
class AppointmentSeriesAdmin(AuditedViewsAdminMixin, admin.ModelAdmin):
    """Recurring series as booked (bookings.series): the rule asked for and the appointments it
    made. Series are booked and cancelled on the front desk's pages, where every rule of a
    booking applies; here they are only read."""

    list_display = ("__str__", "patient", "doctor", "clinic", "rule_display", "created_by")
    list_filter = ("clinic",)
    list_select_related = ("patient", "doctor", "clinic", "created_by")
    # Doctors' names only: patient names would travel in the address (see PatientAdmin).
    search_fields = ("doctor__full_name",)
    search_help_text = gettext_lazy("Doctor's name.")
    ordering = ("-created_at",)
    fields = ("patient", "doctor", "clinic", "every", "unit", "count", "until", "created_by")
    readonly_fields = (*fields, "created_at")
    inlines = [SeriesLinkInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # cancelling is per appointment, through the desk's pages

    @admin.display(description=gettext_lazy("Repeats"))
    def rule_display(self, series):
        unit = series.get_unit_display().lower()
        if series.count is not None:
            return gettext("every %(every)s %(unit)s, %(count)s times") % {
                "every": series.every,
                "unit": unit,
                "count": series.count,
            }
        return gettext("every %(every)s %(unit)s, until %(until)s") % {
            "every": series.every,
            "unit": unit,
            "until": series.until.isoformat(),
        }
