"""Practitioner, Location, HealthcareService and PractitionerRole: read and search per role, the
mapping from the portal's models, paging, and a constant number of queries per search."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from doctors.tests.factories import ClinicFactory, DoctorFactory, WorkingHoursFactory
from fhir.search import MAX_COUNT
from fhir.structure import TIMEZONE_EXTENSION, department_system, registration_system
from fhir.tests.world import (
    BASE,
    LOGGED_IN,
    ROLES,
    STAFF,
    assert_outcome,
    entries,
    ids,
    parsed,
    search,
)

pytestmark = pytest.mark.django_db

NOT_STAFF = tuple(role for role in LOGGED_IN if role not in STAFF)


# Practitioner -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", LOGGED_IN)
def test_every_login_reads_a_working_doctor(world, role):
    doctor = world.doctor
    practitioner = parsed(world.client(role).get(f"{BASE}Practitioner/{doctor.pk}"))
    assert practitioner.id == str(doctor.pk)
    assert practitioner.active is True
    assert practitioner.name[0].text == doctor.full_name
    (identifier,) = practitioner.identifier
    assert (identifier.system, identifier.value) == (
        registration_system(),
        doctor.registration_number,
    )


@pytest.mark.parametrize("role", STAFF)
def test_staff_read_a_doctor_who_no_longer_works(world, role):
    practitioner = parsed(world.client(role).get(f"{BASE}Practitioner/{world.retired.pk}"))
    assert practitioner.active is False


@pytest.mark.parametrize("role", NOT_STAFF)
def test_patients_and_doctors_do_not_see_a_doctor_who_no_longer_works(world, role):
    client = world.client(role)
    assert_outcome(client.get(f"{BASE}Practitioner/{world.retired.pk}"), 404, "not-found")
    assert str(world.retired.pk) not in ids(search(client, "Practitioner"))
    assert search(client, "Practitioner", active="false").total == 0


@pytest.mark.parametrize(
    "resource_id", ["999999", "0", "-1", "abc", "1.0", "99999999999", "2147483648", "x" * 65]
)
def test_an_id_that_names_no_doctor_is_404(world, resource_id):
    response = world.client("desk").get(f"{BASE}Practitioner/{resource_id}")
    assert_outcome(response, 404, "not-found", "not_found")


def test_qualifications_are_a_qualification(world):
    world.doctor.qualifications = "MBBS, MD"
    world.doctor.save()
    practitioner = parsed(world.client("patient").get(f"{BASE}Practitioner/{world.doctor.pk}"))
    assert practitioner.qualification[0].code.text == "MBBS, MD"


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("{number}", True),
        ("{lower}", True),
        ("{system}|{number}", True),
        ("http://elsewhere.example/id|{number}", False),
        ("|{number}", False),
        ("NO-SUCH", False),
        ("NO-SUCH,{number}", True),
    ],
)
def test_practitioner_by_identifier(world, value, found):
    number = world.doctor.registration_number
    value = value.format(number=number, lower=number.lower(), system=registration_system())
    bundle = search(world.client("integration"), "Practitioner", identifier=value)
    assert ids(bundle) == ([str(world.doctor.pk)] if found else [])
    assert bundle.total == (1 if found else 0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ({"name": "nair"}, ["doctor"]),
        ({"name": "MEE"}, ["doctor"]),
        ({"name": "dr"}, ["doctor", "other_doctor"]),
        ({"name": "eera"}, []),
        ({"name:contains": "eera"}, ["doctor"]),
        ({"name:exact": "Dr Meera Nair"}, ["doctor"]),
        ({"name:exact": "dr meera nair"}, []),
    ],
)
def test_practitioner_by_name(world, name, expected):
    bundle = search(world.client("patient"), "Practitioner", **name)
    assert ids(bundle) == [str(getattr(world, who).pk) for who in expected]


def test_practitioner_by_active(world):
    client = world.client("admin")
    assert ids(search(client, "Practitioner", active="false")) == [str(world.retired.pk)]
    assert str(world.retired.pk) not in ids(search(client, "Practitioner", active="true"))
    assert_outcome(client.get(BASE + "Practitioner", {"active": "yes"}), 400, "invalid")


def test_practitioner_by_id(world):
    client = world.client("patient")
    wanted = f"{world.other_doctor.pk},{world.doctor.pk},nope,0"
    assert ids(search(client, "Practitioner", _id=wanted)) == sorted(
        [str(world.doctor.pk), str(world.other_doctor.pk)], key=int
    )
    assert_outcome(client.get(BASE + "Practitioner", {"_id": "a/b"}), 400, "invalid")


def test_an_unknown_modifier_is_refused(world):
    response = world.client("patient").get(BASE + "Practitioner", {"name:missing": "true"})
    assert_outcome(response, 400, "not-supported", "unknown_modifier")


def test_a_parameter_given_twice_is_refused_where_it_does_not_repeat(world):
    response = world.client("patient").get(BASE + "Practitioner?name=a&name=b")
    assert_outcome(response, 400, "invalid")


def test_an_empty_parameter_is_ignored(world):
    bundle = search(world.client("patient"), "Practitioner", name="", _count="")
    assert bundle.total == 2


def test_a_read_takes_no_search_parameters(world):
    response = world.client("patient").get(f"{BASE}Practitioner/{world.doctor.pk}", {"name": "x"})
    assert_outcome(response, 400, "not-supported", "unknown_parameter")


# Paging -------------------------------------------------------------------------------------------


def follow(client, bundle):
    """Every resource over the pages, by the Bundle's next links."""
    found = entries(bundle)
    while next_link := [link.url for link in bundle.link if link.relation == "next"]:
        bundle = parsed(client.get(next_link[0]))
        found += entries(bundle)
    return found


