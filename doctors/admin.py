from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminTimeWidget
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from accounts.admin_input import CheckedAdminInputMixin
from accounts.admin_labels import LabelledFieldsMixin
from accounts.forms import PhoneField
from doctors.models import (
    Clinic,
    Department,
    Doctor,
    Holiday,
    TimeOff,
    VisitType,
    WorkingHours,
    timezone_choices,
)

# Opening hours and working hours are entered and shown as HH:MM, never with seconds.
HH_MM_TIME_FIELDS = {models.TimeField: {"widget": AdminTimeWidget(format="%H:%M")}}


VISIT_TYPE_INLINE_FIELDS = (
    "name",
    "minutes",
    "fee",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "bookable_online",
    "mode",
    "patients_may_book_series",
    "is_active",
    "position",
)


class DepartmentVisitTypeInline(CheckedAdminInputMixin, LabelledFieldsMixin, admin.TabularInline):
    """The department's visit types, offered by each of its doctors."""

    model = VisitType
    fk_name = "department"
    fields = VISIT_TYPE_INLINE_FIELDS
    extra = 0
    verbose_name = gettext_lazy("visit type of the whole department")
    verbose_name_plural = gettext_lazy("visit types of the whole department")


class DoctorVisitTypeInline(CheckedAdminInputMixin, LabelledFieldsMixin, admin.TabularInline):
    """A doctor's own visit types, offered beside their department's."""

    model = VisitType
    fk_name = "doctor"
    fields = VISIT_TYPE_INLINE_FIELDS
    extra = 0
    verbose_name = gettext_lazy("visit type of this doctor only")
    verbose_name_plural = gettext_lazy("visit types of this doctor only")


@admin.register(Department)
class DepartmentAdmin(CheckedAdminInputMixin, admin.ModelAdmin):
    list_display = ("name", "opens_at", "closes_at", "active_doctors", "updated_at")
    search_fields = ("name",)
    ordering = ("name",)  # the annotated queryset below would otherwise lose the model's order
    readonly_fields = ("created_at", "updated_at")
    formfield_overrides = HH_MM_TIME_FIELDS
    inlines = [DepartmentVisitTypeInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                active_doctor_count=models.Count(
                    "doctors", filter=models.Q(doctors__is_active=True)
                )
            )
        )

    @admin.display(description=gettext_lazy("Active doctors"), ordering="active_doctor_count")
    def active_doctors(self, department):
        return department.active_doctor_count


class ClinicAdminForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=timezone_choices, label=gettext_lazy("Time zone"))
    phone = PhoneField(required=False)

    class Meta:
        model = Clinic
        fields = ["name", "address", "phone", "email", "timezone"]


@admin.register(Clinic)
class ClinicAdmin(CheckedAdminInputMixin, admin.ModelAdmin):
    form = ClinicAdminForm
    list_display = ("name", "timezone", "phone", "email", "updated_at")
    list_filter = ("timezone",)
    search_fields = ("name", "address")
    readonly_fields = ("created_at", "updated_at")


class WorkingHoursInlineForm(forms.ModelForm):
    def _post_clean(self):
        # The formset compares every row of the doctor's week, edits included; comparing one
        # row with the saved versions of the others would refuse valid rearrangements.
        self.instance.overlap_checked_with_siblings = True
        super()._post_clean()


class WorkingHoursFormSet(forms.BaseInlineFormSet):
    """Checks the doctor's whole week as submitted: every row, saved or new, against the others."""

    def clean(self):
        super().clean()
        rows = [
            form.instance
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.instance.starts_at
            and form.instance.ends_at
            and form.instance.weekday is not None
        ]
        for index, row in enumerate(rows):
            if any(row.overlaps(other) for other in rows[index + 1 :]):
                raise ValidationError(
                    gettext("Working hours on %(weekday)s overlap each other.")
                    % {"weekday": row.get_weekday_display()}
                )


class WorkingHoursInline(CheckedAdminInputMixin, LabelledFieldsMixin, admin.TabularInline):
    model = WorkingHours
    form = WorkingHoursInlineForm
    formset = WorkingHoursFormSet
    extra = 1
    autocomplete_fields = ("clinic",)
    formfield_overrides = HH_MM_TIME_FIELDS


