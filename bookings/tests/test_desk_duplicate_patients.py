"""Adding a patient the directory may already hold: the desk is warned, with a link to each
matching record, and may still add them on purpose (issue 18, item 5). A match is the same
name (letter case and spacing aside) and the same date of birth or the same phone."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from accounts.models import Patient
from accounts.tests.factories import PatientFactory
from accounts.tests.pages import page_text, read_page

pytestmark = pytest.mark.django_db

NEW = reverse("desk:patient_new")


@pytest.fixture
def existing():
    return PatientFactory(
        full_name="Asha Rao",
        date_of_birth=dt.date(1980, 5, 1),
        phone="+919800000001",
        email="asha@example.com",
    )


@pytest.fixture
def desk(client, front_desk_user):
    client.force_login(front_desk_user)
    return client


def details(**overrides):
    data = {
        "full_name": "asha  RAO",
        "date_of_birth": "1980-05-01",
        "sex": "female",
        "phone": "+919811111111",
        "email": "",
    }
    data.update(overrides)
    return data


def patient_link(patient):
    return reverse("desk:patient", kwargs={"pk": patient.pk})


@pytest.mark.parametrize(
    "overrides",
    [{}, {"date_of_birth": "1990-01-01", "phone": "+919800000001"}],
    ids=["same-name-and-birthday", "same-name-and-phone"],
)
def test_a_likely_duplicate_is_warned_about_with_a_link_and_not_yet_added(
    desk, existing, overrides
):
    response = desk.post(NEW, details(**overrides))

    assert response.status_code == 200
    assert Patient.objects.count() == 1
    assert patient_link(existing) in response.content.decode()
    page = read_page(response)
    assert any("already" in error for error in page.general_errors())
    content = response.content.decode()
    checkbox = re.search(r'<input type="checkbox" name="add_anyway"[^>]*>', content)
    assert checkbox and 'id="id_add_anyway"' in checkbox.group(0)  # the way to add them anyway
    assert "Asha Rao" in page_text(response)


def test_the_desk_can_add_a_namesake_on_purpose(desk, existing):
    response = desk.post(NEW, details(add_anyway="on"))

    added = Patient.objects.exclude(pk=existing.pk).get()
    assert response.status_code == 302
    assert response["Location"] == patient_link(added)
    assert added.date_of_birth == existing.date_of_birth


@pytest.mark.parametrize(
    "overrides",
    [{"full_name": "Asha Rani"}, {"date_of_birth": "1990-01-01"}],
    ids=["other-name", "other-birthday-and-phone"],
)
def test_no_warning_when_only_part_matches(desk, existing, overrides):
    response = desk.post(NEW, details(**overrides))
    assert response.status_code == 302
    assert Patient.objects.count() == 2


def test_the_warning_keeps_the_way_back_to_the_booking(desk, existing):
    next_url = reverse("desk:book")
    response = desk.post(f"{NEW}?next={next_url}", details(next=next_url))
    assert response.status_code == 200
    assert f'name="next" value="{next_url}"' in response.content.decode()

    confirmed = desk.post(f"{NEW}?next={next_url}", details(next=next_url, add_anyway="on"))
    assert confirmed.status_code == 302
    assert confirmed["Location"].startswith(next_url)


def test_editing_a_patient_is_not_warned_about_the_patient_themselves(desk, existing):
    existing_walk_in = existing
    response = desk.post(
        reverse("desk:patient_edit", kwargs={"pk": existing_walk_in.pk}),
        details(full_name="Asha Rao", phone="+919800000001", email="asha@example.com"),
    )
    assert response.status_code == 302
    assert Patient.objects.count() == 1
