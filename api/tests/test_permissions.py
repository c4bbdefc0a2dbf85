"""Roles as REST framework permissions, the same roles as the pages use."""

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework.test import APIRequestFactory

from api.permissions import (
    HasRole,
    IsClinicAdmin,
    IsDoctor,
    IsFrontDesk,
    IsPatient,
    doctor_of,
    patient_of,
)

pytestmark = pytest.mark.django_db

ROLE_FIXTURES = [
    "patient_user",
    "doctor_user",
    "front_desk_user",
    "clinic_admin_user",
    "integration",
]

# Who each permission lets in, of the logins above.
EXPECTED = {
    IsPatient: {"patient_user"},
    IsDoctor: {"doctor_user"},
    IsFrontDesk: {"front_desk_user", "clinic_admin_user", "integration"},
    IsClinicAdmin: {"clinic_admin_user"},
}


def allowed(permission, user):
    request = APIRequestFactory().get("/")
    request.user = user
    return permission().has_permission(request, view=None)


@pytest.mark.parametrize("permission", list(EXPECTED), ids=lambda p: p.__name__)
def test_each_permission_lets_in_its_roles_only(request, permission):
    let_in = {name for name in ROLE_FIXTURES if allowed(permission, request.getfixturevalue(name))}
    assert let_in == EXPECTED[permission]


@pytest.mark.parametrize("permission", list(EXPECTED), ids=lambda p: p.__name__)
def test_anonymous_visitors_are_let_in_by_none(permission):
    assert not allowed(permission, AnonymousUser())


def test_a_permission_for_several_roles_is_named_after_them():
    assert "Doctor" in HasRole.of("Doctor", "Patient").__name__


def test_a_login_finds_its_own_patient_and_doctor(patient_user, doctor_user, front_desk_user):
    assert patient_of(patient_user) == patient_user.patient
    assert doctor_of(doctor_user) == doctor_user.doctor
    assert patient_of(front_desk_user) is None and doctor_of(front_desk_user) is None
    assert patient_of(AnonymousUser()) is None and doctor_of(AnonymousUser()) is None
