"""Schedule and Slot: when a doctor can be booked at a clinic.

    Schedule  one per doctor and clinic where they have working hours ("<doctor>-<clinic>"), over
              the booking window (planningHorizon)
    Slot      the free times of the portal's own slot engine (bookings.selectors.open_slots, as
              the booking pages and GET /api/v1/slots/ offer them) and the busy times of active
              appointments, over a range inside the booking window

A Slot's id is "<doctor>-<clinic>-<start in UTC, YYYYMMDDTHHMMZ>": the API's slot id
("<doctor>:<clinic>:<start>", api/slots.py) in FHIR's id alphabet, which has no colon. It names
the same time, so booking with it (a later slice) goes through the same checks; like the API's it
is not signed, since the booking service checks every rule again under its locks.

Busy slots show when a doctor is booked, never by whom.
"""

import datetime as dt
import re
from typing import NamedTuple

from django.http import Http404
from django.utils import timezone
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot

from api.slots import ParsedSlot
from api.slots import slot_id as api_slot_id
from bookings.forms import SANE_YEARS
from bookings.models import Appointment
from bookings.scheduling import at
from bookings.selectors import open_slots
from bookings.slot_pages import window
from doctors.selectors import takes_bookings_at
from fhir.outcomes import FhirError
from fhir.search import SPEC, SearchParam, base_url, id_param, key_of, paged
from fhir.structure import (
    department_concept,
    doctors_at_clinics,
    pair_id,
    pairs_query,
    read_pair,
)
from fhir.views import ResourceType
from fhir.visit_types import (
    check_offered,
    offering,
    service_asked,
    service_types,
    types_offered,
    visit_type_concept,
)

DEFAULT_DAYS = 7
SLOT_ID = re.compile(r"([1-9][0-9]{0,9})-([1-9][0-9]{0,9})-([0-9]{8}T[0-9]{4}Z)", re.ASCII)
SLOT_START = "%Y%m%dT%H%MZ"
# FHIR's slot statuses; only free and busy are ever answered.
SLOT_STATUSES = frozenset(
    {"free", "busy", "busy-unavailable", "busy-tentative", "entered-in-error"}
)


def _instant(value, zone):
    return value.astimezone(zone).isoformat(timespec="seconds")


# Schedule -----------------------------------------------------------------------------------------


def schedule(pair, now, visit_types=()):
    """The Schedule of a doctor at a clinic; its serviceType is the department (the plain
    slots) and then `visit_types`, the types the doctor offers the caller, whose codes a Slot
    search's and $find's service-type take."""
    doctor, clinic = pair.doctor, pair.clinic
    first_day, last_day = window(clinic, now)
    horizon_end = at(last_day + dt.timedelta(days=1), dt.time.min, clinic.zone)
    return Schedule(
        id=pair.id,
        active=takes_bookings_at(doctor, clinic, now),
        actor=[
            {"reference": f"Practitioner/{doctor.pk}", "display": doctor.full_name},
            {"reference": f"Location/{clinic.pk}", "display": clinic.name},
        ],
        serviceType=[
            department_concept(doctor.department),
            *(visit_type_concept(visit_type) for visit_type in visit_types),
        ],
        specialty=[department_concept(doctor.department)],
        planningHorizon={
            "start": _instant(at(first_day, dt.time.min, clinic.zone), clinic.zone),
            "end": _instant(horizon_end, clinic.zone),
        },
        comment=f"{doctor.full_name} at {clinic.name}: bookable times over the booking window.",
    )


def _actor_keys(query, base):
    """({doctor keys} or None, {clinic keys} or None) named by `actor`."""
    choices = query.choices("actor")
    if choices is None:
        return None, None
    doctors, clinics = set(), set()
    for choice in choices:
        kind, _, ident = choice.removeprefix(base).rpartition("/")
        if kind not in ("Practitioner", "Location"):
            raise FhirError("actor is Practitioner/<id> or Location/<id>.")
        key = key_of(ident)
        if key is not None:
            (doctors if kind == "Practitioner" else clinics).add(key)
    named = {choice.removeprefix(base).partition("/")[0] for choice in choices}
    return (
        doctors if "Practitioner" in named else None,
        clinics if "Location" in named else None,
    )


