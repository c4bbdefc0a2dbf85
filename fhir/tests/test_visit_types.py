"""Visit types through FHIR: a Schedule lists the codes a caller may ask for, a Slot search and
$find with `service-type` give that type's times, an Appointment carries its type (serviceType
and minutesDuration), a create, $hold and $book book it through the booking services (with
their refusals), and a move keeps it. Every answer is parsed with the R4B models."""

import datetime as dt
import json

import pytest

from bookings.models import Appointment, SlotHold
from bookings.selectors import open_slots
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import DepartmentFactory, VisitTypeFactory
from fhir.schedules import slot_id
from fhir.tests.world import (
    BASE,
    LOGGED_IN,
    NOW,
    STAFF,
    VISIT_DAY,
    assert_outcome,
    entries,
    local,
    parsed,
    search,
)

pytestmark = pytest.mark.django_db

OURS = "https://clinic.example/fhir"
VISIT_TYPES = f"{OURS}/visit-type"
DEPARTMENTS = f"{OURS}/department"
FHIR_JSON = "application/fhir+json"


@pytest.fixture
def procedure(world):
    return VisitTypeFactory(
        name="Procedure", department=world.department, minutes=45, buffer_after_minutes=10
    )


@pytest.fixture
def desk_only(world):
    return VisitTypeFactory(
        name="Minor surgery", department=world.department, bookable_online=False
    )


def typed(visit_type):
    return f"{VISIT_TYPES}|{visit_type.pk}"


def codes(concepts, system=VISIT_TYPES):
    return [
        coding.code
        for concept in concepts or []
        for coding in concept.coding
        if coding.system == system
    ]


def type_concept(visit_type):
    return {"coding": [{"system": VISIT_TYPES, "code": str(visit_type.pk)}]}


def schedule_of(world):
    return f"Schedule/{world.doctor.pk}-{world.clinic.pk}"


def slots(world, role="patient", **params):
    response = world.client(role).get(
        BASE + "Slot",
        {"schedule": schedule_of(world), "start": VISIT_DAY.isoformat(), "_count": 100, **params},
    )
    return entries(parsed(response))


def slot_ref(world, hour, minute=0):
    start = local(VISIT_DAY, hour, minute)
    return {"reference": f"Slot/{slot_id(world.doctor.pk, world.clinic.pk, start)}"}


def create(world, role, **extra):
    body = {
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [slot_ref(world, 11)],
        "participant": [],
    }
    if role in STAFF:
        body["participant"] = [
            {"actor": {"reference": f"Patient/{world.walk_in.pk}"}, "status": "accepted"}
        ]
    return world.client(role).post(
        BASE + "Appointment", json.dumps({**body, **extra}), content_type=FHIR_JSON
    )


# Discovery: the Schedule lists the types ----------------------------------------------------------


@pytest.mark.parametrize("role", LOGGED_IN)
def test_a_schedule_lists_the_types_the_doctor_offers_the_caller(world, role, procedure, desk_only):
    own = VisitTypeFactory(name="Own", department=None, doctor=world.doctor)
    VisitTypeFactory(name="Retired type", department=world.department, is_active=False)
    VisitTypeFactory(name="Elsewhere", department=DepartmentFactory())
    VisitTypeFactory(name="Another doctor's", department=None, doctor=world.other_doctor)
    expected = {str(procedure.pk), str(own.pk)}
    if role in STAFF:
        expected.add(str(desk_only.pk))  # the desk books any type, as on its pages

    read = parsed(world.client(role).get(f"{BASE}{schedule_of(world)}"))
    (found,) = [
        s
        for s in entries(
            search(world.client(role), "Schedule", actor=f"Practitioner/{world.doctor.pk}")
        )
        if s.id == read.id
    ]

    for schedule in (read, found):
        assert set(codes(schedule.serviceType)) == expected
        # The department (the plain slots) stays first.
        assert codes(schedule.serviceType[:1], DEPARTMENTS) == [str(world.department.pk)]
        names = {c.display for concept in schedule.serviceType[1:] for c in concept.coding}
        assert "Procedure" in names and "Elsewhere" not in names