class RegistrationStatusFilter(admin.SimpleListFilter):
    title = gettext_lazy("registration")
    parameter_name = "registration"

    def lookups(self, request, model_admin):
        return [("valid", gettext("Valid")), ("expired", gettext("Expired"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "valid":
            return queryset.filter(registration_expires_on__gte=today)
        if self.value() == "expired":
            return queryset.filter(registration_expires_on__lt=today)
        return queryset


@admin.register(Doctor)
class DoctorAdmin(CheckedAdminInputMixin, admin.ModelAdmin):
    list_display = (
        "full_name",
        "department",
        "registration_number",
        "registration_expires_on",
        "registration_valid",
        "consultation_fee",
        "slot_minutes",
        "is_active",
    )
    list_filter = (
        "department",
        ("working_hours__clinic", admin.RelatedOnlyFieldListFilter),
        "is_active",
        RegistrationStatusFilter,
    )
    list_select_related = ("department",)
    # Not the login's email: admin searches (and autocompletes) travel in the address.
    search_fields = ("full_name", "registration_number")
    search_help_text = gettext_lazy("Doctor's name or registration number.")
    autocomplete_fields = ("department",)
    raw_id_fields = ("user",)
    readonly_fields = ("created_at", "updated_at")
    inlines = [WorkingHoursInline, DoctorVisitTypeInline]
    fieldsets = (
        (None, {"fields": ("full_name", "department", "qualifications", "bio", "is_active")}),
        (
            gettext_lazy("Registration"),
            {"fields": ("registration_number", "registration_expires_on")},
        ),
        (gettext_lazy("Consultations"), {"fields": ("consultation_fee", "slot_minutes")}),
        (pgettext_lazy("a person's account on the portal", "Login"), {"fields": ("user",)}),
        (gettext_lazy("Record"), {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(boolean=True, description=gettext_lazy("Registration valid"))
    def registration_valid(self, doctor):
        return doctor.registration_is_valid


@admin.register(WorkingHours)
class WorkingHoursAdmin(CheckedAdminInputMixin, admin.ModelAdmin):
    list_display = ("doctor", "clinic", "weekday", "starts_at", "ends_at")
    list_filter = ("weekday", "clinic", "doctor__department")
    list_select_related = ("doctor", "clinic")
    search_fields = ("doctor__full_name",)
    autocomplete_fields = ("doctor", "clinic")
    formfield_overrides = HH_MM_TIME_FIELDS


@admin.register(Holiday)
class HolidayAdmin(CheckedAdminInputMixin, admin.ModelAdmin):
    list_display = ("date", "name", "clinic_or_all")
    list_filter = ("clinic",)
    list_select_related = ("clinic",)
    search_fields = ("name",)
    date_hierarchy = "date"
    autocomplete_fields = ("clinic",)

    @admin.display(description=gettext_lazy("Clinic"), ordering="clinic__name")
    def clinic_or_all(self, holiday):
        return holiday.clinic or gettext("All clinics")


@admin.register(TimeOff)
class TimeOffAdmin(CheckedAdminInputMixin, LabelledFieldsMixin, admin.ModelAdmin):
    list_display = ("doctor", "starts_at", "ends_at", "reason", "created_at")
    list_filter = ("doctor__department",)
    list_select_related = ("doctor",)
    search_fields = ("doctor__full_name", "reason")
    date_hierarchy = "starts_at"
    autocomplete_fields = ("doctor",)
    readonly_fields = ("created_at",)


@admin.register(VisitType)
class VisitTypeAdmin(CheckedAdminInputMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "offered_by",
        "minutes",
        "fee_or_doctors",
        "buffer_before_minutes",
        "buffer_after_minutes",
        "bookable_online",
        "mode",
        "is_active",
        "position",
    )
    list_filter = ("department", "mode", "bookable_online", "is_active")
    list_select_related = ("department", "doctor")
    search_fields = ("name", "department__name", "doctor__full_name")
    search_help_text = gettext_lazy("Visit type, department or doctor.")
    autocomplete_fields = ("department", "doctor")
    fieldsets = (
        (None, {"fields": ("name", "department", "doctor", "position", "is_active")}),
        (
            gettext_lazy("Length and price"),
            {"fields": ("minutes", "buffer_before_minutes", "buffer_after_minutes", "fee")},
        ),
        (
            gettext_lazy("Booking"),
            {"fields": ("bookable_online", "mode", "patients_may_book_series")},
        ),
    )

    @admin.display(description=gettext_lazy("Offered by"), ordering="department__name")
    def offered_by(self, visit_type):
        return visit_type.department or visit_type.doctor

    @admin.display(description=gettext_lazy("Fee"))
    def fee_or_doctors(self, visit_type):
        return visit_type.fee if visit_type.fee is not None else gettext("The doctor's fee")
