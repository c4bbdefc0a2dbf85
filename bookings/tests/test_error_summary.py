"""Each error of a form shows once: the error summary at the top lists the form's own errors
and links to each field in error; crispy no longer repeats the form's own errors above the
fields (it showed every non-field error a second time)."""

import re
from pathlib import Path

import pytest
from django import forms
from django.conf import settings
from django.template import Context, Template
from django.urls import reverse

from accounts.tests.pages import read_page
from billing.tests.factories import ChargeFactory

pytestmark = pytest.mark.django_db

WHOLE_FORM_BY_CRISPY = re.compile(r"\{\{\s*\w+\|crispy\s*\}\}")


class OneRuleForm(forms.Form):
    amount = forms.DecimalField()

    def clean(self):
        raise forms.ValidationError("The whole form says no.")


def test_crispy_does_not_repeat_the_forms_own_errors():
    form = OneRuleForm({"amount": "5"})
    assert not form.is_valid()
    rendered = Template("{% load crispy_forms_tags %}{{ form|crispy }}").render(
        Context({"form": form})
    )
    assert "The whole form says no." not in rendered


def test_the_summary_shows_a_forms_own_error_once(client, front_desk_user):
    charge = ChargeFactory()
    client.force_login(front_desk_user)

    response = client.post(
        reverse("billing:record", kwargs={"appointment_pk": charge.appointment_id}),
        {"amount": "1000.00", "mode": "cash"},
    )

    assert response.content.decode().count("That is more than is due.") == 1
    assert read_page(response).general_errors() == [
        "That is more than is due. INR 590.00 is left to pay."
    ]


def test_the_summary_still_links_each_field_error_to_its_field(client, front_desk_user):
    charge = ChargeFactory()
    client.force_login(front_desk_user)

    response = client.post(
        reverse("billing:record", kwargs={"appointment_pk": charge.appointment_id}),
        {"amount": "", "mode": "cash"},
    )

    page = read_page(response)
    assert [href for href, _ in page.error_summary] == ["#id_amount"]
    assert "id_amount" in page.ids


def test_every_page_that_renders_a_whole_form_by_crispy_has_the_summary():
    """The form's own errors now show only in the summary, so a form without it would hide them."""
    templates = Path(settings.BASE_DIR, "templates")
    missing = [
        str(path.relative_to(templates))
        for path in templates.rglob("*.html")
        if WHOLE_FORM_BY_CRISPY.search(path.read_text())
        and "_partials/form_errors.html" not in path.read_text()
    ]
    assert missing == []
