"""Integrations' tokens, for clinic admins: create one for a login (shown once, on the page that
answers the form, and kept nowhere but as a digest), list them by prefix, creation and expiry,
revoke (delete) them. Nobody edits a token.

An integration is a login of its own (Users → Add, with the role it needs, typically Front
desk, and no usable password), so that its rights are the role's and its tokens can be revoked
without touching anyone else's.
"""

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils import timezone
from knox.models import AuthToken, get_digest_token
from knox.settings import CONSTANTS

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
            self.fields["user"].help_text = "The integration's own login (or a person's)."


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
