"""The patient directory the front desk keeps: searching it, and adding or correcting walk-in
patients (who have no login). The pages themselves are tested in bookings/tests/test_desk_views.py.

Time is frozen at 1 December 2026 in Bengaluru, so "the future" for a date of birth is fixed.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts import services
from accounts.forms import DirectoryPatientForm, PatientSearchForm
from accounts.models import Patient
from accounts.selectors import SEARCH_LIMIT, search_patients
from accounts.tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=ZoneInfo("Asia/Kolkata"))


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def directory():
    return {
        "ravi": PatientFactory(full_name="Ravi Kumar", phone="+919812345678", email=""),
        "ravinder": PatientFactory(
            full_name="Ravinder Singh", phone="+919900011122", email="ravinder@example.com"
        ),
        "asha": PatientFactory(full_name="Asha Raman", phone="", email="asha.raman@example.com"),
        "londoner": PatientFactory(full_name="Tom Hughes", phone="+447700900123", email=""),
    }


def names(patients):
    return [patient.full_name for patient in patients]


# --- Searching -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Ravi", ["Ravi Kumar", "Ravinder Singh"]),
        ("ravi", ["Ravi Kumar", "Ravinder Singh"]),
        ("  kumar  ", ["Ravi Kumar"]),
        ("nder si", ["Ravinder Singh"]),
        ("asha.raman@", ["Asha Raman"]),
        ("EXAMPLE.COM", ["Asha Raman", "Ravinder Singh"]),
        ("Zubin", []),
    ],
)
def test_search_by_part_of_a_name_or_email_in_any_case(directory, query, expected):
    assert names(search_patients(query)) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("98123 45", ["Ravi Kumar"]),
        ("+91-98123", ["Ravi Kumar"]),
        ("(981) 234-5678", ["Ravi Kumar"]),
        ("98.12.34", ["Ravi Kumar"]),
        ("+91 98123 45678", ["Ravi Kumar"]),
        ("0091 98123 45678", ["Ravi Kumar"]),  # the 00 prefix people dial abroad, as stored: +
        ("0044 7700 900", ["Tom Hughes"]),
        ("7700900123", ["Tom Hughes"]),
        ("0001112", ["Ravinder Singh"]),
        ("91", ["Ravi Kumar", "Ravinder Singh"]),
        ("5555", []),
    ],
)
def test_search_by_phone_digits_typed_in_any_format(directory, query, expected):
    assert names(search_patients(query)) == expected


@pytest.mark.parametrize("query", ["()", "+ -", "..."])
def test_a_phone_like_query_without_digits_matches_nobody(directory, query):
    assert search_patients(query) == []


def test_a_name_search_never_matches_on_phone_digits(directory):
    # "Ravi 98" is not phone-like, so it is a name search; nobody is called that.
    assert search_patients("Ravi 98") == []


def test_search_returns_one_more_than_the_limit_in_name_order(django_assert_num_queries):
    for number in reversed(range(SEARCH_LIMIT + 2)):  # created out of name order
        PatientFactory(full_name=f"Neha Sharma {number:03d}", with_account=number % 10 == 0)
    PatientFactory(full_name="Someone Else")

    with django_assert_num_queries(1):  # logins come along: no query per row to read them
        found = search_patients("sharma")
        logins = [patient.user.email for patient in found if patient.user_id]

    assert len(found) == SEARCH_LIMIT + 1
    assert names(found) == sorted(names(found))
    assert "Someone Else" not in names(found)
    assert logins


@pytest.mark.parametrize(
    ("query", "valid"),
    [
        ("ab", True),
        ("  ab  ", True),
        ("x" * 100, True),
        ("a", False),
        ("  a ", False),
        ("", False),
        ("x" * 101, False),
    ],
)
def test_search_form_needs_two_to_a_hundred_characters(query, valid):
    form = PatientSearchForm({"query": query})
    assert form.is_valid() is valid
    if valid:
        assert form.cleaned_data["query"] == query.strip()
    else:
        assert "query" in form.errors


# --- The form for a walk-in patient --------------------------------------------------------------


def details(**overrides):
    data = {
        "full_name": "Lakshmi Iyer",
        "date_of_birth": "1975-08-09",
        "sex": "female",
        "phone": "+91 98450-12345",
        "email": "",
    }
    data.update(overrides)
    return data


def test_directory_form_normalizes_the_phone():
    form = DirectoryPatientForm(details(phone="0091 (98450) 12345"))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == "+919845012345"


def test_directory_form_takes_an_email_instead_of_a_phone():
    form = DirectoryPatientForm(details(phone="", email="lakshmi@example.com"))
    assert form.is_valid(), form.errors


def test_directory_form_needs_a_way_to_reach_the_patient():
    form = DirectoryPatientForm(details(phone=" ", email=""))
    assert not form.is_valid()
    assert form.non_field_errors().as_data()[0].code == "no_contact"
    assert "Give a phone number or an email address" in form.non_field_errors()[0]


def test_a_bad_phone_is_its_own_error_not_also_a_missing_contact():
    form = DirectoryPatientForm(details(phone="98450 12345"))
    assert not form.is_valid()
    assert "country code" in form.errors["phone"][0]
    assert not form.non_field_errors()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"full_name": ""}, "full_name", "required"),
        ({"date_of_birth": "2026-12-02"}, "date_of_birth", "cannot be in the future"),
        ({"date_of_birth": "1890-01-01"}, "date_of_birth", "check the year"),
        ({"date_of_birth": "09/08/1975x"}, "date_of_birth", "valid date"),
        ({"sex": ""}, "sex", "required"),
        ({"phone": "+91 98450 1234x"}, "phone", "country code"),
        ({"phone": "+0 98450 12345"}, "phone", "country code"),
        ({"email": "lakshmi@"}, "email", "valid email"),
    ],
)
def test_directory_form_reports_bad_details_by_the_field(overrides, field, message):
    form = DirectoryPatientForm(details(**overrides))
    assert not form.is_valid()
    assert any(message in error for error in form.errors[field])


def test_a_date_of_birth_of_today_is_accepted():
    assert DirectoryPatientForm(details(date_of_birth="2026-12-01")).is_valid()


# --- Adding and correcting -----------------------------------------------------------------------


def test_add_directory_patient_creates_a_patient_without_a_login():
    desk = UserFactory()
    patient = services.add_directory_patient(
        by=desk,
        full_name="Lakshmi Iyer",
        date_of_birth=dt.date(1975, 8, 9),
        sex=Patient.Sex.FEMALE,
        phone="+919845012345",
    )

    patient = Patient.objects.get(pk=patient.pk)
    assert (patient.full_name, patient.phone, patient.email) == (
        "Lakshmi Iyer",
        "+919845012345",
        "",
    )
    assert patient.user is None and not patient.has_account
    assert patient.created_by == desk


def test_update_directory_patient_saves_every_detail():
    patient = PatientFactory(full_name="Ravi Kumar", phone="+919812345678", email="")

    services.update_directory_patient(
        patient=patient,
        full_name="Ravi K. Kumar",
        date_of_birth=dt.date(1981, 1, 2),
        sex=Patient.Sex.MALE,
        phone="",
        email="ravi@example.com",
    )

    patient = Patient.objects.get(pk=patient.pk)
    assert (patient.full_name, patient.date_of_birth, patient.sex) == (
        "Ravi K. Kumar",
        dt.date(1981, 1, 2),
        Patient.Sex.MALE,
    )
    assert (patient.phone, patient.email) == ("", "ravi@example.com")


def test_update_directory_patient_leaves_other_patients_alone():
    patient, other = PatientFactory(), PatientFactory(full_name="Asha Raman")
    services.update_directory_patient(
        patient=patient,
        full_name="Changed",
        date_of_birth=patient.date_of_birth,
        sex=patient.sex,
        phone=patient.phone,
    )
    other.refresh_from_db()
    assert other.full_name == "Asha Raman"


def test_update_directory_patient_refuses_a_patient_with_a_login():
    patient = PatientFactory(with_account=True, full_name="Asha Raman")

    with pytest.raises(PermissionError):
        services.update_directory_patient(
            patient=patient,
            full_name="Someone Else",
            date_of_birth=dt.date(2000, 1, 1),
            sex=Patient.Sex.OTHER,
            phone="",
            email="someone@example.com",
        )

    patient = Patient.objects.get(pk=patient.pk)
    assert patient.full_name == "Asha Raman"
    assert patient.user.full_name == "Asha Raman"
