"""Intake questions in the admin, for clinic admins (the only role with permissions on them).

Questions are set up per visit type; the list filters by visit type. An edit changes what is
asked from then on: answers already given keep the text they were given to.
"""

from django import forms
from django.contrib import admin

from accounts.admin_input import CheckedAdminInputMixin
from intake.models import Question


class QuestionAdminForm(forms.ModelForm):
    class Meta:
        model = Question
        fields = ["visit_type", "text", "kind", "choices", "required", "position", "active"]
        widgets = {"choices": forms.Textarea(attrs={"rows": 4})}


class QuestionInline(admin.TabularInline):
    """For the visit type's page, should it take inlines: its questions in order."""

    model = Question
    form = QuestionAdminForm
    extra = 0
    fields = ["position", "text", "kind", "choices", "required", "active"]


@admin.register(Question)
class QuestionAdmin(CheckedAdminInputMixin, admin.ModelAdmin):
    form = QuestionAdminForm
    list_display = ("text", "visit_type", "kind", "required", "position", "active")
    list_filter = ("visit_type", "kind", "required", "active")
    list_select_related = ("visit_type",)
    list_editable = ("position", "active")
    search_fields = ("text",)
    ordering = ("visit_type", "position", "pk")
