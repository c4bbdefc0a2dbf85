import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_home_page_lists_departments(client):
    from doctors.tests.factories import DepartmentFactory

    DepartmentFactory(name="Cardiology")
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "Cardiology" in response.content.decode()


def test_factories_make_role_users(patient_user, doctor_user, front_desk_user, clinic_admin_user):
    assert patient_user.patient.user == patient_user
    assert doctor_user.doctor.user == doctor_user
    assert {g.name for g in front_desk_user.groups.all()} == {"Front desk"}
    assert {g.name for g in clinic_admin_user.groups.all()} == {"Clinic admin"}
