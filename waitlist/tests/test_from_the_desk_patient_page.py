"""The front desk adds a directory patient to the waitlist from the patient's own page."""

import re

import pytest
from django.urls import reverse

from accounts.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def test_the_patient_page_links_to_the_waitlist_form_with_the_patient_chosen(
    client, front_desk_user
):
    walk_in = PatientFactory(full_name="Ravi Kumar")
    client.force_login(front_desk_user)

    page = client.get(reverse("desk:patient", kwargs={"pk": walk_in.pk})).content.decode()
    link = f"{reverse('waitlist:desk_add')}?patient={walk_in.pk}"
    assert re.search(rf'<a [^>]*href="{re.escape(link)}"[^>]*>Add to the waitlist</a>', page)

    form = client.get(link)
    assert form.status_code == 200
    assert form.context["form"].initial["patient"] == str(walk_in.pk)
