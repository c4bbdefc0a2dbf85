"""Reads of the clinic's structure used by the public pages, each a fixed number of queries."""

from itertools import groupby

from django.db.models import Count, Prefetch, Q

from doctors.models import Clinic, Department, Doctor, Weekday, WorkingHours


def departments_with_doctor_counts():
    return Department.objects.annotate(
        doctor_count=Count("doctors", filter=Q(doctors__is_active=True))
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
