from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import (
    AdminPasswordChangeForm,
    AdminUserCreationForm,
    UserChangeForm,
)
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services, two_factor
from accounts.admin_input import CheckedAdminInputMixin
from accounts.audit import AuditedViewsAdminMixin
from accounts.forms import PhoneField
from accounts.models import Patient, User
from accounts.roles import role_label, roles_of


class StaffUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


class StaffUserChangeForm(UserChangeForm):
    phone = PhoneField(required=False)

    class Meta:
        model = User
        fields = "__all__"


class LoginLookupForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Find a login by email address"))


class RevokingPasswordChangeForm(AdminPasswordChangeForm):
    """A password set in the admin ends the login's other credentials, as a change or reset by
    its owner does (its API tokens: whoever held the old password may have made one)."""

    def save(self, commit=True):
        user = super().save(commit=commit)
        if commit:
            services.password_changed(user=user)
        return user


@admin.register(User)
class UserAdmin(CheckedAdminInputMixin, DjangoUserAdmin):
    form = StaffUserChangeForm
    add_form = StaffUserCreationForm
    change_password_form = RevokingPasswordChangeForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (gettext_lazy("Personal details"), {"fields": ("full_name", "phone")}),
        (
            gettext_lazy("Roles and access"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (gettext_lazy("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )
    list_display = (
        "email",
        "number",
        "full_name",
        "role_names",
        "is_staff",
        "is_active",
        "last_login",
        "date_joined",
    )
    list_filter = ("groups", "is_staff", "is_active", "is_superuser")
    # As for patients: the search box is a GET, so it takes the login's number; an email address
    # is looked up with the form beside it, which posts it (find_by_email).
    search_fields = ("=id",)
    search_help_text = gettext_lazy(
        "Login number (digits only). To find a login by email address, use the form below."
    )
    date_hierarchy = "date_joined"
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_urls(self):
        find = self.admin_site.admin_view(require_POST(self.find_by_email))
        return [path("find/", find, name="accounts_user_find"), *super().get_urls()]

    def find_by_email(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = LoginLookupForm(request.POST)
        user = None
        if form.is_valid():
            user = User.objects.filter(email__iexact=form.cleaned_data["email"]).first()
        if user is None:
            messages.warning(request, gettext("No login has that email address."))
            return redirect("admin:accounts_user_changelist")
        return redirect("admin:accounts_user_change", user.pk)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "login_lookup_form": LoginLookupForm(),
            "login_lookup_url": reverse("admin:accounts_user_find"),
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description=gettext_lazy("Number"), ordering="id")
    def number(self, user):
        return user.pk

    actions = ["reset_lost_two_factor"]

    @admin.action(
        description=gettext_lazy(
            "Reset two-factor codes (lost phone): they log in with a password only, "
            "then set up again"
        ),
        permissions=["reset_two_factor"],
    )
    def reset_lost_two_factor(self, request, queryset):
        # Taking away a superuser's second step is a superuser's call, as changing them is.
        if not request.user.is_superuser:
            queryset = queryset.filter(is_superuser=False)
        users = list(queryset)
        for user in users:
            two_factor.reset_two_factor(user=user)
        self.message_user(
            request,
            ngettext(
                "Two-factor codes reset for %(count)s login(s); they were logged out everywhere.",
                "Two-factor codes reset for %(count)s login(s); they were logged out everywhere.",
                len(users),
            )
            % {"count": len(users)},
            messages.SUCCESS,
        )

    def has_reset_two_factor_permission(self, request):
        return request.user.is_superuser or roles_of(request.user).is_clinic_admin

    @admin.display(description=gettext_lazy("Roles"))
    def role_names(self, user):
        return ", ".join(str(role_label(group.name)) for group in user.groups.all()) or "—"

    def has_change_permission(self, request, obj=None):
        # Otherwise a clinic admin could reset a superuser's password and take the account over.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        # Only a superuser may hand out superuser status or individual permissions.
        if not request.user.is_superuser:
            readonly += ["is_superuser", "user_permissions"]
        return readonly


class HasLoginFilter(admin.SimpleListFilter):
    title = gettext_lazy("login")
    parameter_name = "login"

    def lookups(self, request, model_admin):
        return [
            ("yes", gettext("Has a login")),
            ("no", gettext("Walk-in or phone patient (no login)")),
        ]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(user__isnull=self.value() == "no")
        return queryset


@admin.register(Patient)
class PatientAdmin(CheckedAdminInputMixin, AuditedViewsAdminMixin, admin.ModelAdmin):
    list_display = (
        "full_name",
        "number",
        "date_of_birth",
        "age",
        "sex",
        "phone",
        "email",
        "has_account",
        "created_at",
    )
    list_filter = ("sex", HasLoginFilter)
    # Admin searches travel in the address (?q=...), which ends up in logs and browser history,
    # so they take the patient number only; names, phones and emails are searched on the front
    # desk's patient page, which posts them.
    search_fields = ("=id",)
    search_help_text = gettext_lazy(
        "Patient number (digits only). To find a patient by name, phone or email, use "
        "Front desk → Patients."
    )
    date_hierarchy = "created_at"
    # Not an autocomplete: it would send what is typed (a name, an email) in the address.
    raw_id_fields = ("user",)
    readonly_fields = ("created_by", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("full_name", "date_of_birth", "sex")}),
        (gettext_lazy("Contact"), {"fields": ("phone", "email")}),
        (gettext_lazy("Login"), {"fields": ("user",)}),
        (gettext_lazy("Record"), {"fields": ("created_by", "created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if request.user.is_superuser or roles_of(request.user).is_clinic_admin:
            return fields
        # Linking a record to a login hands that login the patient's data: clinic admins only.
        fields.append("user")
        if obj is not None and obj.user_id:
            # Patients with a login keep their own details up to date (as on the desk pages).
            fields += ["full_name", "date_of_birth", "sex", "phone", "email"]
        return fields

    @admin.display(description=gettext_lazy("Number"), ordering="id")
    def number(self, patient):
        return patient.pk

    @admin.display(boolean=True, description=gettext_lazy("Has login"))
    def has_account(self, patient):
        return patient.has_account

    @admin.display(description=gettext_lazy("Age"), ordering="-date_of_birth")
    def age(self, patient):
        return patient.age

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "phone":
            return PhoneField(required=False)
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


# Staff set up and remove their own authenticator and backup codes (accounts.two_factor). The
# stock admin would show every staff member's secret key and unused backup codes to whoever can
# open it, so it is not offered; a clinic admin resets a lost device from the user list instead.
for device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(device_model):
        admin.site.unregister(device_model)
