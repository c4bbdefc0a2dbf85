"""Reads of the clinic's structure used by the public pages, each a fixed number of queries."""

import operator
from collections import defaultdict
from functools import reduce
from itertools import groupby

from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.utils import timezone

from doctors.models import Clinic, Department, Doctor, Weekday, WorkingHours


def clinic_today(clinic, now):
    """The date it is at `clinic` at the instant `now`: the day its bookings are counted on."""
    return now.astimezone(clinic.zone).date()


def takes_bookings_at(doctor, clinic, now=None):
    """Whether `doctor` takes new bookings at `clinic` now, the registration judged on the
    clinic's own date (as the booking service judges a slot's date), not the server's."""
    now = now or timezone.now()
    return doctor.is_active and doctor.registration_valid_on(clinic_today(clinic, now))


def bookable_doctors(*, now=None):
    """Active doctors whose registration is still valid today at one of the clinics they work
    at, each clinic's today in its own zone. Two queries: the clinics' zones, then the doctors.

    Clinics are grouped by their date (two or three at any instant, whatever their number), so
    the doctors' query has one condition per date.
    """
    now = now or timezone.now()
    clinics_by_day = defaultdict(list)
    for clinic in Clinic.objects.only("pk", "timezone"):
        clinics_by_day[clinic_today(clinic, now)].append(clinic.pk)
    if not clinics_by_day:
        return Doctor.objects.none()
    valid_somewhere = reduce(
        operator.or_,
        (
            Q(
                Exists(
                    WorkingHours.objects.filter(doctor=OuterRef("pk"), clinic_id__in=clinic_ids)
                ),
                registration_expires_on__gte=day,
            )
            for day, clinic_ids in clinics_by_day.items()
        ),
    )
    return Doctor.objects.active().filter(valid_somewhere)


def departments_with_doctor_counts(*, now=None):
    """Departments in name order, each with the number of doctors a patient can book now."""
    bookable = bookable_doctors(now=now).values("pk")
    return Department.objects.annotate(
        doctor_count=Count("doctors", filter=Q(doctors__in=bookable))
    ).order_by("name")


def doctor_directory(*, department=None, name=""):
    doctors = Doctor.objects.active().select_related("department")
    if department is not None:
        doctors = doctors.filter(department=department)
    if name:
        doctors = doctors.filter(full_name__icontains=name)
    return doctors.order_by("full_name", "pk")


def public_doctor(pk):
    """An active doctor with their week's hours and clinics loaded; Doctor.DoesNotExist if none."""
    hours = WorkingHours.objects.select_related("clinic").order_by("weekday", "starts_at")
    return (
        Doctor.objects.active()
        .select_related("department")
        .prefetch_related(Prefetch("working_hours", queryset=hours))
        .get(pk=pk)
    )


def weekly_schedule(doctor):
    """[(weekday label, [working hours...]), ...] for the days the doctor works, Monday first.

    Reads the prefetched `working_hours`, so it costs no queries after `public_doctor`.
    """
    return schedule_by_weekday(doctor.working_hours.all())


def schedule_by_weekday(hours):
    """[(weekday label, [working hours...]), ...] from rows of working hours, Monday first."""
    rows = sorted(hours, key=lambda row: (row.weekday, row.starts_at))
    return [
        (Weekday(weekday).label, list(day_rows))
        for weekday, day_rows in groupby(rows, key=lambda row: row.weekday)
    ]


def clinics_of(doctor):
    """The clinics a doctor works at, from the prefetched working hours, in name order."""
    clinics = {row.clinic_id: row.clinic for row in doctor.working_hours.all()}
    return sorted(clinics.values(), key=lambda clinic: clinic.name)


def clinics_where_works(doctor):
    """The clinics where the doctor has working hours, in name order (one query)."""
    return list(Clinic.objects.filter(working_hours__doctor=doctor).distinct().order_by("name"))


def clinic_where_works(doctor, clinic_id):
    """The clinic `clinic_id` if the doctor has working hours there, else None (one query)."""
    return Clinic.objects.filter(pk=clinic_id, working_hours__doctor=doctor).distinct().first()
