"""Figures about appointments for the clinic's reports, each computed by aggregate queries in the
database (a fixed, small number whatever the range); Python only arranges the aggregated rows.

Every function takes a Scope: the days `first` to `last` (both included) and optionally one clinic,
department or doctor. Days are each clinic's own calendar days ("store UTC, show in the clinic's
zone"): an appointment at 23:30 in a London clinic belongs to that London day and week, whatever
zone the report is read in, so the figures for all clinics are the sums of each clinic's.
An appointment belongs to the range and period its start falls in.

An appointment that was moved to a new time is counted once, as the appointment it became: the
row it left behind (cancelled, "Moved to a new time") is not a cancellation.

The query counts below leave out one more per Scope: the clinics' time zones (none when the Scope
has a clinic).
"""

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from functools import cached_property, reduce
from operator import or_

from django.db.models import (
    Case,
    Count,
    DateField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Trunc
from django.utils.translation import gettext_lazy, pgettext

from bookings.models import Appointment, Status
from doctors.models import Clinic, Doctor, Holiday, TimeOff, WorkingHours

STATUSES = [Status.BOOKED, Status.CHECKED_IN, Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW]
GRAINS = ("day", "week", "month")
ZERO_DURATION = Value(dt.timedelta(0), output_field=DurationField())


@dataclass(frozen=True)
class Scope:
    first: dt.date
    last: dt.date
    clinic: object = None
    department: object = None
    doctor: object = None

    @cached_property
    def clinics_by_zone(self):
        """{zone name: [clinic ids]} of the clinics in scope. One query at most, remembered."""
        if self.clinic is not None:
            return {self.clinic.timezone: [self.clinic.pk]}
        found = {}
        for pk, name in Clinic.objects.order_by("pk").values_list("pk", "timezone"):
            found.setdefault(name, []).append(pk)
        return found

    @cached_property
    def zones(self):
        """{name: ZoneInfo} of the clinics in scope, by name."""
        return {name: zoneinfo.ZoneInfo(name) for name in sorted(self.clinics_by_zone)}

    def bounds(self, zone):
        """The range in `zone`: from the first day's midnight to the midnight after the last."""
        return (
            dt.datetime.combine(self.first, dt.time.min, tzinfo=zone),
            dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
        )

    def during(self, field, clinic="clinic"):
        """Q: `field` (a datetime) falls on one of the range's days of the clinic that `clinic`
        (a lookup path) leads to.

        Clinics are told apart by their ids, which the rows carry: naming their zones would join
        the clinics' table to every row of a year and compare the names."""
        if len(self.zones) == 1:
            start, end = self.bounds(next(iter(self.zones.values())))
            return Q(**{f"{field}__gte": start, f"{field}__lt": end})
        conditions = []
        for name, zone in self.zones.items():
            start, end = self.bounds(zone)
            conditions.append(
                Q(
                    **{
                        f"{clinic}__in": self.clinics_by_zone[name],
                        f"{field}__gte": start,
                        f"{field}__lt": end,
                    }
                )
            )
        return reduce(or_, conditions) if conditions else Q(pk__in=[])

    def period(self, field, grain, clinic="clinic"):
        """The first day of the day, week (from Monday) or month `field` falls in, in the calendar
        of its clinic. PostgreSQL gives it as a midnight datetime: see `as_date`."""

        def truncated(zone):
            return Trunc(field, grain, output_field=DateField(), tzinfo=zone)

        if len(self.zones) == 1:
            return truncated(next(iter(self.zones.values())))
        return Case(
            *[
                When(**{f"{clinic}__in": self.clinics_by_zone[name]}, then=truncated(zone))
                for name, zone in self.zones.items()
            ],
            output_field=DateField(),
        )

    def appointments(self):
        # Moved appointments count once, as their new time. Written as NOT EXISTS: the LEFT JOIN
        # that `rescheduled_to__isnull` makes leads PostgreSQL to nested loops over a year. The
        # IS NOT NULL, implied by the equality, lets the anti-join hash only the few moved rows
        # (a range of the unique index) instead of every row's empty link.
        moved_from = Appointment.objects.filter(
            rescheduled_from__isnull=False, rescheduled_from=OuterRef("pk")
        )
        appointments = Appointment.objects.filter(self.during("start")).filter(~Exists(moved_from))
        if self.clinic is not None:
            appointments = appointments.filter(clinic=self.clinic)
        if self.department is not None:
            appointments = appointments.filter(doctor__department=self.department)
        if self.doctor is not None:
            appointments = appointments.filter(doctor=self.doctor)
        return appointments

    def doctors(self):
        doctors = Doctor.objects.all()
        if self.department is not None:
            doctors = doctors.filter(department=self.department)
        if self.doctor is not None:
            doctors = doctors.filter(pk=self.doctor.pk)
        return doctors


def _status_counts():
    return {status.value: Count("pk", filter=Q(status=status)) for status in STATUSES}


# Appointment trends ------------------------------------------------------------------------------


def trends(scope, *, grain):
    """[{"period": date, "booked": n, ..., "total": n}] per day, week (from Monday) or month,
    every period of the range present (zeros included). One query."""
    if grain not in GRAINS:
        raise ValueError(f"Unknown period {grain!r}")
    rows = (
        scope.appointments()
        .annotate(period=scope.period("start", grain))
        .values("period")
        .annotate(**_status_counts(), total=Count("pk"))
        .order_by("period")
    )
    found = {as_date(row["period"]): row for row in rows}
    empty = {status.value: 0 for status in STATUSES} | {"total": 0}
    return [
        {"period": period, **{key: found.get(period, empty)[key] for key in empty}}
        for period in periods(scope, grain)
    ]


def as_date(value):
    """A period from `Scope.period`: a date, or on PostgreSQL (where a CASE over zones returns
    DATE_TRUNC's timestamp as it is) the midnight that starts it."""
    return value.date() if isinstance(value, dt.datetime) else value


def periods(scope, grain):
    """The first day of every day, week (Monday) or month the range touches, in order."""
    first, last = scope.first, scope.last
    if grain == "week":
        first -= dt.timedelta(days=first.weekday())
    elif grain == "month":
        first = first.replace(day=1)
    found = []
    current = first
    while current <= last:
        found.append(current)
        if grain == "day":
            current += dt.timedelta(days=1)
        elif grain == "week":
            current += dt.timedelta(days=7)
        else:
            current = (current.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return found


# No-shows and cancellations ----------------------------------------------------------------------


def _attendance(rows):
    result = []
    for row in rows:
        # A no-show rate only counts appointments whose time came (completed or no-show); a
        # cancellation rate counts all that were made.
        attended_or_not = row["completed"] + row["no_show"]
        result.append(
            {
                **row,
                "no_show_rate": row["no_show"] / attended_or_not if attended_or_not else None,
                "cancellation_rate": row["cancelled"] / row["total"] if row["total"] else None,
            }
        )
    return result


def attendance_by_doctor(scope):
    """Counts and rates per doctor, by name. Two queries: the counts grouped by the doctor's id
    alone (a few hundred groups, hashed), then those doctors' names. Grouping by the names as
    well made PostgreSQL sort a year of appointments by name, on disk."""
    counts = list(
        scope.appointments()
        .values("doctor")
        .annotate(
            total=Count("pk"),
            completed=Count("pk", filter=Q(status=Status.COMPLETED)),
            no_show=Count("pk", filter=Q(status=Status.NO_SHOW)),
            cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
        )
        .order_by()
    )
    names = {
        row["pk"]: row
        for row in Doctor.objects.filter(pk__in=[row["doctor"] for row in counts]).values(
            "pk", "full_name", department_name=F("department__name")
        )
    }
    rows = [
        {
            "doctor": row["doctor"],
            "name": names[row["doctor"]]["full_name"],
            "department_name": names[row["doctor"]]["department_name"],
            **{key: row[key] for key in ("total", "completed", "no_show", "cancelled")},
        }
        for row in counts
    ]
    return _attendance(sorted(rows, key=lambda row: (row["name"], row["doctor"])))


def attendance_by_department(scope):
    rows = (
        scope.appointments()
        .values("doctor__department", name=F("doctor__department__name"))
        .annotate(
            total=Count("pk"),
            completed=Count("pk", filter=Q(status=Status.COMPLETED)),
            no_show=Count("pk", filter=Q(status=Status.NO_SHOW)),
            cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
        )
        .order_by("name")
    )
    return _attendance(list(rows))


CONFIRMATION_GROUPS = (
    ("confirmed", gettext_lazy("Confirmed")),
    ("unconfirmed", gettext_lazy("Not confirmed")),
)


def attendance_by_confirmation(scope):
    """The same counts and rates for appointments whose patient confirmed they would come (by a
    link in a message, a text reply or to the front desk) and for those nobody confirmed: do
    confirmations tell who will come? One query: a row each, in that order, zeros included;
    no rows when the range has no appointments at all (as the other tables)."""
    confirmed = Q(attendance_confirmed_at__isnull=False)
    groups = {"confirmed": confirmed, "unconfirmed": ~confirmed}
    statuses = {
        "completed": Status.COMPLETED,
        "no_show": Status.NO_SHOW,
        "cancelled": Status.CANCELLED,
    }
    aggregates = {}
    for key, condition in groups.items():
        aggregates[f"{key}_total"] = Count("pk", filter=condition)
        for name, status in statuses.items():
            aggregates[f"{key}_{name}"] = Count("pk", filter=condition & Q(status=status))
    counts = scope.appointments().aggregate(**aggregates)
    if not counts["confirmed_total"] and not counts["unconfirmed_total"]:
        return []
    return _attendance(
        [
            {
                "group": key,
                "name": str(label),
                "total": counts[f"{key}_total"],
                **{name: counts[f"{key}_{name}"] for name in statuses},
            }
            for key, label in CONFIRMATION_GROUPS
        ]
    )


# Utilisation -------------------------------------------------------------------------------------


def _duration(start, end):
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def utilisation(scope):
    """Per doctor: minutes offered (working hours on the range's days, less the clinic's holidays
    and the doctor's time off within those hours) and minutes booked (appointments holding their
    time), and their ratio. Five queries.

    Offered time is counted in each clinic's weekly hours as entered (wall-clock time, in the
    clinic's calendar); operating hours that cut a working stretch short are not subtracted.
    Working hours, holidays and time off are the clinics' set-up, not a growing history, so
    their few rows are arranged here; appointments are only ever summed in the database.
    """
    doctors = {
        row["pk"]: row
        for row in scope.doctors().values("pk", "full_name", department_name=F("department__name"))
    }
    first, last = scope.first, scope.last

    hours = WorkingHours.objects.filter(doctor__in=scope.doctors())
    if scope.clinic is not None:
        hours = hours.filter(clinic=scope.clinic)
    stretches = {}
    for row in hours.values(
        "doctor", "clinic", "weekday", "starts_at", "ends_at", zone=F("clinic__timezone")
    ).order_by():
        stretches.setdefault(row["doctor"], []).append(row)
    closed = {}
    for clinic_id, day in Holiday.objects.filter(date__range=(first, last)).values_list(
        "clinic", "date"
    ):
        closed.setdefault(clinic_id, set()).add(day)

    def shut(clinic_id):
        # A clinic is shut on its own holidays and on those of every clinic.
        return closed.get(clinic_id, set()) | closed.get(None, set())

    # How many of each weekday the range has, per clinic, leaving out its holidays: calendar
    # arithmetic on at most a few hundred dates.
    open_days = {}

    def weekday_count(clinic_id, weekday):
        key = (clinic_id, weekday)
        if key not in open_days:
            holidays = shut(clinic_id)
            open_days[key] = sum(
                1
                for n in range((last - first).days + 1)
                if (day := first + dt.timedelta(days=n)).weekday() == weekday
                and day not in holidays
            )
        return open_days[key]

    offered = {pk: dt.timedelta(0) for pk in doctors}
    for doctor, rows in stretches.items():
        for row in rows:
            length = _wall_clock(first, row["ends_at"]) - _wall_clock(first, row["starts_at"])
            offered[doctor] += length * weekday_count(row["clinic"], row["weekday"])

    # Time off takes away only the working time it covers (on open days of the range); a day
    # away over a weekend takes nothing. Any zone's day of the range lies within a day of these.
    away = {}
    for doctor, starts_at, ends_at in TimeOff.objects.filter(
        doctor__in=scope.doctors(),
        starts_at__lt=dt.datetime.combine(last + dt.timedelta(days=2), dt.time.min, dt.UTC),
        ends_at__gt=dt.datetime.combine(first - dt.timedelta(days=1), dt.time.min, dt.UTC),
    ).values_list("doctor", "starts_at", "ends_at"):
        away.setdefault(doctor, []).append((starts_at, ends_at))
    for doctor, intervals in away.items():
        for row in stretches.get(doctor, []):
            offered[doctor] -= _time_off_within(row, intervals, first, last, shut(row["clinic"]))

    booked = dict(
        scope.appointments()
        .exclude(status=Status.CANCELLED)
        .values("doctor")
        .annotate(busy=Coalesce(Sum(_duration("start", "end")), ZERO_DURATION))
        .values_list("doctor", "busy")
        .order_by()
    )
    result = []
    for pk, doctor in sorted(doctors.items(), key=lambda item: (item[1]["full_name"], item[0])):
        offered_minutes = int(offered[pk].total_seconds() // 60)
        booked_minutes = int(booked.get(pk, dt.timedelta(0)).total_seconds() // 60)
        if not offered_minutes and not booked_minutes:
            continue
        result.append(
            {
                "doctor": pk,
                "name": doctor["full_name"],
                "department_name": doctor["department_name"],
                "offered_minutes": offered_minutes,
                "booked_minutes": booked_minutes,
                "utilisation": booked_minutes / offered_minutes if offered_minutes else None,
            }
        )
    return result


def _wall_clock(day, time):
    return dt.datetime.combine(day, time)


def _time_off_within(stretch, intervals, first, last, holidays):
    """How much of one weekly working stretch, on the range's open days, the time off covers.

    Compared in the clinic's wall-clock time, as offered time is counted; overlapping stretches
    of time off are merged first so that no minute is taken away twice.
    """
    zone = zoneinfo.ZoneInfo(stretch["zone"])
    local = sorted(
        (start.astimezone(zone).replace(tzinfo=None), end.astimezone(zone).replace(tzinfo=None))
        for start, end in intervals
    )
    merged = []
    for start, end in local:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    covered = dt.timedelta(0)
    for start, end in merged:
        day = max(first, start.date())
        day += dt.timedelta(days=(stretch["weekday"] - day.weekday()) % 7)
        while day <= min(last, end.date()):
            if day not in holidays:
                overlap = min(end, _wall_clock(day, stretch["ends_at"])) - max(
                    start, _wall_clock(day, stretch["starts_at"])
                )
                covered += max(overlap, dt.timedelta(0))
            day += dt.timedelta(days=7)
    return covered


# Lead time ---------------------------------------------------------------------------------------

LEAD_BANDS = [
    ("under_a_day", gettext_lazy("Under a day"), dt.timedelta(days=1)),
    ("one_to_two", gettext_lazy("1–2 days"), dt.timedelta(days=3)),
    ("three_to_seven", gettext_lazy("3–7 days"), dt.timedelta(days=8)),
    ("eight_to_fourteen", gettext_lazy("8–14 days"), dt.timedelta(days=15)),
    ("fifteen_to_thirty", gettext_lazy("15–30 days"), dt.timedelta(days=31)),
    ("over_thirty", gettext_lazy("Over 30 days"), None),
]


def lead_times(scope):
    """How far ahead appointments were made (start minus booking time), in bands of whole days
    (24 hours each). One query. Moved appointments count once, at their new booking.
    """
    lead = ExpressionWrapper(F("start") - F("created_at"), output_field=DurationField())
    counts = {}
    previous = None
    for key, _, upper in LEAD_BANDS:
        condition = Q()
        if previous is not None:
            condition &= Q(lead__gte=previous)
        if upper is not None:
            condition &= Q(lead__lt=upper)
        counts[key] = Count("pk", filter=condition)
        previous = upper
    row = scope.appointments().annotate(lead=lead).aggregate(total=Count("pk"), **counts)
    total = row["total"]
    return [
        {"band": str(label), "count": row[key], "share": row[key] / total if total else None}
        for key, label, _ in LEAD_BANDS
    ]


# Demographics ------------------------------------------------------------------------------------

AGE_BANDS = [
    ("0–17", 0, 18),
    ("18–39", 18, 40),
    ("40–59", 40, 60),
    ("60–74", 60, 75),
    ("75+", 75, None),
]


def _years_before(day, years):
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def demographics(scope):
    """Patients seen (completed appointments), counted once per department, by age band (age on
    the range's last day) and sex. One query."""
    last = scope.last
    whens = []
    for index, (_, low, high) in enumerate(AGE_BANDS):
        # Aged at least `low` on the last day: born on or before that day `low` years earlier.
        condition = Q(patient__date_of_birth__lte=_years_before(last, low))
        if high is not None:
            condition &= Q(patient__date_of_birth__gt=_years_before(last, high))
        whens.append(When(condition, then=Value(index)))
    rows = (
        scope.appointments()
        .filter(status=Status.COMPLETED)
        .annotate(band=Case(*whens, default=Value(-1), output_field=IntegerField()))
        .values("band", "patient__sex", department_name=F("doctor__department__name"))
        .annotate(patients=Count("patient", distinct=True))
        .order_by("department_name", "band", "patient__sex")
    )
    return [
        {
            "department_name": row["department_name"],
            "age_band": (
                AGE_BANDS[row["band"]][0] if row["band"] >= 0 else pgettext("age band", "Unknown")
            ),
            "sex": row["patient__sex"],
            "patients": row["patients"],
        }
        for row in rows
    ]
