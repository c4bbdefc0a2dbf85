"""Appointment/$find: the free times of the doctors asked about over a period, as proposed
Appointments (after IHE ITI Scheduling's $find).

Parameters (GET in the URL, or POST as a Parameters resource): `start` and `end` (required: the
period, inside the booking window), `practitioner`, `location`, `specialty` and `service-type`
(the department's code, as Slot and HealthcareService carry it, or one visit type's, see
fhir/visit_types.py), `_count` and `_offset`. Each
proposal is a free slot of the slot engine (bookings/bulk_slots.py) lying wholly in the period:
status `proposed`, the Practitioner and Location (`needs-action`), the Slot, the times and the
department. Only doctors who take bookings are proposed, to every caller alike. Proposals are
kept nowhere: a client holds one ($hold) or books it ($book) by sending it back.
"""

import datetime as dt
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from fhir.resources.R4B.appointment import Appointment as FhirAppointment

from bookings.bulk_slots import free_slots_of_pairs
from bookings.forms import SANE_YEARS
from bookings.rules import booking_rules
from bookings.scheduling import at, bookable_range
from doctors.models import Clinic, WorkingHours
from doctors.selectors import takes_bookings_at
from fhir.appointments import department_and_slot, participant
from fhir.outcomes import FhirError
from fhir.schedules import DATE, DATETIME
from fhir.search import Links, SearchParam, base_url, reference_keys, searchset
from fhir.structure import doctors_at_clinics
from fhir.visit_types import service_asked

# The operation these parameters are modelled on.
IHE = "https://profiles.ihe.net/ITI/Scheduling/OperationDefinition/appointment-find"
PERIOD_HELP = (
    "is a date (YYYY-MM-DD: the day at each clinic) or a time with an offset "
    "(2026-12-03T10:00:00+05:30, or Z)."
)
FIND_PARAMS = (
    SearchParam(
        "start",
        "date",
        IHE,
        "Required: the period's start, a date (from that day's first minute at each clinic) or "
        "a time with an offset.",
    ),
    SearchParam(
        "end",
        "date",
        IHE,
        "Required: the period's end, a date (to that day's end at each clinic) or a time with "
        "an offset; each proposal ends by it. The period lies inside the booking window.",
    ),
    SearchParam("practitioner", "reference", IHE, "The doctor: Practitioner/<id>."),
    SearchParam("location", "reference", IHE, "The clinic: Location/<id>."),
    SearchParam("specialty", "token", IHE, "The department's code (its id), or system|code."),
    SearchParam(
        "service-type",
        "token",
        IHE,
        "The department's code (its id), or system|code: the Appointment's serviceType. Or "
        "one visit type, <base>/visit-type|<id> (a Schedule's serviceType lists them): its "
        "free times, with its length, of the doctors who offer it.",
    ),
)
# The names a POSTed Parameters resource may carry.
FIND_PARAMETER_NAMES = frozenset({param.name for param in FIND_PARAMS} | {"_count", "_offset"})


@dataclass(frozen=True)
class Moment:
    """One end of the period: a date (a day at each clinic) or an instant."""

    day: dt.date | None = None
    instant: dt.datetime | None = None

    @classmethod
    def parse(cls, name, text):
        problem = FhirError(f"{name} {PERIOD_HELP}")
        try:
            if DATE.fullmatch(text):
                moment = cls(day=dt.date.fromisoformat(text))
            elif DATETIME.fullmatch(text):
                moment = cls(instant=dt.datetime.fromisoformat(text))
            else:
                raise problem
        except ValueError:
            raise problem from None
        if not SANE_YEARS[0] <= (moment.day or moment.instant).year <= SANE_YEARS[1]:
            raise FhirError(f"{name} is in the years {SANE_YEARS[0]} to {SANE_YEARS[1]}.")
        return moment

    def first_instant(self, zone):
        """As the period's start: a day from its first minute."""
        return self.instant or at(self.day, dt.time.min, zone)

    def end_instant(self, zone):
        """As the period's end: a day to its end (the next day's first minute)."""
        return self.instant or at(self.day + dt.timedelta(days=1), dt.time.min, zone)


@dataclass(frozen=True)
class Period:
    start: Moment
    end: Moment

    def days_at(self, zone):
        """(first, last) local dates of the period at a clinic in `zone`."""
        first = self.start.day or self.start.instant.astimezone(zone).date()
        # An end at midnight ends the day before it.
        last = self.end.day or (
            (self.end.instant - dt.timedelta(microseconds=1)).astimezone(zone).date()
        )
        return first, last

    def admits(self, slot, zone):
        """Whether a slot at a clinic in `zone` lies wholly in the period."""
        starts_in = self.start.first_instant(zone) <= slot.start
        return starts_in and slot.end <= self.end.end_instant(zone)

    def is_open_at(self, zone):
        return self.start.first_instant(zone) < self.end.end_instant(zone)