def test_a_schedule_of_a_doctor_without_types_names_the_department_only(world):
    schedule = parsed(world.client("desk").get(f"{BASE}{schedule_of(world)}"))
    assert [codes([c], DEPARTMENTS) for c in schedule.serviceType] == [[str(world.department.pk)]]


# Slot search --------------------------------------------------------------------------------------


def test_a_slot_search_for_a_type_gives_its_free_times_and_length(world, procedure):
    found = slots(world, status="free", **{"service-type": typed(procedure)})

    expected = open_slots(
        doctor=world.doctor,
        clinic=world.clinic,
        now=NOW,
        first_day=VISIT_DAY,
        last_day=VISIT_DAY,
        visit_type=procedure,
    )
    assert [(s.start, s.end) for s in found] == [(s.start, s.end) for s in expected]
    assert found and all(s.end - s.start == dt.timedelta(minutes=45) for s in found)
    assert local(VISIT_DAY, 12) in [s.start for s in found]
    assert local(VISIT_DAY, 12, 15) not in [s.start for s in found]
    for s in found:
        assert codes(s.serviceType) == [str(procedure.pk)]
        assert codes(s.serviceType, DEPARTMENTS) == [str(world.department.pk)]
    # Without it, the plain 15-minute slots, of the department only.
    plain = slots(world, status="free")
    assert all(s.end - s.start == dt.timedelta(minutes=15) for s in plain)
    assert all(codes(s.serviceType) == [] for s in plain)


def test_busy_slots_carry_their_visits_type_and_a_typed_search_shows_that_types_only(
    world, procedure
):
    visit = AppointmentFactory(
        patient=world.other_patient,
        doctor=world.doctor,
        clinic=world.clinic,
        start=local(VISIT_DAY, 11),
        end=local(VISIT_DAY, 11, 45),
        visit_type=procedure,
    )
    busy = {s.start: s for s in slots(world, status="busy")}
    assert codes(busy[visit.start].serviceType) == [str(procedure.pk)]
    assert busy[visit.start].end == visit.end
    assert codes(busy[world.appointment.start].serviceType) == []

    typed_busy = slots(world, status="busy", **{"service-type": typed(procedure)})
    assert [s.start for s in typed_busy] == [visit.start]


@pytest.mark.parametrize(
    "bad", ["unknown", "inactive", "other_department", "other_doctors", "not_a_number"]
)
@pytest.mark.parametrize("operation", ["Slot", "Appointment/$find"])
def test_a_type_that_is_not_offered_is_a_400_outcome(world, bad, operation):
    code = {
        "unknown": lambda: "999999",
        "inactive": lambda: VisitTypeFactory(department=world.department, is_active=False).pk,
        "other_department": lambda: VisitTypeFactory(department=DepartmentFactory()).pk,
        "other_doctors": lambda: VisitTypeFactory(department=None, doctor=world.other_doctor).pk,
        "not_a_number": lambda: "proc",
    }[bad]()
    params = {"service-type": f"{VISIT_TYPES}|{code}"}
    if operation == "Slot":
        params["schedule"] = schedule_of(world)
    else:
        params.update(
            start="2026-12-03", end="2026-12-03", practitioner=f"Practitioner/{world.doctor.pk}"
        )
    response = world.client("desk").get(BASE + operation, params)
    if operation != "Slot" and bad in ("other_department", "other_doctors"):
        # $find asks about many doctors: a real, active type none of them offers finds nothing.
        assert parsed(response).total == 0
        return
    assert_outcome(response, 400, "invalid", "visit_type_not_offered")


@pytest.mark.parametrize("role", LOGGED_IN)
def test_a_desk_only_type_is_searched_by_staff_only(world, role, desk_only):
    response = world.client(role).get(
        BASE + "Slot", {"schedule": schedule_of(world), "service-type": typed(desk_only)}
    )
    if role in STAFF:
        assert parsed(response).total > 0
    else:
        assert_outcome(response, 400, "invalid", "visit_type_not_offered")


def test_anonymous_callers_search_no_slots_of_a_type(world, procedure):
    response = world.client("anon").get(
        BASE + "Slot", {"schedule": schedule_of(world), "service-type": typed(procedure)}
    )
    assert_outcome(response, 401, "login")