def test_pages_follow_next_links_to_every_result(world):
    for number in range(5):
        ClinicFactory(name=f"Branch {number}")
    client = world.client("patient")
    first = search(client, "Location", _count=2)
    assert first.total == 7
    assert len(first.entry) == 2
    links = {link.relation: link.url for link in first.link}
    assert parse_qs(urlsplit(links["self"]).query) == {"_count": ["2"]}
    assert parse_qs(urlsplit(links["next"]).query) == {"_count": ["2"], "_offset": ["2"]}
    assert "previous" not in links
    everything = follow(client, first)
    assert [location.id for location in everything] == ids(search(client, "Location"))
    assert len({location.id for location in everything}) == 7
    last = search(client, "Location", _count=2, _offset=6)
    assert {link.relation for link in last.link} == {"self", "previous"}


def test_count_zero_answers_the_total_alone(world):
    bundle = search(world.client("patient"), "Location", _count=0)
    assert bundle.total == 2
    assert bundle.entry is None


def test_count_has_a_maximum(world):
    ClinicFactory.create_batch(MAX_COUNT)
    bundle = search(world.client("patient"), "Location", _count=10**6)
    assert bundle.total == MAX_COUNT + 2
    assert len(bundle.entry) == MAX_COUNT


def test_an_offset_past_the_end_is_an_empty_page(world):
    bundle = search(world.client("patient"), "Location", _offset=50)
    assert (bundle.total, bundle.entry) == (2, None)


@pytest.mark.parametrize(
    "params",
    [
        {"_count": "-1"},
        {"_count": "ten"},
        {"_count": "1e3"},
        {"_count": "9" * 40},
        {"_offset": "-5"},
        {"_offset": "1.5"},
        {"_count:exact": "1"},
    ],
)
def test_bad_paging_is_400(world, params):
    assert_outcome(world.client("patient").get(BASE + "Location", params), 400, "invalid")


# Location and HealthcareService -------------------------------------------------------------------


