import datetime as dt

from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from accounts.admin_input import CheckedAdminInputMixin
from accounts.audit import AuditedViewsAdminMixin
from accounts.spreadsheets import SafeWriter
from billing.models import Charge, Payment

CSV_COLUMNS = [
    "receipt",
    "recorded_at_utc",
    "kind",
    "mode",
    "fee",
    "gst",
    "total",
    "currency",
    "reference",
    "refund_of",
    "appointment_id",
    "doctor",
    "department",
    "recorded_by",
]


class ReadOnlyLedgerMixin:
    """Ledger rows are written by the billing services only: never added, changed or deleted
    here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Charge)
class ChargeAdmin(CheckedAdminInputMixin, ReadOnlyLedgerMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "doctor",
        "clinic",
        "fee",
        "gst",
        "total",
        "refund_due",
        "created_at",
    )
    list_filter = ("refund_due", "appointment__doctor__department", "appointment__clinic")
    list_select_related = ("appointment__doctor", "appointment__clinic")
    search_fields = ("=appointment__id",)  # no patient names in the address (see PatientAdmin)
    search_help_text = gettext_lazy("Appointment number.")
    date_hierarchy = "created_at"

    @admin.display(description=gettext_lazy("Doctor"), ordering="appointment__doctor__full_name")
    def doctor(self, charge):
        return charge.appointment.doctor

    @admin.display(description=gettext_lazy("Clinic"), ordering="appointment__clinic__name")
    def clinic(self, charge):
        return charge.appointment.clinic


@admin.register(Payment)
class PaymentAdmin(
    CheckedAdminInputMixin, AuditedViewsAdminMixin, ReadOnlyLedgerMixin, admin.ModelAdmin
):
    list_display = (
        "receipt_label",
        "recorded_at",
        "kind",
        "mode",
        "total",
        "doctor_name",
        "recorded_by",
    )
    list_filter = (
        "kind",
        "mode",
        "charge__appointment__doctor__department",
        "charge__appointment__doctor",
        "charge__appointment__clinic",
    )
    list_select_related = ("doctor", "recorded_by")
    search_fields = ("=receipt_number", "reference", "=charge__appointment__id")
    search_help_text = gettext_lazy(
        "Receipt number (digits only), payment reference or appointment number."
    )
    date_hierarchy = "recorded_at"
    ordering = ("-recorded_at",)
    actions = ["export_csv", "refund_selected"]

    @admin.display(description=gettext_lazy("Receipt"), ordering="receipt_number")
    def receipt_label(self, payment):
        return payment.receipt_label

    # Not named `doctor`: the list would show the model's own field of that name instead, which
    # is the same doctor but sorts by id.
    @admin.display(description=gettext_lazy("Doctor"), ordering="doctor__full_name")
    def doctor_name(self, payment):
        return payment.doctor

    @admin.action(description=gettext_lazy("Export the selected rows as CSV"), permissions=["view"])
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="payments-{stamp}.csv"'
        writer = SafeWriter(response)
        writer.writerow(CSV_COLUMNS)
        rows = queryset.select_related(
            "charge__appointment__doctor__department", "refund_of", "recorded_by"
        ).order_by("recorded_at", "pk")
        for payment in rows:
            appointment = payment.charge.appointment
            writer.writerow(
                [
                    payment.receipt_label,
                    payment.recorded_at.astimezone(dt.UTC).isoformat(),
                    payment.kind,
                    payment.mode,
                    payment.fee,
                    payment.gst,
                    payment.total,
                    payment.charge.currency,
                    payment.reference,
                    payment.refund_of.receipt_label if payment.refund_of else "",
                    appointment.pk,
                    appointment.doctor.full_name,
                    appointment.doctor.department.name,
                    payment.recorded_by.email,
                ]
            )
        return response

    @admin.action(description=gettext_lazy("Refund the selected payment…"), permissions=["refund"])
    def refund_selected(self, request, queryset):
        if queryset.count() != 1 or queryset.get().kind != Payment.Kind.PAYMENT:
            self.message_user(
                request,
                gettext("Select exactly one payment (not a refund) to refund."),
                messages.WARNING,
            )
            return None
        return redirect(reverse("billing:refund", kwargs={"pk": queryset.get().pk}))

    def has_refund_permission(self, request):
        return request.user.has_perm("billing.refund_payment")
