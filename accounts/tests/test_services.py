"""Sign-up and profile updates: all or nothing, and the login kept in step with the patient."""

import datetime
from unittest import mock

import pytest
from django.contrib.auth.models import Group

from accounts import services
from accounts.models import Patient, User
from accounts.roles import Role, roles_of
from accounts.tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "Violet-Harbour-2718"


def register(**overrides):
    details = {
        "email": "asha@example.com",
        "password": PASSWORD,
        "full_name": "Asha Raman",
        "date_of_birth": datetime.date(1990, 3, 15),
        "sex": Patient.Sex.FEMALE,
        "phone": "+919812345678",
    }
    details.update(overrides)
    return services.register_patient(**details)


def test_register_patient_creates_a_login_its_patient_record_and_the_patient_role():
    user = register(email="Asha.Raman@Example.com")

    user = User.objects.get(pk=user.pk)
    assert user.email == "asha.raman@example.com"
    assert user.full_name == "Asha Raman"
    assert user.phone == "+919812345678"
    assert user.check_password(PASSWORD)
    # Unusable until the owner of the address confirms it (accounts.signup).
    assert not user.is_active and not user.is_staff and not user.is_superuser
    assert roles_of(user).names == {Role.PATIENT}

    patient = Patient.objects.get(user=user)
    assert patient.full_name == "Asha Raman"
    assert patient.date_of_birth == datetime.date(1990, 3, 15)
    assert patient.sex == Patient.Sex.FEMALE
    assert patient.phone == "+919812345678"
    assert patient.email == "asha.raman@example.com"
    assert patient.created_by == user


def test_confirm_patient_login_makes_the_login_usable():
    user = services.confirm_patient_login(
        user=register(), password=PASSWORD, link_is_valid=lambda locked: True
    )

    assert User.objects.get(pk=user.pk).is_active


def test_confirm_patient_login_with_another_password_confirms_nothing():
    user = register()

    with pytest.raises(services.WrongSignupPassword):
        services.confirm_patient_login(
            user=user, password="Someone-Elses-1", link_is_valid=lambda locked: True
        )

    assert not User.objects.get(pk=user.pk).is_active


def test_registering_a_pending_address_again_replaces_the_password_and_details():
    first = register(password="Stranger-Chose-This-1", full_name="Mallory Stranger")

    again = register(email="ASHA@example.com", date_of_birth=datetime.date(1991, 4, 16), phone="")

    assert again.pk == first.pk
    user = User.objects.get(pk=first.pk)
    assert user.check_password(PASSWORD) and not user.check_password("Stranger-Chose-This-1")
    assert (user.full_name, user.phone, user.is_active) == ("Asha Raman", "", False)
    patient = Patient.objects.get(user=user)
    assert (patient.full_name, patient.date_of_birth, patient.phone) == (
        "Asha Raman",
        datetime.date(1991, 4, 16),
        "",
    )
    assert Patient.objects.count() == 1


def test_register_patient_without_a_phone_stores_none():
    user = register(phone="")

    assert user.phone == ""
    assert Patient.objects.get(user=user).phone == ""


@pytest.mark.parametrize("email", ["asha@example.com", "ASHA@example.com", "Asha@Example.COM"])
def test_register_patient_with_a_taken_email_in_any_case_raises_and_leaves_nothing(email):
    existing = PatientFactory(with_account=True, email="asha@example.com")

    with pytest.raises(services.EmailAlreadyRegistered):
        register(email=email, full_name="Someone Else")

    assert list(User.objects.all()) == [existing.user]
    assert list(Patient.objects.all()) == [existing]
    assert not Patient.objects.filter(full_name="Someone Else").exists()


def test_register_patient_leaves_no_login_if_the_patient_record_cannot_be_saved():
    with (
        mock.patch.object(Patient.objects, "create", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        register()

    assert not User.objects.exists()
    assert not Patient.objects.exists()


def test_register_patient_leaves_no_login_if_the_patient_role_is_missing():
    Group.objects.filter(name=Role.PATIENT).delete()

    with pytest.raises(Group.DoesNotExist):
        register()

    assert not User.objects.exists()
    assert not Patient.objects.exists()


def test_a_second_registration_after_a_failed_one_succeeds():
    PatientFactory(with_account=True, email="asha@example.com")
    with pytest.raises(services.EmailAlreadyRegistered):
        register(email="ASHA@example.com")

    user = register(email="ravi@example.com", full_name="Ravi Kumar")

    assert Patient.objects.get(user=user).full_name == "Ravi Kumar"


# --- update_patient_profile --------------------------------------------------------------------


def test_update_patient_profile_saves_details_and_copies_name_and_phone_to_the_login():
    patient = PatientFactory(with_account=True, full_name="Asha Raman", phone="+919800000001")
    email = patient.user.email

    services.update_patient_profile(
        patient=patient,
        full_name="Asha R. Menon",
        date_of_birth=datetime.date(1991, 4, 16),
        sex=Patient.Sex.UNDISCLOSED,
        phone="+442079460000",
    )

    patient = Patient.objects.get(pk=patient.pk)
    assert (patient.full_name, patient.date_of_birth, patient.sex, patient.phone) == (
        "Asha R. Menon",
        datetime.date(1991, 4, 16),
        Patient.Sex.UNDISCLOSED,
        "+442079460000",
    )
    user = User.objects.get(pk=patient.user_id)
    assert (user.full_name, user.phone, user.email) == ("Asha R. Menon", "+442079460000", email)


def test_update_patient_profile_can_clear_the_phone_on_both_records():
    patient = PatientFactory(with_account=True, phone="+919800000001")

    services.update_patient_profile(
        patient=patient,
        full_name=patient.full_name,
        date_of_birth=patient.date_of_birth,
        sex=patient.sex,
        phone="",
    )

    assert Patient.objects.get(pk=patient.pk).phone == ""
    assert User.objects.get(pk=patient.user_id).phone == ""


def test_update_patient_profile_of_a_walk_in_patient_touches_no_login():
    walk_in = PatientFactory(full_name="Old Name")
    bystander = UserFactory(full_name="Bystander")

    services.update_patient_profile(
        patient=walk_in,
        full_name="New Name",
        date_of_birth=walk_in.date_of_birth,
        sex=walk_in.sex,
        phone="+919812345678",
    )

    assert Patient.objects.get(pk=walk_in.pk).full_name == "New Name"
    assert Patient.objects.get(pk=walk_in.pk).user is None
    assert User.objects.get(pk=bystander.pk).full_name == "Bystander"


def test_update_patient_profile_changes_only_that_patient():
    patient = PatientFactory(with_account=True)
    other = PatientFactory(with_account=True, full_name="Other Person")

    services.update_patient_profile(
        patient=patient,
        full_name="Changed",
        date_of_birth=patient.date_of_birth,
        sex=patient.sex,
        phone="",
    )

    other = Patient.objects.get(pk=other.pk)
    assert other.full_name == "Other Person"
    assert User.objects.get(pk=other.user_id).full_name == "Other Person"


def test_update_patient_profile_is_all_or_nothing():
    patient = PatientFactory(with_account=True, full_name="Asha Raman")

    with (
        mock.patch.object(User, "save", side_effect=RuntimeError("lost connection")),
        pytest.raises(RuntimeError),
    ):
        services.update_patient_profile(
            patient=patient,
            full_name="Half Saved",
            date_of_birth=patient.date_of_birth,
            sex=patient.sex,
            phone="",
        )

    assert Patient.objects.get(pk=patient.pk).full_name == "Asha Raman"