def test_a_location_has_its_address_telecom_and_time_zone(world):
    location = parsed(world.client("doctor").get(f"{BASE}Location/{world.london.pk}"))
    assert location.name == "Thames Side"
    assert location.address.line == ["1 River Walk", "London SE1"]
    assert {(t.system, t.value) for t in location.telecom} == {
        ("phone", "+442071234567"),
        ("email", "thames@example.com"),
    }
    (zone,) = location.extension
    assert (zone.url, zone.valueCode) == (TIMEZONE_EXTENSION, "Europe/London")


def test_locations_by_name(world):
    client = world.client("patient")
    assert ids(search(client, "Location", name="thames")) == [str(world.london.pk)]
    assert ids(search(client, "Location", name="side")) == [str(world.london.pk)]
    assert ids(search(client, "Location", **{"name:contains": "ake"})) == [str(world.clinic.pk)]
    assert_outcome(client.get(f"{BASE}Location/{world.london.pk + 100}"), 404)


def test_a_department_is_a_service_with_its_hours(world):
    department = world.department
    department.description = "Adults' general medicine."
    department.save()
    service = parsed(world.client("other_patient").get(f"{BASE}HealthcareService/{department.pk}"))
    assert service.name == department.name
    assert service.comment == "Adults' general medicine."
    (hours,) = service.availableTime
    assert hours.daysOfWeek == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert (hours.availableStartTime, hours.availableEndTime) == (
        dt.time(8),
        dt.time(20),
    )
    assert service.specialty[0].coding[0].system == department_system()


def test_services_by_name(world):
    client = world.client("patient")
    assert ids(search(client, "HealthcareService", name="medicine")) == [str(world.department.pk)]
    assert search(client, "HealthcareService", name="surgery").total == 0
    assert_outcome(client.get(f"{BASE}HealthcareService/abc"), 404)


# PractitionerRole ---------------------------------------------------------------------------------


def role_id(doctor, clinic):
    return f"{doctor.pk}-{clinic.pk}"


def test_a_role_has_the_working_hours_with_breaks_as_gaps(world):
    role = parsed(
        world.client("patient").get(f"{BASE}PractitionerRole/{role_id(world.doctor, world.london)}")
    )
    assert role.practitioner.reference == f"Practitioner/{world.doctor.pk}"
    assert [loc.reference for loc in role.location] == [f"Location/{world.london.pk}"]
    assert role.healthcareService[0].reference == f"HealthcareService/{world.department.pk}"
    assert [
        (t.daysOfWeek, t.availableStartTime, t.availableEndTime) for t in role.availableTime
    ] == [(["sun"], dt.time(10), dt.time(12)), (["sun"], dt.time(13), dt.time(15))]


def test_a_roles_hours_lie_inside_the_departments(world):
    world.department.opens_at = dt.time(9, 30)
    world.department.closes_at = dt.time(11)
    world.department.save()
    role = parsed(
        world.client("desk").get(f"{BASE}PractitionerRole/{role_id(world.doctor, world.london)}")
    )
    # 10:00-12:00 is cut at 11:00; 13:00-15:00 is wholly outside and offers nothing.
    assert [(t.availableStartTime, t.availableEndTime) for t in role.availableTime] == [
        (dt.time(10), dt.time(11))
    ]


