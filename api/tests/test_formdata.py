"""JSON values handed to the portal's Django forms as a browser would post them."""

import pytest
from django import forms
from rest_framework.exceptions import ValidationError

from api.formdata import cleaned, form_data


class ExampleForm(forms.Form):
    when = forms.DateField()
    agreed = forms.BooleanField(required=False)

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("agreed") is False:
            raise forms.ValidationError("Agree first.")
        return cleaned_data


def test_scalars_become_text_and_unknown_fields_are_left_out():
    body = {"a": True, "b": False, "c": 12, "d": 1.5, "e": None, "f": "x", "other": "y"}
    assert form_data(body, fields={"a", "b", "c", "d", "e", "f"}) == {
        "a": "true",
        "b": "",
        "c": "12",
        "d": "1.5",
        "e": None,
        "f": "x",
    }


@pytest.mark.parametrize("value", [[1], {"x": 1}])
def test_lists_and_objects_are_field_errors_not_faults(value):
    with pytest.raises(ValidationError) as caught:
        cleaned(ExampleForm, {"when": value})
    assert "when" in caught.value.detail


def test_a_forms_own_errors_keep_its_words_and_the_whole_forms_go_under_non_field_errors():
    with pytest.raises(ValidationError) as caught:
        cleaned(ExampleForm, {"when": "2026-12-03", "agreed": False})
    assert caught.value.detail == {"non_field_errors": ["Agree first."]}
    assert cleaned(ExampleForm, {"when": "2026-12-03", "agreed": True})["agreed"] is True
