"""Admin searches that keep people's details out of addresses.

A search in the admin is a GET (?q=..., and the autocomplete's ?term=...), so whatever it is
given ends up in access logs and browser history. Records about people are found by number
there; an email address is looked up through a form that posts it.
"""

import pytest
from auditlog.models import LogEntry
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from accounts.models import Patient, User
from accounts.tests.factories import PatientFactory
from bookings.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db

NAME = "Zenobia Quartermaine"
EMAIL = "zenobia.quartermaine@example.com"
PHONE = "+919812377645"


@pytest.fixture
def zenobia(db):
    return PatientFactory(with_account=True, full_name=NAME, email=EMAIL, phone=PHONE)


@pytest.fixture
def as_clinic_admin(client, clinic_admin_user):
    client.force_login(clinic_admin_user)
    return client


def found(client, url_name, query):
    response = client.get(reverse(url_name), {"q": query})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


# The login list -----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", [EMAIL, NAME, "Quartermaine", PHONE])
def test_logins_are_not_searched_by_personal_details(as_clinic_admin, zenobia, query):
    assert found(as_clinic_admin, "admin:accounts_user_changelist", query) == []


def test_logins_are_searched_by_number(as_clinic_admin, zenobia):
    login = zenobia.user
    assert found(as_clinic_admin, "admin:accounts_user_changelist", str(login.pk)) == [login]


def test_a_login_is_found_by_email_through_a_post(as_clinic_admin, zenobia):
    response = as_clinic_admin.post(reverse("admin:accounts_user_find"), {"email": EMAIL.upper()})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:accounts_user_change", args=[zenobia.user.pk])


def test_an_unknown_email_goes_back_to_the_list_with_a_message(as_clinic_admin, zenobia):
    response = as_clinic_admin.post(
        reverse("admin:accounts_user_find"), {"email": "nobody@example.com"}, follow=True
    )

    assert response.redirect_chain == [(reverse("admin:accounts_user_changelist"), 302)]
    assert "No login has that email address." in response.content.decode()
    assert "nobody@example.com" not in response.redirect_chain[0][0]


def test_the_email_lookup_needs_a_post(as_clinic_admin):
    assert as_clinic_admin.get(reverse("admin:accounts_user_find")).status_code == 405


def test_the_email_lookup_is_for_those_who_may_see_logins(client, front_desk_user, zenobia):
    client.force_login(front_desk_user)
    response = client.post(reverse("admin:accounts_user_find"), {"email": EMAIL})
    assert response.status_code == 403


def test_the_login_list_offers_the_email_lookup_as_a_post_form(as_clinic_admin, zenobia):
    page = as_clinic_admin.get(reverse("admin:accounts_user_changelist")).content.decode()
    lookup = page[page.index('id="login-lookup"') :]
    form = lookup[: lookup.index("</form>")]
    assert 'method="post"' in form
    assert f'action="{reverse("admin:accounts_user_find")}"' in form
    assert 'name="email"' in form
    assert "csrfmiddlewaretoken" in form


# The audit trail ----------------------------------------------------------------------------------


def entries_about(patient):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Patient), object_pk=str(patient.pk)
    )


@pytest.mark.parametrize("query", [NAME, "Quartermaine", EMAIL])
def test_the_audit_trail_is_not_searched_by_personal_details(as_clinic_admin, zenobia, query):
    assert entries_about(zenobia).exists()
    assert found(as_clinic_admin, "admin:auditlog_logentry_changelist", query) == []


def test_the_audit_trail_is_searched_by_record_number(as_clinic_admin, zenobia):
    results = found(as_clinic_admin, "admin:auditlog_logentry_changelist", str(zenobia.pk))
    assert set(entries_about(zenobia)) <= set(results)
    assert {entry.object_pk for entry in results} == {str(zenobia.pk)}


def test_the_audit_trail_is_searched_by_the_number_of_who_acted(
    as_clinic_admin, zenobia, clinic_admin_user
):
    as_clinic_admin.get(reverse("admin:accounts_patient_change", args=[zenobia.pk]))
    results = found(
        as_clinic_admin, "admin:auditlog_logentry_changelist", str(clinic_admin_user.pk)
    )
    assert any(entry.actor_id == clinic_admin_user.pk for entry in results)


# Autocomplete -------------------------------------------------------------------------------------


PEOPLE = {User, Patient}


def test_no_admin_looks_up_people_by_autocomplete():
    # The autocomplete sends each keystroke to /admin/autocomplete/?term=...: a name or email
    # typed there would be in the address. People are picked by number (raw id) instead.
    for model, model_admin in admin.site._registry.items():
        for name in model_admin.autocomplete_fields:
            related = model._meta.get_field(name).related_model
            assert related not in PEOPLE, f"{model._meta.label}.{name}"


def test_the_autocomplete_for_a_patients_login_is_refused(as_clinic_admin, zenobia):
    response = as_clinic_admin.get(
        reverse("admin:autocomplete"),
        {"app_label": "accounts", "model_name": "patient", "field_name": "user", "term": EMAIL},
    )
    assert response.status_code == 403


def test_a_patients_login_is_chosen_by_number(as_clinic_admin, zenobia):
    page = as_clinic_admin.get(
        reverse("admin:accounts_patient_change", args=[zenobia.pk])
    ).content.decode()
    assert 'class="vForeignKeyRawIdAdminField"' in page
    assert "admin-autocomplete" not in page


# What each search says it does ------------------------------------------------------------------


def claim_of(model_admin):
    """What the help text says the box searches: its first sentence (a second one may point
    elsewhere, as the patient list does to the front desk's search)."""
    return (model_admin.search_help_text or "").split(". ")[0].lower()


@pytest.mark.parametrize(
    "model_admin",
    [model_admin for model_admin in admin.site._registry.values() if model_admin.search_fields],
    ids=lambda model_admin: model_admin.model._meta.label,
)
def test_each_search_help_text_promises_only_what_the_search_does(model_admin):
    claim = claim_of(model_admin)
    fields = [field.lstrip("=^@") for field in model_admin.search_fields]
    exact_only = all(field.startswith("=") for field in model_admin.search_fields)
    if "patient's name" in claim or "patient name" in claim:
        assert any(field.endswith("full_name") and "patient" in field for field in fields)
    if "phone" in claim:
        assert any("phone" in field for field in fields)
    if "email" in claim:
        assert any("email" in field for field in fields)
    if "name" in claim:
        assert not exact_only and any("name" in field for field in fields)


@pytest.mark.parametrize(
    ("url_name", "make"),
    [
        ("admin:accounts_patient_changelist", lambda: PatientFactory(full_name=NAME)),
        (
            "admin:bookings_appointment_changelist",
            lambda: AppointmentFactory(patient=PatientFactory(full_name=NAME)),
        ),
    ],
)
def test_a_search_by_number_finds_the_record_and_by_patient_name_nothing(
    as_clinic_admin, url_name, make
):
    record = make()
    assert found(as_clinic_admin, url_name, str(record.pk)) == [record]
    assert found(as_clinic_admin, url_name, NAME) == []
