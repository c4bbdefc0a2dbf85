"""Users and patients: what the database and the models guarantee, with or without forms."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Patient, User, validate_date_of_birth
from accounts.phone import normalize_phone, validate_e164
from accounts.tests.factories import PatientFactory, UserFactory


def today():
    return timezone.localdate()


# --- One account per email address, whatever its letter case ----------------------------------


@pytest.mark.django_db
def test_database_refuses_a_second_user_whose_email_differs_only_in_case():
    User.objects.create(email="asha@example.com", full_name="Asha Raman")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="Asha@EXAMPLE.com", full_name="Someone Else")

    assert User.objects.filter(email__iexact="asha@example.com").count() == 1


@pytest.mark.django_db
def test_database_refuses_an_exact_duplicate_email():
    User.objects.create(email="asha@example.com", full_name="Asha Raman")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="asha@example.com", full_name="Someone Else")


@pytest.mark.django_db
def test_model_validation_reports_a_case_variant_email_as_taken():
    UserFactory(email="asha@example.com")
    duplicate = User(email="ASHA@example.com", full_name="Someone Else")
    duplicate.set_password("Violet-Harbour-2718")

    with pytest.raises(ValidationError) as caught:
        duplicate.full_clean()

    assert "already exists" in str(caught.value)


@pytest.mark.django_db
def test_model_validation_stores_email_in_lower_case():
    user = User(email="Asha.Raman@Example.COM", full_name="Asha Raman")
    user.set_password("Violet-Harbour-2718")

    user.full_clean()

    assert user.email == "asha.raman@example.com"


@pytest.mark.django_db
def test_a_login_can_belong_to_only_one_patient():
    patient = PatientFactory(with_account=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        PatientFactory(user=patient.user)


@pytest.mark.django_db
def test_deleting_a_login_keeps_the_patient_in_the_directory():
    patient = PatientFactory(with_account=True)

    patient.user.delete()

    patient.refresh_from_db()
    assert patient.user is None
    assert not patient.has_account


# --- The manager --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_user_stores_email_trimmed_and_in_lower_case():
    user = User.objects.create_user(
        email="  Asha.Raman@Example.COM ", password="Violet-Harbour-2718", full_name="Asha"
    )

    user.refresh_from_db()
    assert user.email == "asha.raman@example.com"
    assert user.check_password("Violet-Harbour-2718")
    assert not user.is_staff
    assert not user.is_superuser


@pytest.mark.django_db
def test_create_user_after_a_case_variant_exists_fails():
    User.objects.create_user(email="asha@example.com", password="x", full_name="Asha")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(email="ASHA@example.com", password="y", full_name="Other")


@pytest.mark.django_db
def test_create_user_requires_an_email():
    with pytest.raises(ValueError):
        User.objects.create_user(email="", password="Violet-Harbour-2718", full_name="Nobody")

    assert not User.objects.exists()


@pytest.mark.django_db
def test_create_superuser_is_staff_and_superuser():
    admin = User.objects.create_superuser(
        email="Root@Example.com", password="Violet-Harbour-2718", full_name="Set Up"
    )

    assert admin.is_staff and admin.is_superuser
    assert admin.email == "root@example.com"


@pytest.mark.django_db
def test_create_superuser_refuses_to_be_anything_less():
    with pytest.raises(ValueError):
        User.objects.create_superuser(
            email="root@example.com", password="x", full_name="Set Up", is_staff=False
        )

    assert not User.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "typed", ["asha@example.com", "ASHA@EXAMPLE.COM", "Asha@Example.com", " asha@example.com "]
)
def test_get_by_natural_key_ignores_case_and_surrounding_spaces(typed):
    user = UserFactory(email="asha@example.com")

    assert User.objects.get_by_natural_key(typed) == user


@pytest.mark.django_db
def test_get_by_natural_key_does_not_match_a_different_address():
    UserFactory(email="asha@example.com")

    with pytest.raises(User.DoesNotExist):
        User.objects.get_by_natural_key("asha@example.org")


def test_short_name_is_the_first_name_or_the_email():
    assert User(email="asha@example.com", full_name="Asha Raman").get_short_name() == "Asha"
    assert User(email="asha@example.com", full_name="").get_short_name() == "asha@example.com"


# --- Patient ages ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (datetime.date(1990, 6, 15), datetime.date(2020, 6, 14), 29),  # day before birthday
        (datetime.date(1990, 6, 15), datetime.date(2020, 6, 15), 30),  # the birthday itself
        (datetime.date(1990, 6, 15), datetime.date(2020, 6, 16), 30),
        (datetime.date(1990, 12, 31), datetime.date(2021, 1, 1), 30),  # across new year
        (datetime.date(1990, 1, 1), datetime.date(2020, 12, 31), 30),
        (datetime.date(2020, 6, 15), datetime.date(2020, 6, 15), 0),  # born today
        (datetime.date(2020, 6, 15), datetime.date(2021, 6, 14), 0),
    ],
)
def test_age_on_counts_whole_years_turning_over_on_the_birthday(born, on, age):
    assert Patient(date_of_birth=born).age_on(on) == age


@pytest.mark.parametrize(
    ("on", "age"),
    [
        (datetime.date(2023, 2, 28), 22),  # no 29 Feb this year: not yet
        (datetime.date(2023, 3, 1), 23),  # a year older from 1 March
        (datetime.date(2024, 2, 28), 23),
        (datetime.date(2024, 2, 29), 24),  # leap year: on the day itself
        (datetime.date(2024, 3, 1), 24),
    ],
)
def test_age_on_for_someone_born_on_29_february(on, age):
    assert Patient(date_of_birth=datetime.date(2000, 2, 29)).age_on(on) == age


def test_age_is_the_age_on_the_clinics_today():
    now = today()
    born = now - datetime.timedelta(days=365 * 40 + 20)
    patient = Patient(date_of_birth=born)

    assert patient.age == patient.age_on(now)
    assert patient.age in (39, 40)  # leap days decide which; never 41 or 38


# --- Dates of birth ----------------------------------------------------------------------------


def test_date_of_birth_today_is_accepted():
    validate_date_of_birth(today())


def test_date_of_birth_a_century_ago_is_accepted():
    validate_date_of_birth(datetime.date(today().year - 120, 1, 1))


def test_date_of_birth_tomorrow_is_rejected_as_future():
    with pytest.raises(ValidationError) as caught:
        validate_date_of_birth(today() + datetime.timedelta(days=1))

    assert caught.value.code == "future_birth"
    assert "cannot be in the future" in caught.value.message


@pytest.mark.parametrize("years_ago", [131, 200, 1000])
def test_date_of_birth_longer_ago_than_anyone_lives_is_rejected(years_ago):
    with pytest.raises(ValidationError) as caught:
        validate_date_of_birth(datetime.date(today().year - years_ago, 6, 1))

    assert caught.value.code == "implausible_birth"


def test_patient_model_validation_rejects_a_future_date_of_birth():
    patient = Patient(
        full_name="Asha Raman",
        date_of_birth=today() + datetime.timedelta(days=30),
        sex=Patient.Sex.FEMALE,
    )

    with pytest.raises(ValidationError) as caught:
        patient.full_clean()

    assert "date_of_birth" in caught.value.message_dict


# --- Phone numbers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+91 98123-45678", "+919812345678"),
        ("0044 20 7946 0000", "+442079460000"),
        ("+44 (20) 7946.0000", "+442079460000"),
        ("+919812345678", "+919812345678"),
        ("  +1 415 555 0100  ", "+14155550100"),
    ],
)
def test_phone_numbers_in_common_forms_are_normalised_to_valid_e164(typed, stored):
    number = normalize_phone(typed)

    assert number == stored
    validate_e164(number)


@pytest.mark.parametrize("typed", ["", None])
def test_an_empty_phone_number_stays_empty(typed):
    assert normalize_phone(typed) == ""


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("98123 45678", id="no country code"),
        pytest.param("098123 45678", id="trunk prefix instead of country code"),
        pytest.param("+91 98123 ABCDE", id="letters"),
        pytest.param("+91 CALL-ME-NOW", id="vanity letters"),
        pytest.param("+91 123", id="too short"),
        pytest.param("+1 234 56", id="six digits"),
        pytest.param("+91 98123 45678 12345", id="too long"),
        pytest.param("+0 98123 45678", id="country code starting with zero"),
        pytest.param("++919812345678", id="double plus"),
        pytest.param("+91 98123 45678 ext 12", id="extension"),
        pytest.param("+91 ９８１２３ ４５６７８", id="full-width digits"),
        pytest.param("+91 ९८१२३ ४५६७८", id="devanagari digits"),
    ],
)
def test_phone_numbers_that_are_not_e164_are_rejected(typed):
    with pytest.raises(ValidationError) as caught:
        validate_e164(normalize_phone(typed))

    assert caught.value.code == "invalid_phone"


def test_phone_validation_does_not_accept_a_trailing_newline():
    with pytest.raises(ValidationError):
        validate_e164("+919812345678\n")


def test_e164_allows_fifteen_digits_and_no_more():
    validate_e164("+" + "9" * 15)
    with pytest.raises(ValidationError):
        validate_e164("+" + "9" * 16)


@pytest.mark.django_db
def test_user_model_validation_rejects_a_phone_without_country_code():
    user = User(email="asha@example.com", full_name="Asha Raman", phone="9812345678")
    user.set_password("Violet-Harbour-2718")

    with pytest.raises(ValidationError) as caught:
        user.full_clean()

    assert "phone" in caught.value.message_dict