class Schedules(ResourceType):
    name = "Schedule"
    search_params = (
        id_param("Schedule"),
        SearchParam(
            "actor",
            "reference",
            SPEC + "Schedule-actor",
            "The doctor or the clinic: Practitioner/<id> or Location/<id> (a comma means or).",
        ),
        SearchParam(
            "service-type",
            "token",
            SPEC + "Schedule-service-type",
            "The department's code (its id), or system|code; a comma means or. Or one visit "
            "type, <base>/visit-type|<id>: the schedules of the doctors who offer it.",
        ),
    )

    def read(self, request, resource_id):
        pair = read_pair(request, resource_id)
        offered = types_offered([pair.doctor], request.user)
        return schedule(pair, timezone.now(), offered[pair.doctor.pk])

    def search(self, request, query):
        pairs = pairs_query(request, query)
        doctors, clinics = _actor_keys(query, base_url(request))
        if doctors is not None and clinics is not None:
            # Alternatives of one parameter: a schedule of any of the doctors or clinics.
            pairs = pairs.filter(doctor_id__in=doctors) | pairs.filter(clinic_id__in=clinics)
        elif doctors is not None:
            pairs = pairs.filter(doctor_id__in=doctors)
        elif clinics is not None:
            pairs = pairs.filter(clinic_id__in=clinics)
        asked = service_asked(query, request.user)
        if asked.departments is not None:
            pairs = pairs.filter(doctor__department_id__in=asked.departments)
        if asked.visit_type is not None:
            pairs = pairs.filter(offering(asked.visit_type))
        total, rows = paged(pairs, query.page)
        now = timezone.now()
        found = doctors_at_clinics(rows)
        offered = types_offered([pair.doctor for pair in found], request.user) if found else {}
        return total, [schedule(pair, now, offered[pair.doctor.pk]) for pair in found]


# Slot ---------------------------------------------------------------------------------------------


def slot_id(doctor_id, clinic_id, start):
    return f"{pair_id(doctor_id, clinic_id)}-{start.astimezone(dt.UTC):{SLOT_START}}"


def parse_slot_id(value):
    """The API's ParsedSlot (doctor key, clinic key, aware UTC start) a Slot id names;
    ValueError for anything else."""
    match = SLOT_ID.fullmatch(value)
    if match is None:
        raise ValueError(value)
    start = dt.datetime.strptime(match.group(3), SLOT_START).replace(tzinfo=dt.UTC)
    if not SANE_YEARS[0] <= start.year <= SANE_YEARS[1]:
        raise ValueError(value)
    return ParsedSlot(int(match.group(1)), int(match.group(2)), start)


def as_api_slot_id(value, doctor, clinic):
    """The API's id of the same time (for booking through the API's paths)."""
    return api_slot_id(doctor, clinic, parse_slot_id(value).start)


PREFIXED = re.compile(r"([a-z]{2})?([0-9].*)", re.ASCII | re.DOTALL)
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)
START_HELP = (
    "start is a date (YYYY-MM-DD, the clinic's own) or a time with an offset "
    "(2026-12-03T10:00:00+05:30), after ge, gt, le, lt or eq."
)


class Bound:
    """One end of the asked range: an instant, included or not."""

    def __init__(self, instant, inclusive):
        self.instant = instant
        self.inclusive = inclusive

    def admits_after(self, value):  # as a lower bound
        return value >= self.instant if self.inclusive else value > self.instant

    def admits_before(self, value):  # as an upper bound
        return value <= self.instant if self.inclusive else value < self.instant