def test_a_role_exists_only_where_the_doctor_works(world):
    client = world.client("desk")
    assert_outcome(
        client.get(f"{BASE}PractitionerRole/{role_id(world.other_doctor, world.london)}"), 404
    )
    for junk in ("1", "1-", "-1", "1-1-1", "a-b", "0-1", "1--1"):
        assert_outcome(client.get(f"{BASE}PractitionerRole/{junk}"), 404)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [("doctor", "clinic"), ("doctor", "london"), ("other_doctor", "clinic")]),
        ({"practitioner": "Practitioner/{doctor}"}, [("doctor", "clinic"), ("doctor", "london")]),
        ({"practitioner": "{other_doctor}"}, [("other_doctor", "clinic")]),
        ({"location": "Location/{london}"}, [("doctor", "london")]),
        (
            {"location": "{london},{clinic}", "practitioner": "{other_doctor}"},
            [("other_doctor", "clinic")],
        ),
        (
            {"service": "HealthcareService/{department}"},
            [("doctor", "clinic"), ("doctor", "london"), ("other_doctor", "clinic")],
        ),
        ({"specialty": "{system}|{department}", "location": "{london}"}, [("doctor", "london")]),
        ({"specialty": "other|{department}"}, []),
        ({"service": "HealthcareService/99999"}, []),
        ({"_id": "{doctor}-{london},9-9"}, [("doctor", "london")]),
        (
            {
                "practitioner": "http://testserver/fhir/R4/Practitioner/{doctor}",
                "location": "{clinic}",
            },
            [("doctor", "clinic")],
        ),
    ],
)
def test_roles_by_practitioner_location_service_and_specialty(world, params, expected):
    names = {
        "doctor": world.doctor.pk,
        "other_doctor": world.other_doctor.pk,
        "clinic": world.clinic.pk,
        "london": world.london.pk,
        "department": world.department.pk,
        "system": department_system(),
    }
    query = {key: value.format(**names) for key, value in params.items()}
    bundle = search(world.client("patient"), "PractitionerRole", **query)
    assert ids(bundle) == [
        role_id(getattr(world, doctor), getattr(world, clinic)) for doctor, clinic in expected
    ]


@pytest.mark.parametrize(
    "params", [{"practitioner": "Location/1"}, {"location": "Practitioner/1"}, {"service": "x/1"}]
)
def test_a_reference_to_another_type_is_400(world, params):
    response = world.client("patient").get(BASE + "PractitionerRole", params)
    assert_outcome(response, 400, "invalid")


def test_staff_see_the_roles_of_a_doctor_who_no_longer_works(world):
    retired = role_id(world.retired, world.clinic)
    staff_role = parsed(world.client("desk").get(f"{BASE}PractitionerRole/{retired}"))
    assert staff_role.active is False
    assert_outcome(world.client("patient").get(f"{BASE}PractitionerRole/{retired}"), 404)
    assert retired not in ids(search(world.client("doctor"), "PractitionerRole"))


# Queries ------------------------------------------------------------------------------------------


def queries_for(client, path, params=None):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(BASE + path, params or {}).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "resource_type", ["Practitioner", "Location", "HealthcareService", "PractitionerRole"]
)
def test_a_search_costs_the_same_queries_whatever_it_finds(world, resource_type):
    client = world.client("integration")
    client.get(BASE + "metadata")
    before = queries_for(client, resource_type)
    for _ in range(6):
        doctor = DoctorFactory(department=world.department)
        clinic = ClinicFactory()
        for weekday in range(3):
            WorkingHoursFactory(doctor=doctor, clinic=clinic, weekday=weekday)
    assert queries_for(client, resource_type) == before


# Every role, every resource -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_and_searches_every_type(world, role):
    """A token of any role reads each resource and searches each type; without one, 401."""
    pair = f"{world.doctor.pk}-{world.clinic.pk}"
    reads = [
        f"Practitioner/{world.doctor.pk}",
        f"Location/{world.clinic.pk}",
        f"HealthcareService/{world.department.pk}",
        f"PractitionerRole/{pair}",
        f"Schedule/{pair}",
    ]
    searches = [
        "Practitioner",
        "Location",
        "HealthcareService",
        "PractitionerRole",
        "Schedule",
        f"Slot?schedule=Schedule/{pair}",
    ]
    client = world.client(role)
    answers = [(path, path.split("/")[0]) for path in reads]
    answers += [(path, "Bundle") for path in searches]
    for path, resource_type in answers:
        response = client.get(BASE + path)
        if role == "anon":
            assert_outcome(response, 401, "login")
        else:
            assert parsed(response).get_resource_type() == resource_type
