"""Integrations' tokens, for clinic admins: create one for a login (shown once, on the page that
answers the form, and kept nowhere but as a digest), list them by prefix, creation and expiry,
revoke (delete) them. Nobody edits a token.

An integration is a login of its own (Users → Add, with the role it needs, typically Front
desk, and no usable password), so that its rights are the role's and its tokens can be revoked
without touching anyone else's. Only such logins get a token here: one for a person's login
(a patient's, a doctor's, a member of staff's) would let whoever holds it act as that person
without their password or their second factor; people get their own tokens by logging in
(POST /api/v1/auth/token/). Each token made here is in the audit trail: who made it, for which
login (never the token's text).
"""

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone
from knox.models import AuthToken, get_digest_token
from knox.settings import CONSTANTS

from accounts.audit import record_event
from accounts.models import Patient
from doctors.models import Doctor

NOT_AN_INTEGRATION = (
    "A token can be made here only for an integration's login: active, with no usable "
    "password, not a superuser, and linked to no patient record and no doctor. People get "
    "their own tokens by logging in to the API."
)

# knox registers a stock admin that lists digests and shows a new token in a message (stored in
# the session until shown); this one replaces it.
if admin.site.is_registered(AuthToken):
    admin.site.unregister(AuthToken)


class TokenCreateForm(forms.ModelForm):
    valid_days = forms.IntegerField(
        label="Valid for (days)",
        min_value=0,
        max_value=3650,
        help_text="0: until revoked.",
    )

    class Meta:
        model = AuthToken
        fields = ["user"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A token's own page shows it read-only, without these fields.
        if "valid_days" in self.fields:
            self.fields["valid_days"].initial = settings.API_INTEGRATION_TOKEN_DAYS
        if "user" in self.fields:
            self.fields["user"].queryset = self.fields["user"].queryset.filter(is_active=True)
            self.fields["user"].help_text = (
                "The integration's own login: active, no usable password, not a superuser, "
                "linked to no patient record and no doctor."
            )

    def clean_user(self):
        user = self.cleaned_data["user"]
        if not is_integration_login(user):
            raise forms.ValidationError(NOT_AN_INTEGRATION, code="not_an_integration")
        return user


def is_integration_login(user):
    return (
        user.is_active
        and not user.is_superuser
        and not user.has_usable_password()
        and not Patient.objects.filter(user=user).exists()
        and not Doctor.objects.filter(user=user).exists()
    )


@admin.register(AuthToken)
class TokenAdmin(admin.ModelAdmin):
    form = TokenCreateForm
    list_display = ["prefix", "user", "created", "expiry"]
    list_select_related = ["user"]
    ordering = ["-created"]
    raw_id_fields = ["user"]
    fields = ["user", "valid_days"]
    readonly_fields = []

    @admin.display(description="Token prefix", ordering="token_key")
    def prefix(self, token):
        return f"{token.token_key}…"

    def has_change_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["user", "valid_days"]
        return ["prefix", "user", "created", "expiry"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["prefix", "user", "created", "expiry"]

    def save_model(self, request, obj, form, change):
        digest, token = get_digest_token()
        obj.digest = digest
        obj.token_key = token[: CONSTANTS.TOKEN_KEY_LENGTH]
        days = form.cleaned_data["valid_days"]
        obj.expiry = timezone.now() + dt.timedelta(days=days) if days else None
        obj.save()
        record_event(
            obj.user,
            "API token created",
            created_by=request.user.pk,
            login=obj.user.pk,
            expiry=obj.expiry.isoformat() if obj.expiry else None,
        )
        # Only for the answer to this request: the token itself is kept nowhere.
        request._new_api_token = token

    def response_add(self, request, obj, post_url_continue=None):
        token = request._new_api_token
        return TemplateResponse(
            request,
            "admin/api/token_created.html",
            {
                **self.admin_site.each_context(request),
                "title": "Token created",
                "token": token,
                "prefix": token[: CONSTANTS.TOKEN_KEY_LENGTH],
                "opts": self.model._meta,
                "token_user": obj.user,
                "expiry": obj.expiry,
                "now": timezone.now(),
            },
        )