def _period(query, zones, now):
    """The period asked for; 400 unless both ends are given, the end comes after the start and
    both lie in the booking window (of at least one clinic's calendar: the clinics' dates
    differ by a day at most)."""
    texts = {}
    for name in ("start", "end"):
        _, text = query.one(name)
        if text is None:
            raise FhirError(
                "Give start and end: $find looks for free times over a period.",
                issue="required",
                code="required",
            )
        texts[name] = text
    period = Period(Moment.parse("start", texts["start"]), Moment.parse("end", texts["end"]))
    if not any(period.is_open_at(zone) for zone in zones):
        raise FhirError("end comes after start.")
    rules = booking_rules()
    in_window = False
    for zone in zones:
        first_bookable, last_bookable = bookable_range(now, zone, rules)
        first, last = period.days_at(zone)
        in_window = in_window or (first_bookable <= first and last <= last_bookable)
    if not in_window:
        raise FhirError(
            f"Choose start and end within the booking window: from today up to "
            f"{rules.window_days} days ahead, in the clinic's calendar."
        )
    return period


def _doctors_at_clinics(query, base, departments):
    """The doctors at the clinics the query asks about (DoctorAtClinic, with their hours), active
    ones only: four queries."""
    pairs = WorkingHours.objects.filter(doctor__is_active=True)
    doctors = reference_keys(query, "practitioner", "Practitioner", base=base)
    if doctors is not None:
        pairs = pairs.filter(doctor_id__in=doctors)
    clinics = reference_keys(query, "location", "Location", base=base)
    if clinics is not None:
        pairs = pairs.filter(clinic_id__in=clinics)
    if departments is not None:
        pairs = pairs.filter(doctor__department_id__in=departments)
    rows = list(
        pairs.values("doctor_id", "clinic_id").distinct().order_by("doctor_id", "clinic_id")
    )
    return doctors_at_clinics(rows) if rows else []


def proposal(pair, free, visit_type=None):
    """A free slot (of `visit_type`, if one was asked for) as a proposed Appointment."""
    doctor, clinic = pair.doctor, pair.clinic
    return FhirAppointment(
        status="proposed",
        **department_and_slot(doctor, clinic, free.start, free.end, visit_type),
        participant=[
            participant(f"Practitioner/{doctor.pk}", doctor.full_name, "needs-action"),
            participant(f"Location/{clinic.pk}", clinic.name, "needs-action"),
        ],
    )


def proposal_full_url(base):
    """A proposal lives nowhere: its fullUrl is a UUID made from its Slot, the same each time
    it is found."""

    def full_url(resource):
        slot = resource.slot[0].reference
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{base}{slot}#proposed')}"

    return full_url


def find(request, query, links):
    """The searchset Bundle of proposed Appointments for `query` (fhir.search.Query of
    FIND_PARAMS), with paging links of `links`."""
    now = timezone.now()
    base = base_url(request)
    zones = [ZoneInfo(name) for name in _zone_names()]
    period = _period(query, zones, now)
    asked = service_asked(query, request.user)
    pairs = [
        pair
        for pair in _doctors_at_clinics(query, base, asked.departments)
        if takes_bookings_at(pair.doctor, pair.clinic, now) and period.is_open_at(pair.clinic.zone)
    ]
    days = {pair.clinic.pk: period.days_at(pair.clinic.zone) for pair in pairs}
    found = sorted(
        (
            (pair, free)
            for pair, free in free_slots_of_pairs(
                pairs, days=days, now=now, visit_type=asked.visit_type
            )
            if period.admits(free, pair.clinic.zone)
        ),
        key=lambda item: (item[1].start, item[0].doctor.pk, item[0].clinic.pk),
    )
    page = query.page
    rows = found[page.offset : page.offset + page.count] if page.count else []
    return searchset(
        request,
        total=len(found),
        resources=[proposal(pair, free, asked.visit_type) for pair, free in rows],
        page=page,
        links=links,
        full_url=proposal_full_url(base),
    )


def _zone_names():
    """The clinics' time zones (one query); the server's own when there is no clinic yet."""
    names = list(Clinic.objects.values_list("timezone", flat=True).distinct())
    return names or [settings.TIME_ZONE]


def posted_links(request, query_dict):
    """The paging links of a POSTed $find: GETs of the same operation with its parameters."""
    pairs = tuple(
        (key, value) for key, values in query_dict.lists() if key != "_offset" for value in values
    )
    return Links(request.build_absolute_uri(request.path), pairs)