def _parse_start(value, clinic, first_day, last_day):
    """[(which end, Bound), ...] for one `start` value; dates outside the booking window are
    refused before any arithmetic on them (9999-12-31 and a day is no date)."""
    match = PREFIXED.fullmatch(value)
    if match is None:
        raise FhirError(START_HELP)
    prefix, text = match.group(1) or "eq", match.group(2)
    if prefix not in ("eq", "ge", "gt", "le", "lt"):
        raise FhirError(f"The prefix {prefix!r} is not supported for start.", issue="not-supported")
    outside = FhirError(
        f"Choose start within the booking window, {first_day} to {last_day} at this clinic."
    )
    zone = clinic.zone
    if DATE.fullmatch(text):
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise FhirError(START_HELP) from None
        if not first_day <= day <= last_day:
            raise outside
        day_start = Bound(at(day, dt.time.min, zone), True)
        day_end = Bound(at(day + dt.timedelta(days=1), dt.time.min, zone), False)
        return {
            "eq": [("lower", day_start), ("upper", day_end)],
            "ge": [("lower", day_start)],
            "gt": [("lower", Bound(day_end.instant, True))],
            "le": [("upper", day_end)],
            "lt": [("upper", Bound(day_start.instant, False))],
        }[prefix]
    if not DATETIME.fullmatch(text):
        raise FhirError(START_HELP)
    try:
        instant = dt.datetime.fromisoformat(text)
    except ValueError:
        raise FhirError(START_HELP) from None
    if not SANE_YEARS[0] <= instant.year <= SANE_YEARS[1]:
        raise outside
    if not first_day <= instant.astimezone(zone).date() <= last_day:
        raise outside
    return {
        "eq": [("lower", Bound(instant, True)), ("upper", Bound(instant, True))],
        "ge": [("lower", Bound(instant, True))],
        "gt": [("lower", Bound(instant, False))],
        "le": [("upper", Bound(instant, True))],
        "lt": [("upper", Bound(instant, False))],
    }[prefix]


class SlotRange:
    """The instants and the clinic's days a Slot search covers."""

    def __init__(self, query, clinic, now):
        first_day, last_day = window(clinic, now)
        self.lower, self.upper = [], []
        for _, value in query.values.get("start", []):
            for end, bound in _parse_start(value, clinic, first_day, last_day):
                (self.lower if end == "lower" else self.upper).append(bound)
        zone = clinic.zone
        self.zone = zone
        self.first_day = max(
            [first_day] + [bound.instant.astimezone(zone).date() for bound in self.lower]
        )
        if self.upper:
            # An excluded midnight ends the day before it.
            self.last_day = min(
                (bound.instant - dt.timedelta(microseconds=0 if bound.inclusive else 1))
                .astimezone(zone)
                .date()
                for bound in self.upper
            )
        else:
            self.last_day = min(self.first_day + dt.timedelta(days=DEFAULT_DAYS - 1), last_day)

    def admits(self, start):
        if not self.first_day <= start.astimezone(self.zone).date() <= self.last_day:
            return False
        return all(bound.admits_after(start) for bound in self.lower) and all(
            bound.admits_before(start) for bound in self.upper
        )


def slot(pair, time):
    """The Slot of a Time: its serviceType is the department, then the visit type whose length
    it has (a free time of a typed search, or a typed appointment's busy time)."""
    doctor, clinic = pair.doctor, pair.clinic
    return Slot(
        id=slot_id(doctor.pk, clinic.pk, time.start),
        schedule={"reference": f"Schedule/{pair.id}"},
        status=time.status,
        start=_instant(time.start, clinic.zone),
        end=_instant(time.end, clinic.zone),
        serviceType=service_types(doctor, time.visit_type),
        specialty=[department_concept(doctor.department)],
    )