@pytest.mark.parametrize(
    "value",
    [
        lambda w, p: f"{typed(p)},{DEPARTMENTS}|{w.department.pk}",
        lambda w, p: f"{typed(p)},{VISIT_TYPES}|{p.pk + 1}",
    ],
    ids=["type_and_department", "two_types"],
)
def test_a_type_goes_alone_in_service_type(world, procedure, value):
    response = world.client("desk").get(
        BASE + "Slot", {"schedule": schedule_of(world), "service-type": value(world, procedure)}
    )
    assert_outcome(response, 400, "invalid", "invalid")


def test_a_type_and_another_departments_specialty_find_nothing(world, procedure):
    found = slots(
        world, **{"service-type": typed(procedure), "specialty": str(world.department.pk + 1000)}
    )
    assert found == []


# $find --------------------------------------------------------------------------------------------


def test_find_proposes_the_types_times_of_the_doctors_who_offer_it(world):
    own = VisitTypeFactory(name="Long talk", department=None, doctor=world.doctor, minutes=60)
    client = world.client("patient")
    got = parsed(
        client.get(
            BASE + "Appointment/$find",
            {"start": "2026-12-03", "end": "2026-12-03", "service-type": typed(own), "_count": 100},
        )
    )
    posted = parsed(
        client.post(
            BASE + "Appointment/$find",
            json.dumps(
                {
                    "resourceType": "Parameters",
                    "parameter": [
                        {"name": "start", "valueDate": "2026-12-03"},
                        {"name": "end", "valueDate": "2026-12-03"},
                        {
                            "name": "service-type",
                            "valueCoding": {"system": VISIT_TYPES, "code": str(own.pk)},
                        },
                        {"name": "_count", "valueInteger": 100},
                    ],
                }
            ),
            content_type=FHIR_JSON,
        )
    )
    expected = open_slots(
        doctor=world.doctor,
        clinic=world.clinic,
        now=NOW,
        first_day=VISIT_DAY,
        last_day=VISIT_DAY,
        visit_type=own,
    )
    for bundle in (got, posted):
        found = entries(bundle)
        # The other doctor does not offer it.
        assert {p.participant[0].actor.reference for p in found} == {
            f"Practitioner/{world.doctor.pk}"
        }
        assert [(p.start, p.end) for p in found] == [(s.start, s.end) for s in expected]
        assert all(p.minutesDuration == 60 and codes(p.serviceType) == [str(own.pk)] for p in found)


# Appointment: read, create, move ------------------------------------------------------------------


READ_OUTCOMES = {
    "anon": 401,
    "patient": 200,
    "other_patient": 404,
    "doctor": 200,
    "other_doctor": 404,
    "desk": 200,
    "admin": 200,
    "integration": 200,
}


@pytest.mark.parametrize(("role", "status"), READ_OUTCOMES.items())
def test_a_typed_appointment_shows_its_type_to_whoever_reaches_it(world, procedure, role, status):
    visit = AppointmentFactory(
        patient=world.patient,
        doctor=world.doctor,
        clinic=world.clinic,
        start=local(VISIT_DAY, 11),
        end=local(VISIT_DAY, 11, 45),
        visit_type=procedure,
    )
    response = world.client(role).get(f"{BASE}Appointment/{visit.pk}")
    if status != 200:
        assert_outcome(response, status)
        return
    resource = parsed(response)
    assert resource.minutesDuration == 45
    department, kind = resource.serviceType
    assert codes([department], DEPARTMENTS) == [str(world.department.pk)]
    assert [(c.system, c.code, c.display) for c in kind.coding] == [
        (VISIT_TYPES, str(procedure.pk), "Procedure")
    ]
    assert kind.text == "Procedure"
    # An untyped appointment names its department only.
    assert (
        codes(
            parsed(
                world.client("desk").get(f"{BASE}Appointment/{world.appointment.pk}")
            ).serviceType
        )
        == []
    )


