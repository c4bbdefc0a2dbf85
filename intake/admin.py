"""Intake questions in the admin, for clinic admins (the only role with permissions on them).

Questions are set up on their visit type's page (an inline this app adds to doctors' VisitType
admin, which may not import intake) and in a list of their own that filters by visit type. An
edit changes what is asked from then on: answers already given keep the text they were given to.
"""

from django import forms
from django.contrib import admin

from accounts.admin_input import CheckedAdminInputMixin
from accounts.admin_labels import LabelledFieldsMixin
from doctors.models import VisitType
from intake.models import Question


class QuestionAdminForm(forms.ModelForm):
    class Meta:
        model = Question
        fields = ["visit_type", "text", "kind", "choices", "required", "position", "active"]
        widgets = {"choices": forms.Textarea(attrs={"rows": 4})}


class QuestionInline(CheckedAdminInputMixin, LabelledFieldsMixin, admin.TabularInline):
    """The visit type's questions, in the order they are asked, on its page."""

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


def add_questions_to_visit_type_admin(site=admin.site):
    """doctors registers VisitType's admin first (INSTALLED_APPS order); its page gains the
    questions here."""
    visit_type_admin = site._registry.get(VisitType)
    if visit_type_admin is not None and QuestionInline not in visit_type_admin.inlines:
        visit_type_admin.inlines = [*visit_type_admin.inlines, QuestionInline]


add_questions_to_visit_type_admin()