def _schedule_pair(request, query, base):
    """The doctor at a clinic that `schedule` names, or None if it names none visible."""
    _, value = query.one("schedule")
    if value is None:
        raise FhirError(
            "Give schedule: a Slot search is for one Schedule/<id>.",
            issue="required",
            code="required",
        )
    kind, _, ident = value.removeprefix(base).rpartition("/")
    if kind not in ("", "Schedule") or "," in ident:
        raise FhirError("schedule is one Schedule/<id>.")
    try:
        return read_pair(request, ident)
    except Http404:
        return None


class Time(NamedTuple):
    start: dt.datetime
    end: dt.datetime
    status: str
    visit_type: object  # a VisitType, or None: the doctor's plain slot


def _times(pair, span, now, visit_type):
    """The free and busy Times of the clinic's days in `span`: with a `visit_type`, its free
    times and the busy times of visits of that type."""
    doctor, clinic = pair.doctor, pair.clinic
    times = []
    if span.first_day <= span.last_day:
        if takes_bookings_at(doctor, clinic, now):
            times += [
                Time(free.start, free.end, "free", visit_type)
                for free in open_slots(
                    doctor=doctor,
                    clinic=clinic,
                    now=now,
                    first_day=span.first_day,
                    last_day=span.last_day,
                    visit_type=visit_type,
                )
            ]
        booked = (
            Appointment.objects.holding_slots()
            .filter(doctor=doctor, clinic=clinic)
            .overlapping(
                at(span.first_day, dt.time.min, clinic.zone),
                at(span.last_day + dt.timedelta(days=1), dt.time.min, clinic.zone),
            )
            .select_related("visit_type")
            .only("start", "end", "visit_type")
        )
        if visit_type is not None:
            booked = booked.filter(visit_type=visit_type)
        times += [Time(row.start, row.end, "busy", row.visit_type) for row in booked]
    return sorted(times, key=lambda time: (time.start, time.end, time.status))


class Slots(ResourceType):
    name = "Slot"
    read = None
    search_params = (
        id_param("Slot"),
        SearchParam(
            "schedule",
            "reference",
            SPEC + "Slot-schedule",
            "Required: the doctor at a clinic, Schedule/<doctor>-<clinic>.",
        ),
        SearchParam(
            "start",
            "date",
            SPEC + "Slot-start",
            "ge, gt, le, lt or eq and a date or a time with an offset, inside the booking window; "
            "give it twice for a range. Without it: the clinic's today and the 6 days after.",
            repeats=True,
        ),
        SearchParam("status", "token", SPEC + "Slot-status", "free or busy (a comma means or)."),
        SearchParam(
            "service-type",
            "token",
            SPEC + "Slot-service-type",
            "The department's code (its id), or system|code; a comma means or. Or one visit "
            "type, <base>/visit-type|<id> (a Schedule's serviceType lists them): its free "
            "times, with its length, and the busy times of its visits.",
        ),
        SearchParam(
            "specialty",
            "token",
            SPEC + "Slot-specialty",
            "The department's code (its id), or system|code; a comma means or.",
        ),
    )

    def search(self, request, query):
        pair = _schedule_pair(request, query, base_url(request))
        statuses = query.choices("status")
        if statuses is not None and not set(statuses) <= SLOT_STATUSES:
            raise FhirError("status is free or busy (or another of FHIR's slot statuses).")
        asked = service_asked(query, request.user)
        departments = asked.departments
        if pair is None or (
            departments is not None and pair.doctor.department_id not in departments
        ):
            return 0, []
        check_offered(asked.visit_type, pair.doctor, request.user)
        now = timezone.now()
        span = SlotRange(query, pair.clinic, now)
        ids = query.ids()
        found = [
            time
            for time in _times(pair, span, now, asked.visit_type)
            if span.admits(time.start)
            and (statuses is None or time.status in statuses)
            and (ids is None or slot_id(pair.doctor.pk, pair.clinic.pk, time.start) in ids)
        ]
        page = query.page
        rows = found[page.offset : page.offset + page.count] if page.count else []
        return len(found), [slot(pair, time) for time in rows]
