"""Figures about appointments for the clinic's reports, each computed by aggregate queries in the
database (a fixed, small number whatever the range); Python only arranges the aggregated rows.

Every function takes the same keyword filters: `range_start` and `range_end` (aware datetimes,
end exclusive; an appointment belongs to the range its start falls in), optional `clinic`,
`department` and `doctor`, and `zone` (the time zone periods and ages are counted in).
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import (
    Case,
    Count,
    DateField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Least, Trunc

from bookings.models import Appointment, Status
from doctors.models import Doctor, Holiday, TimeOff, WorkingHours

STATUSES = [Status.BOOKED, Status.CHECKED_IN, Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW]
GRAINS = ("day", "week", "month")
ZERO_DURATION = Value(dt.timedelta(0), output_field=DurationField())


@dataclass(frozen=True)
class Scope:
    range_start: dt.datetime
    range_end: dt.datetime
    zone: dt.tzinfo
    clinic: object = None
    department: object = None
    doctor: object = None

    def appointments(self):
        appointments = Appointment.objects.filter(
            start__gte=self.range_start, start__lt=self.range_end
        )
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
        .annotate(period=Trunc("start", grain, output_field=DateField(), tzinfo=scope.zone))
        .values("period")
        .annotate(**_status_counts(), total=Count("pk"))
        .order_by("period")
    )
    found = {_as_date(row["period"]): row for row in rows}
    empty = {status.value: 0 for status in STATUSES} | {"total": 0}
    return [
        {"period": period, **{key: found.get(period, empty)[key] for key in empty}}
        for period in periods(scope, grain)
    ]


def _as_date(value):
    return value.date() if isinstance(value, dt.datetime) else value


def periods(scope, grain):
    """The first day of every day, week (Monday) or month the range touches, in order."""
    first = scope.range_start.astimezone(scope.zone).date()
    last = (scope.range_end - dt.timedelta(microseconds=1)).astimezone(scope.zone).date()
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
    """Counts and rates per doctor, by name. One query."""
    rows = (
        scope.appointments()
        .values(
            "doctor", name=F("doctor__full_name"), department_name=F("doctor__department__name")
        )
        .annotate(
            total=Count("pk"),
            completed=Count("pk", filter=Q(status=Status.COMPLETED)),
            no_show=Count("pk", filter=Q(status=Status.NO_SHOW)),
            cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
        )
        .order_by("name", "doctor")
    )
    return _attendance(list(rows))


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


# Utilisation -------------------------------------------------------------------------------------


def _duration(start, end):
    return ExpressionWrapper(F(end) - F(start), output_field=DurationField())


def utilisation(scope):
    """Per doctor: minutes offered (working hours on the range's open days, less time off) and
    minutes booked (appointments holding their time), and their ratio. Four queries.

    Offered time is counted in each clinic's weekly hours as entered; operating hours that cut a
    working stretch short are not subtracted.
    """
    doctors = {
        row["pk"]: row
        for row in scope.doctors().values("pk", "full_name", department_name=F("department__name"))
    }
    first = scope.range_start.astimezone(scope.zone).date()
    last = (scope.range_end - dt.timedelta(microseconds=1)).astimezone(scope.zone).date()

    hours = WorkingHours.objects.filter(doctor__in=doctors.keys())
    if scope.clinic is not None:
        hours = hours.filter(clinic=scope.clinic)
    weekly = (
        hours.values("doctor", "clinic", "weekday")
        .annotate(length=Sum(_duration("starts_at", "ends_at")))
        .order_by()
    )
    closed = {}
    for clinic_id, day in Holiday.objects.filter(date__range=(first, last)).values_list(
        "clinic", "date"
    ):
        closed.setdefault(clinic_id, set()).add(day)
    # How many of each weekday the range has, per clinic, leaving out its holidays (and those of
    # every clinic): calendar arithmetic on at most a few hundred dates, no rows involved.
    open_days = {}

    def weekday_count(clinic_id, weekday):
        key = (clinic_id, weekday)
        if key not in open_days:
            shut = closed.get(clinic_id, set()) | closed.get(None, set())
            open_days[key] = sum(
                1
                for n in range((last - first).days + 1)
                if (day := first + dt.timedelta(days=n)).weekday() == weekday and day not in shut
            )
        return open_days[key]

    offered = {pk: dt.timedelta(0) for pk in doctors}
    for row in weekly:
        offered[row["doctor"]] += row["length"] * weekday_count(row["clinic"], row["weekday"])

    time_off = (
        TimeOff.objects.filter(
            doctor__in=doctors.keys(),
            starts_at__lt=scope.range_end,
            ends_at__gt=scope.range_start,
        )
        .values("doctor")
        .annotate(
            away=Sum(
                ExpressionWrapper(
                    Least(F("ends_at"), Value(scope.range_end))
                    - Greatest(F("starts_at"), Value(scope.range_start)),
                    output_field=DurationField(),
                )
            )
        )
        .order_by()
    )
    for row in time_off:
        # Time off outside working hours takes nothing off; it can't take offered time below 0.
        offered[row["doctor"]] = max(offered[row["doctor"]] - row["away"], dt.timedelta(0))

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


# Lead time ---------------------------------------------------------------------------------------

LEAD_BANDS = [
    ("same_day", "Same day", dt.timedelta(days=1)),
    ("one_to_two", "1–2 days", dt.timedelta(days=3)),
    ("three_to_seven", "3–7 days", dt.timedelta(days=8)),
    ("eight_to_fourteen", "8–14 days", dt.timedelta(days=15)),
    ("fifteen_to_thirty", "15–30 days", dt.timedelta(days=31)),
    ("over_thirty", "Over 30 days", None),
]


def lead_times(scope):
    """How far ahead appointments were made (start minus booking time), in bands. One query.

    Moved appointments count once, at their new booking.
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
    row = (
        scope.appointments()
        .filter(rescheduled_to__isnull=True)
        .annotate(lead=lead)
        .aggregate(total=Count("pk"), **counts)
    )
    total = row["total"]
    return [
        {"band": label, "count": row[key], "share": row[key] / total if total else None}
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
    last = (scope.range_end - dt.timedelta(microseconds=1)).astimezone(scope.zone).date()
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
            "age_band": AGE_BANDS[row["band"]][0] if row["band"] >= 0 else "Unknown",
            "sex": row["patient__sex"],
            "patients": row["patients"],
        }
        for row in rows
    ]
