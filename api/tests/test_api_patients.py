"""The patient directory over the API: add (with the duplicate warning), read, search by POST."""

import pytest
from django.urls import reverse

from accounts.models import Patient
from accounts.selectors import SEARCH_LIMIT
from accounts.tests.factories import PatientFactory
from api.tests.clinic_day import (
    assert_error,
    frozen,  # noqa: F401  (fixtures)
    rules,  # noqa: F401
    world,  # noqa: F401
)

pytestmark = pytest.mark.django_db

NEW = {"full_name": "Devi Newcomer", "date_of_birth": "1990-04-02", "sex": "female"}
STAFF = ("desk", "admin", "integration")


def add(client, headers=None, **fields):
    return client.post(reverse("api:patients"), {**NEW, **fields}, format="json", headers=headers)


@pytest.mark.parametrize("role", STAFF)
def test_staff_and_integrations_add_a_patient_without_a_login(world, role):
    response = add(world.client(role), phone="+91 98765 43210")
    assert response.status_code == 201, response.content
    body = response.json()
    patient = Patient.objects.get(pk=body["id"])
    assert response["Location"] == reverse("api:patient", kwargs={"pk": patient.pk})
    assert patient.user is None
    assert patient.phone == "+919876543210"  # read as the directory's form reads it
    assert patient.created_by == world.users[role]
    assert body == {
        "id": patient.pk,
        "full_name": "Devi Newcomer",
        "date_of_birth": "1990-04-02",
        "sex": "female",
        "phone": "+919876543210",
        "email": "",
        "has_login": False,
    }


@pytest.mark.parametrize(
    "role, status",
    [("anon", 401), ("patient", 403), ("doctor", 403), ("other_doctor", 403)],
)
def test_others_may_not_add_patients(world, role, status):
    before = Patient.objects.count()
    response = add(world.client(role), phone="+919876543210")
    assert response.status_code == status
    assert Patient.objects.count() == before


def test_a_likely_duplicate_is_held_back_with_its_ids(world):
    same = {"full_name": "chandra  walkin", "date_of_birth": "1970-01-01"}
    before = Patient.objects.count()
    error = assert_error(
        add(world.client("desk"), **same, phone="+919812345678"), 409, "possible_duplicate"
    )
    assert error["possible_duplicates"] == [world.walk_in.pk]
    assert "may be in the directory already" in error["message"]
    assert Patient.objects.count() == before
    confirmed = add(world.client("desk"), **same, phone="+919812345678", confirm_different=True)
    assert confirmed.status_code == 201
    assert Patient.objects.count() == before + 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"phone": "", "email": ""}, "non_field_errors"),  # no way to reach them
        ({"phone": "12"}, "phone"),
        ({"email": "not an email", "phone": ""}, "email"),
        ({"date_of_birth": "2999-01-01", "phone": "+919876543210"}, "date_of_birth"),
        ({"date_of_birth": "31/31/31", "phone": "+919876543210"}, "date_of_birth"),
        ({"date_of_birth": ["1990-01-01"], "phone": "+919876543210"}, "date_of_birth"),
        ({"sex": "?", "phone": "+919876543210"}, "sex"),
        ({"full_name": "", "phone": "+919876543210"}, "full_name"),
        ({"full_name": {"a": 1}, "phone": "+919876543210"}, "full_name"),
        ({"phone": ["+919876543210"]}, "phone"),
        ({"confirm_different": "maybe", "phone": "+919876543210"}, "confirm_different"),
    ],
)
def test_bad_details_are_field_errors_and_add_nobody(world, body, field):
    before = Patient.objects.count()
    error = assert_error(add(world.client("desk"), **body), 400, "invalid")
    assert field in error["fields"], error
    assert Patient.objects.count() == before


def test_a_body_that_is_not_an_object_is_refused(world):
    response = world.client("desk").post(reverse("api:patients"), ["x"], format="json")
    assert_error(response, 400, "invalid")


def test_a_retried_add_with_its_key_adds_once(world):
    client = world.client("integration")
    first = add(client, headers={"Idempotency-Key": "k-1"}, phone="+919876543210")
    again = add(client, headers={"Idempotency-Key": "k-1"}, phone="+919876543210")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Patient.objects.filter(full_name="Devi Newcomer").count() == 1


# Reading one -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, status",
    [
        ("anon", 401),
        ("patient", 200),
        ("other_patient", 404),
        ("doctor", 403),
        ("other_doctor", 403),
        ("desk", 200),
        ("admin", 200),
        ("integration", 200),
    ],
)
def test_a_patient_record_per_role(world, role, status):
    response = world.client(role).get(reverse("api:patient", kwargs={"pk": world.patient.pk}))
    assert response.status_code == status
    if status == 200:
        assert response.json()["full_name"] == "Asha Patient"
        assert response.json()["has_login"] is True
    else:
        assert set(response.json()["error"]) == {"code", "message", "fields"}


def test_a_patient_who_does_not_exist_is_404_for_staff(world):
    response = world.client("desk").get(reverse("api:patient", kwargs={"pk": 999999}))
    assert_error(response, 404, "not_found")


def test_a_patient_record_read_is_in_the_audit_trail(world):
    from auditlog.models import LogEntry

    world.client("desk").get(reverse("api:patient", kwargs={"pk": world.walk_in.pk}))
    assert LogEntry.objects.filter(
        object_pk=str(world.walk_in.pk), action=LogEntry.Action.ACCESS
    ).exists()


# Searching ---------------------------------------------------------------------------------------


def search(world, role, query):
    return world.client(role).post(reverse("api:patient_search"), {"query": query}, format="json")


@pytest.mark.parametrize(
    "query", ["98123 45678", "+91 98123-45678", "CHANDRA", "walkin", "patient0@example"]
)
def test_staff_find_a_patient_by_phone_email_or_name(world, query):
    if "@" in query:
        world.walk_in.email = "patient0@example.com"
        world.walk_in.save()
    response = search(world, "integration", query)
    assert response.status_code == 200
    body = response.json()
    assert [p["id"] for p in body["results"]] == [world.walk_in.pk]
    assert body["truncated"] is False


def test_the_search_stays_out_of_the_url_and_writes_nothing(world):
    assert reverse("api:patient_search") == "/api/v1/patients/search/"
    before = Patient.objects.count()
    search(world, "desk", "Chandra")
    assert Patient.objects.count() == before


def test_too_many_matches_are_cut_short_and_said_so(world):
    PatientFactory.create_batch(SEARCH_LIMIT + 1, full_name="Same Name")
    body = search(world, "desk", "same name").json()
    assert len(body["results"]) == SEARCH_LIMIT
    assert body["truncated"] is True


@pytest.mark.parametrize("role, status", [("anon", 401), ("patient", 403), ("doctor", 403)])
def test_only_staff_search(world, role, status):
    assert search(world, role, "Chandra").status_code == status


@pytest.mark.parametrize("query", ["", "a", "x" * 101, None, 5, ["Chandra"]])
def test_bad_searches_are_field_errors(world, query):
    assert "query" in assert_error(search(world, "desk", query), 400, "invalid")["fields"]