@pytest.mark.parametrize("role", ["patient", *STAFF])
def test_a_create_with_a_service_type_books_that_type(world, procedure, role):
    response = create(world, role, serviceType=[type_concept(procedure)], minutesDuration=45)
    resource = parsed(response, 201)
    record = Appointment.objects.get(pk=resource.id)
    assert record.visit_type == procedure
    assert record.end == local(VISIT_DAY, 11, 45)
    assert resource.minutesDuration == 45
    assert codes(resource.serviceType) == [str(procedure.pk)]
    # Read back the same way.
    assert codes(parsed(world.client(role).get(f"{BASE}Appointment/{record.pk}")).serviceType) == [
        str(procedure.pk)
    ]


def test_doctors_do_not_book_a_type(world, procedure):
    response = create(world, "doctor", serviceType=[type_concept(procedure)])
    assert_outcome(response, 403, "forbidden")
    assert not Appointment.objects.filter(visit_type=procedure).exists()


def test_a_patient_cannot_book_a_desk_only_type_but_the_desk_can(world, desk_only):
    refused = create(world, "patient", serviceType=[type_concept(desk_only)])
    problem = assert_outcome(refused, 422, "business-rule", "visit_type_not_online")
    assert "front desk" in problem.diagnostics
    assert not Appointment.objects.filter(visit_type=desk_only).exists()
    parsed(create(world, "desk", serviceType=[type_concept(desk_only)]), 201)


@pytest.mark.parametrize(
    ("bad", "status", "code"),
    [
        ("unknown", 400, "invalid"),
        ("not_a_number", 400, "invalid"),
        ("other_department", 422, "visit_type_not_offered"),
        ("inactive", 422, "visit_type_not_offered"),
        ("two_types", 400, "invalid"),
        ("wrong_length", 422, "unchangeable"),
    ],
)
def test_a_create_with_a_bad_type_books_nothing(world, procedure, bad, status, code):
    concept = {
        "unknown": lambda: {"coding": [{"system": VISIT_TYPES, "code": "999999"}]},
        "not_a_number": lambda: {"coding": [{"system": VISIT_TYPES, "code": "proc"}]},
        "other_department": lambda: type_concept(VisitTypeFactory(department=DepartmentFactory())),
        "inactive": lambda: type_concept(
            VisitTypeFactory(department=world.department, is_active=False)
        ),
        "two_types": lambda: {
            "coding": [
                {"system": VISIT_TYPES, "code": str(procedure.pk)},
                {"system": VISIT_TYPES, "code": str(procedure.pk + 1)},
            ]
        },
        "wrong_length": lambda: type_concept(procedure),
    }[bad]()
    extra = {"minutesDuration": 15} if bad == "wrong_length" else {}
    before = Appointment.objects.count()
    response = create(world, "desk", serviceType=[concept], **extra)
    assert_outcome(response, status, code=code)
    assert Appointment.objects.count() == before


def test_a_move_keeps_the_type(world, procedure):
    visit = parsed(create(world, "patient", serviceType=[type_concept(procedure)]), 201)
    served = json.loads(world.client("patient").get(f"{BASE}Appointment/{visit.id}").content)
    moved = world.client("patient").put(
        f"{BASE}Appointment/{visit.id}",
        json.dumps({**served, "slot": [slot_ref(world, 12)]}),
        content_type=FHIR_JSON,
    )
    resource = parsed(moved, 201)
    record = Appointment.objects.get(pk=resource.id)
    assert record.visit_type == procedure
    assert (record.start, record.end) == (local(VISIT_DAY, 12), local(VISIT_DAY, 12, 45))
    assert resource.minutesDuration == 45
    assert codes(resource.serviceType) == [str(procedure.pk)]


def test_the_type_cannot_change_in_an_update(world, procedure):
    served = json.loads(
        world.client("desk").get(f"{BASE}Appointment/{world.appointment.pk}").content
    )
    served["serviceType"].append(type_concept(procedure))
    response = world.client("desk").put(
        f"{BASE}Appointment/{world.appointment.pk}", json.dumps(served), content_type=FHIR_JSON
    )
    assert_outcome(response, 422, "business-rule", "unchangeable")
    world.appointment.refresh_from_db()
    assert world.appointment.visit_type is None


# $hold and $book ----------------------------------------------------------------------------------


