"""The four roles: groups made by the data migration, their permissions, and reading them."""

import pytest
from django.contrib.auth.models import AnonymousUser, Group

from accounts.models import User
from accounts.roles import Role, has_role, roles_of
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PATIENT_DIRECTORY = ["accounts.view_patient", "accounts.add_patient", "accounts.change_patient"]


def member_of(role):
    """A fresh user in just that role (fresh, so no permission cache from earlier checks)."""
    user = UserFactory(roles=[role])
    return User.objects.get(pk=user.pk)


def accounts_permissions(user):
    return {name for name in user.get_all_permissions() if name.startswith("accounts.")}


def test_migration_created_one_group_per_role():
    assert set(Group.objects.values_list("name", flat=True)) >= {str(role) for role in Role}


def test_patient_role_grants_no_permissions_at_all():
    # Patients act only on their own records, through the portal's own checks, never through
    # model permissions (which would open the same objects of every patient).
    assert member_of(Role.PATIENT).get_all_permissions() == set()


def test_front_desk_keeps_the_patient_directory_but_cannot_delete_patients():
    front_desk = member_of(Role.FRONT_DESK)

    assert accounts_permissions(front_desk) == set(PATIENT_DIRECTORY)
    assert not front_desk.has_perm("accounts.delete_patient")
    assert not front_desk.has_perm("accounts.change_user")


def test_doctor_can_view_patients_and_nothing_more_in_accounts():
    doctor = member_of(Role.DOCTOR)

    assert accounts_permissions(doctor) == {"accounts.view_patient"}
    assert not doctor.has_perm("accounts.change_patient")


def test_clinic_admin_manages_patients_and_users_but_cannot_delete_either():
    clinic_admin = member_of(Role.CLINIC_ADMIN)

    for name in [*PATIENT_DIRECTORY, "accounts.view_user", "accounts.add_user"]:
        assert clinic_admin.has_perm(name), name
    assert clinic_admin.has_perm("accounts.change_user")
    assert clinic_admin.has_perm("auth.view_group")
    assert not clinic_admin.has_perm("accounts.delete_patient")
    assert not clinic_admin.has_perm("accounts.delete_user")


def test_no_role_may_edit_the_roles_themselves():
    for role in Role:
        user = member_of(role)
        for name in ("auth.add_group", "auth.change_group", "auth.delete_group"):
            assert not user.has_perm(name), (role, name)
        assert not user.has_perm("auth.change_permission"), role


# --- roles_of and has_role -------------------------------------------------------------------


@pytest.mark.parametrize("visitor", [None, AnonymousUser()], ids=["none", "anonymous"])
def test_an_anonymous_visitor_has_no_roles_and_costs_no_query(visitor, django_assert_num_queries):
    with django_assert_num_queries(0):
        roles = roles_of(visitor)
        assert not any(has_role(visitor, role) for role in Role)

    assert roles.names == frozenset()
    assert not (roles.is_patient or roles.is_doctor or roles.is_front_desk)
    assert not roles.is_clinic_admin


@pytest.mark.parametrize("role", list(Role))
def test_each_role_is_recognised_and_only_that_one(role):
    user = member_of(role)

    assert roles_of(user).names == {role}
    assert has_role(user, role)
    assert [other for other in Role if has_role(user, other)] == [role]


@pytest.mark.parametrize(
    ("role", "flag"),
    [
        (Role.PATIENT, "is_patient"),
        (Role.DOCTOR, "is_doctor"),
        (Role.FRONT_DESK, "is_front_desk"),
        (Role.CLINIC_ADMIN, "is_clinic_admin"),
    ],
)
def test_each_role_sets_its_own_template_flag(role, flag):
    roles = roles_of(member_of(role))

    flags = ("is_patient", "is_doctor", "is_front_desk", "is_clinic_admin")
    assert {name for name in flags if getattr(roles, name)} == {flag}


def test_a_user_can_hold_two_roles():
    user = UserFactory(roles=[Role.DOCTOR, Role.CLINIC_ADMIN])

    assert roles_of(user).names == {Role.DOCTOR, Role.CLINIC_ADMIN}
    assert has_role(user, Role.DOCTOR) and has_role(user, Role.CLINIC_ADMIN)
    assert not has_role(user, Role.PATIENT)


def test_a_user_in_no_group_has_no_roles():
    assert roles_of(UserFactory()).names == frozenset()


def test_roles_are_read_once_per_user_object(django_assert_num_queries):
    user = member_of(Role.FRONT_DESK)

    with django_assert_num_queries(1):
        first = roles_of(user)
    with django_assert_num_queries(0):
        again = roles_of(user)
        assert has_role(user, Role.FRONT_DESK)
        assert not has_role(user, Role.PATIENT)

    assert again == first


def test_roles_are_read_afresh_for_another_user_object(django_assert_num_queries):
    user = member_of(Role.DOCTOR)
    roles_of(user)
    user.groups.set([Group.objects.get(name=Role.CLINIC_ADMIN)])

    # The next request loads the user again, and sees the change.
    reloaded = User.objects.get(pk=user.pk)
    with django_assert_num_queries(1):
        assert roles_of(reloaded).names == {Role.CLINIC_ADMIN}
