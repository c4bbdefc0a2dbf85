from django import forms
from django.utils.translation import gettext_lazy

from doctors.models import Department


class DoctorFilterForm(forms.Form):
    """The doctor directory's filters, read from the query string."""

    department = forms.ModelChoiceField(
        queryset=Department.objects.order_by("name"),
        required=False,
        empty_label=gettext_lazy("All departments"),
    )
    name = forms.CharField(
        required=False,
        max_length=100,
        label=gettext_lazy("Doctor's name"),
        widget=forms.TextInput(attrs={"type": "search"}),
    )