def typed_proposal(world, visit_type, patient=None):
    start = local(VISIT_DAY, 11)
    found = world.client("desk").get(
        BASE + "Appointment/$find",
        {
            "start": start.isoformat(),
            "end": (start + dt.timedelta(minutes=visit_type.minutes)).isoformat(),
            "practitioner": f"Practitioner/{world.doctor.pk}",
            "location": f"Location/{world.clinic.pk}",
            "service-type": typed(visit_type),
        },
    )
    (entry,) = json.loads(found.content)["entry"]
    resource = entry["resource"]
    if patient is not None:
        resource["participant"].insert(
            0, {"actor": {"reference": f"Patient/{patient.pk}"}, "status": "accepted"}
        )
    return resource


def operation(world, role, name, resource):
    body = {
        "resourceType": "Parameters",
        "parameter": [{"name": "appt-resource", "resource": resource}],
    }
    return world.client(role).post(
        f"{BASE}Appointment/${name}", json.dumps(body), content_type=FHIR_JSON
    )


def test_a_typed_proposal_is_held_for_its_length_and_booked_as_that_type(world, procedure):
    response = operation(world, "desk", "hold", typed_proposal(world, procedure, world.walk_in))
    pending = parsed(response)
    assert pending.status == "pending"
    assert pending.minutesDuration == 45 and codes(pending.serviceType) == [str(procedure.pk)]
    hold = SlotHold.objects.get()
    assert hold.end - hold.start == dt.timedelta(minutes=45)

    booked = parsed(operation(world, "desk", "book", json.loads(response.content)), 201)
    record = Appointment.objects.get(pk=booked.id)
    assert (record.visit_type, record.end) == (procedure, local(VISIT_DAY, 11, 45))
    assert not SlotHold.objects.exists()


def test_a_patient_cannot_hold_a_desk_only_type(world, desk_only):
    response = operation(world, "patient", "hold", typed_proposal(world, desk_only))
    assert_outcome(response, 422, "business-rule", "visit_type_not_offered")
    assert not SlotHold.objects.exists()


# Schedule search and the CapabilityStatement ------------------------------------------------------


def schedules_found(world, role="patient", **params):
    return {s.id for s in entries(search(world.client(role), "Schedule", **params))}


def test_schedules_by_service_type_are_those_of_the_doctors_who_offer_it(world, procedure):
    own = VisitTypeFactory(name="Own", department=None, doctor=world.other_doctor)
    doctor, other = world.doctor, world.other_doctor
    everyone = schedules_found(world)
    by_department = schedules_found(world, **{"service-type": str(world.department.pk)})
    assert by_department == everyone
    assert schedules_found(world, **{"service-type": typed(procedure)}) == {
        f"{doctor.pk}-{world.clinic.pk}",
        f"{doctor.pk}-{world.london.pk}",
        f"{other.pk}-{world.clinic.pk}",
    }
    assert schedules_found(world, **{"service-type": typed(own)}) == {
        f"{other.pk}-{world.clinic.pk}"
    }


@pytest.mark.parametrize("role", LOGGED_IN)
def test_schedules_by_a_desk_only_type_are_for_staff(world, role, desk_only):
    response = world.client(role).get(BASE + "Schedule", {"service-type": typed(desk_only)})
    if role in STAFF:
        # Every schedule of the department, the inactive doctor's too, as staff see them.
        department = schedules_found(world, role, **{"service-type": str(world.department.pk)})
        assert {s.id for s in entries(parsed(response))} == department
        assert len(department) == 4
    else:
        assert_outcome(response, 400, "invalid", "visit_type_not_offered")


def test_the_capability_statement_names_the_visit_type_codes(world):
    (rest,) = parsed(world.client("anon").get(BASE + "metadata")).rest
    resources = {resource.type: resource for resource in rest.resource}
    for resource_type in ("Schedule", "Slot"):
        (param,) = [p for p in resources[resource_type].searchParam if p.name == "service-type"]
        assert param.type == "token"
        assert param.definition.endswith(f"/SearchParameter/{resource_type}-service-type")
        assert "<base>/visit-type|<id>" in param.documentation
