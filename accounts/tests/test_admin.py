"""The patient directory and logins in the admin: columns, filters and search staff rely on."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

PATIENTS = reverse("admin:accounts_patient_changelist")


@pytest.mark.parametrize("staff", ["front_desk_user", "clinic_admin_user"])
def test_patient_directory_filters_by_having_a_login(client, request, staff):
    client.force_login(request.getfixturevalue(staff))
    with_login = PatientFactory(with_account=True)
    walk_in = PatientFactory()
    assert list(client.get(PATIENTS, {"login": "yes"}).context["cl"].result_list) == [with_login]
    assert list(client.get(PATIENTS, {"login": "no"}).context["cl"].result_list) == [walk_in]


def test_patient_directory_search_takes_the_patient_number_not_personal_details(
    client, front_desk_user
):
    # Admin searches go in the address; personal details are searched on the desk's POST page.
    client.force_login(front_desk_user)
    wanted = PatientFactory(phone="+919811112222")
    PatientFactory(phone="+919833334444")
    assert list(client.get(PATIENTS, {"q": str(wanted.pk)}).context["cl"].result_list) == [wanted]
    assert list(client.get(PATIENTS, {"q": "+919811112222"}).context["cl"].result_list) == []


def test_front_desk_cannot_link_a_patient_record_to_a_login(client, front_desk_user, doctor_user):
    client.force_login(front_desk_user)
    walk_in = PatientFactory(phone="+919811112222")
    url = reverse("admin:accounts_patient_change", args=[walk_in.pk])
    data = {
        "full_name": walk_in.full_name,
        "date_of_birth": walk_in.date_of_birth.isoformat(),
        "sex": walk_in.sex,
        "phone": walk_in.phone,
        "email": walk_in.email,
        "user": doctor_user.pk,
    }
    client.post(url, data)
    walk_in.refresh_from_db()
    assert walk_in.user is None


def test_front_desk_cannot_edit_the_details_of_a_patient_with_a_login(
    client, front_desk_user, patient_user
):
    client.force_login(front_desk_user)
    patient = patient_user.patient
    url = reverse("admin:accounts_patient_change", args=[patient.pk])
    client.post(url, {"full_name": "Someone Else", "user": ""})
    patient.refresh_from_db()
    assert patient.full_name != "Someone Else"
    assert patient.user == patient_user


def test_clinic_admins_may_link_a_patient_record_to_a_login(client, clinic_admin_user):
    client.force_login(clinic_admin_user)
    response = client.get(reverse("admin:accounts_patient_change", args=[PatientFactory().pk]))
    assert 'name="user"' in response.content.decode()


def test_patient_directory_shows_age(client, front_desk_user):
    client.force_login(front_desk_user)
    today = timezone.localdate()
    PatientFactory(date_of_birth=today.replace(year=today.year - 40) - dt.timedelta(days=1))
    response = client.get(PATIENTS)
    assert '<td class="field-age">40</td>' in response.content.decode()


def test_patient_record_fields_are_read_only(client, front_desk_user):
    client.force_login(front_desk_user)
    patient = PatientFactory(created_by=UserFactory())
    response = client.get(reverse("admin:accounts_patient_change", args=[patient.pk]))
    form = response.context["adminform"].form
    for field in ("created_by", "created_at", "updated_at"):
        assert field not in form.fields


def test_logins_are_found_by_number_not_by_phone(client, clinic_admin_user):
    # Admin searches go in the address; an email is looked up by a POST (test_admin_search).
    client.force_login(clinic_admin_user)
    wanted = UserFactory(phone="+919800000077")
    by_number = client.get(reverse("admin:accounts_user_changelist"), {"q": str(wanted.pk)})
    assert list(by_number.context["cl"].result_list) == [wanted]
    by_phone = client.get(reverse("admin:accounts_user_changelist"), {"q": "+919800000077"})
    assert list(by_phone.context["cl"].result_list) == []
