"""Clinic structure: database constraints (bypassing forms), model validation and queries."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from doctors.models import Clinic, Department, Doctor, Holiday, WorkingHours, validate_timezone
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    HolidayFactory,
    TimeOffFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

NINE = datetime.time(9, 0)
NOON = datetime.time(12, 0)
ONE_PM = datetime.time(13, 0)
TWO_PM = datetime.time(14, 0)


def refused_by_database(create):
    """Runs `create` in its own savepoint and checks the database refuses it."""
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def error_codes(excinfo, field):
    return [error.code for error in excinfo.value.error_dict[field]]


def messages_on(excinfo, field):
    return excinfo.value.message_dict[field]


# --- Database constraints -------------------------------------------------------------------


@pytest.mark.parametrize("closes_at", [NINE, datetime.time(8, 59)], ids=["equal", "earlier"])
def test_database_refuses_department_closing_at_or_before_opening(closes_at):
    refused_by_database(
        lambda: Department.objects.create(name="Cardiology", opens_at=NINE, closes_at=closes_at)
    )
    assert not Department.objects.exists()


def test_database_accepts_department_closing_after_opening():
    Department.objects.create(name="Cardiology", opens_at=NINE, closes_at=datetime.time(9, 1))
    assert Department.objects.count() == 1


def test_database_refuses_department_name_differing_only_in_case():
    Department.objects.create(name="Cardiology", opens_at=NINE, closes_at=ONE_PM)
    refused_by_database(
        lambda: Department.objects.create(name="CARDIOLOGY", opens_at=NINE, closes_at=ONE_PM)
    )
    assert Department.objects.count() == 1


def test_database_refuses_duplicate_doctor_registration_number():
    DoctorFactory(registration_number="MC-1001")
    refused_by_database(lambda: DoctorFactory(registration_number="MC-1001"))
    assert Doctor.objects.filter(registration_number="MC-1001").count() == 1


def test_database_refuses_negative_consultation_fee():
    refused_by_database(lambda: DoctorFactory(consultation_fee=Decimal("-0.01")))
    assert not Doctor.objects.exists()


def test_database_accepts_free_consultation():
    doctor = DoctorFactory(consultation_fee=Decimal("0.00"))
    assert Doctor.objects.get(pk=doctor.pk).consultation_fee == Decimal("0.00")


@pytest.mark.parametrize("minutes", [0, 4, 241, 600])
def test_database_refuses_slot_length_outside_5_to_240_minutes(minutes):
    refused_by_database(lambda: DoctorFactory(slot_minutes=minutes))
    assert not Doctor.objects.exists()


@pytest.mark.parametrize("minutes", [5, 240])
def test_database_accepts_slot_length_at_the_bounds(minutes):
    doctor = DoctorFactory(slot_minutes=minutes)
    assert Doctor.objects.get(pk=doctor.pk).slot_minutes == minutes


@pytest.mark.parametrize("ends_at", [NINE, datetime.time(8, 0)], ids=["equal", "earlier"])
def test_database_refuses_working_hours_ending_at_or_before_start(ends_at):
    doctor, clinic = DoctorFactory(), ClinicFactory()
    refused_by_database(
        lambda: WorkingHours.objects.create(
            doctor=doctor, clinic=clinic, weekday=0, starts_at=NINE, ends_at=ends_at
        )
    )
    assert not WorkingHours.objects.exists()


def test_database_refuses_second_holiday_for_same_clinic_and_day():
    clinic = ClinicFactory()
    day = datetime.date(2030, 1, 26)
    HolidayFactory(clinic=clinic, date=day, name="Republic Day")
    refused_by_database(lambda: HolidayFactory(clinic=clinic, date=day, name="Another"))
    assert Holiday.objects.count() == 1


def test_database_refuses_second_all_clinics_holiday_on_same_day():
    day = datetime.date(2030, 1, 26)
    HolidayFactory(clinic=None, date=day, name="Republic Day")
    refused_by_database(lambda: HolidayFactory(clinic=None, date=day, name="Another"))
    assert Holiday.objects.count() == 1


def test_database_accepts_holidays_on_one_day_for_different_clinics_and_all_clinics():
    day = datetime.date(2030, 1, 26)
    HolidayFactory(clinic=ClinicFactory(), date=day)
    HolidayFactory(clinic=ClinicFactory(), date=day)
    HolidayFactory(clinic=None, date=day)
    HolidayFactory(clinic=None, date=day + datetime.timedelta(days=1))
    assert Holiday.objects.count() == 4


@pytest.mark.parametrize("hours", [0, -1], ids=["equal", "earlier"])
def test_database_refuses_time_off_ending_at_or_before_start(hours):
    start = timezone.now() + datetime.timedelta(days=1)
    refused_by_database(
        lambda: TimeOffFactory(starts_at=start, ends_at=start + datetime.timedelta(hours=hours))
    )


# --- Model validation (what forms and the admin rely on) ------------------------------------


@pytest.mark.parametrize("closes_at", [NINE, datetime.time(7, 0)], ids=["equal", "earlier"])
def test_department_validation_reports_closing_time_on_the_field(closes_at):
    department = Department(name="Cardiology", opens_at=NINE, closes_at=closes_at)
    with pytest.raises(ValidationError) as excinfo:
        department.full_clean()
    assert messages_on(excinfo, "closes_at") == ["The closing time must be after the opening time."]
    # One clear message on the field, not a second copy from the check constraint.
    assert NON_FIELD_ERRORS not in excinfo.value.error_dict


def test_department_validation_accepts_valid_hours():
    Department(name="Cardiology", opens_at=NINE, closes_at=ONE_PM).full_clean()


def test_department_validation_refuses_name_differing_only_in_case():
    DepartmentFactory(name="Cardiology")
    with pytest.raises(ValidationError) as excinfo:
        Department(name="cardiology", opens_at=NINE, closes_at=ONE_PM).full_clean()
    assert "A department with this name already exists." in str(excinfo.value)


def test_working_hours_validation_reports_end_before_start_on_the_field():
    row = WorkingHoursFactory.build(
        doctor=DoctorFactory(), clinic=ClinicFactory(), starts_at=NOON, ends_at=NINE
    )
    with pytest.raises(ValidationError) as excinfo:
        row.full_clean()
    assert messages_on(excinfo, "ends_at") == ["The end time must be after the start time."]


def test_working_hours_overlapping_same_doctor_same_day_are_refused():
    existing = WorkingHoursFactory(weekday=2, starts_at=NINE, ends_at=ONE_PM)
    clash = WorkingHours(
        doctor=existing.doctor,
        clinic=existing.clinic,
        weekday=2,
        starts_at=NOON,
        ends_at=TWO_PM,
    )
    with pytest.raises(ValidationError) as excinfo:
        clash.full_clean()
    assert error_codes(excinfo, NON_FIELD_ERRORS) == ["overlapping_hours"]


def test_working_hours_inside_another_row_are_refused():
    existing = WorkingHoursFactory(weekday=2, starts_at=NINE, ends_at=TWO_PM)
    inside = WorkingHours(
        doctor=existing.doctor, clinic=existing.clinic, weekday=2, starts_at=NOON, ends_at=ONE_PM
    )
    with pytest.raises(ValidationError) as excinfo:
        inside.full_clean()
    assert error_codes(excinfo, NON_FIELD_ERRORS) == ["overlapping_hours"]


def test_working_hours_overlap_is_refused_even_at_another_clinic():
    existing = WorkingHoursFactory(weekday=4, starts_at=NINE, ends_at=ONE_PM)
    elsewhere = WorkingHours(
        doctor=existing.doctor,
        clinic=ClinicFactory(),
        weekday=4,
        starts_at=NOON,
        ends_at=TWO_PM,
    )
    with pytest.raises(ValidationError) as excinfo:
        elsewhere.full_clean()
    assert error_codes(excinfo, NON_FIELD_ERRORS) == ["overlapping_hours"]


@pytest.mark.parametrize(
    "saved, new",
    [((NOON, ONE_PM), (ONE_PM, TWO_PM)), ((ONE_PM, TWO_PM), (NOON, ONE_PM))],
    ids=["new-after", "new-before"],
)
def test_adjacent_working_hours_are_allowed(saved, new):
    existing = WorkingHoursFactory(weekday=1, starts_at=saved[0], ends_at=saved[1])
    adjacent = WorkingHours(
        doctor=existing.doctor, clinic=existing.clinic, weekday=1, starts_at=new[0], ends_at=new[1]
    )
    adjacent.full_clean()
    adjacent.save()
    assert existing.doctor.working_hours.count() == 2


def test_same_hours_on_another_day_or_for_another_doctor_are_allowed():
    existing = WorkingHoursFactory(weekday=1, starts_at=NINE, ends_at=ONE_PM)
    WorkingHours(
        doctor=existing.doctor, clinic=existing.clinic, weekday=2, starts_at=NINE, ends_at=ONE_PM
    ).full_clean()
    WorkingHours(
        doctor=DoctorFactory(), clinic=existing.clinic, weekday=1, starts_at=NINE, ends_at=ONE_PM
    ).full_clean()


def test_working_hours_row_does_not_clash_with_itself_when_edited():
    row = WorkingHoursFactory(weekday=1, starts_at=NINE, ends_at=NOON)
    row.ends_at = ONE_PM
    row.full_clean()


def test_doctor_validation_strips_and_upper_cases_registration_number():
    doctor = DoctorFactory.build(department=DepartmentFactory(), registration_number="  mc-77a ")
    doctor.full_clean()
    assert doctor.registration_number == "MC-77A"


def test_doctor_validation_refuses_registration_number_taken_in_other_case():
    DoctorFactory(registration_number="MC-77A")
    doctor = DoctorFactory.build(department=DepartmentFactory(), registration_number=" mc-77a")
    with pytest.raises(ValidationError) as excinfo:
        doctor.full_clean()
    assert "registration_number" in excinfo.value.error_dict


@pytest.mark.parametrize("fee", ["-1.00", "-0.01"])
def test_doctor_validation_refuses_negative_fee(fee):
    doctor = DoctorFactory.build(department=DepartmentFactory(), consultation_fee=Decimal(fee))
    with pytest.raises(ValidationError) as excinfo:
        doctor.full_clean()
    assert "The consultation fee cannot be negative." in str(excinfo.value)


@pytest.mark.parametrize("minutes", [4, 241])
def test_doctor_validation_refuses_slot_length_out_of_range(minutes):
    doctor = DoctorFactory.build(department=DepartmentFactory(), slot_minutes=minutes)
    with pytest.raises(ValidationError) as excinfo:
        doctor.full_clean()
    assert "slot_minutes" in excinfo.value.error_dict


def test_time_off_validation_reports_end_before_start_on_the_field():
    start = timezone.now() + datetime.timedelta(days=1)
    time_off = TimeOffFactory.build(doctor=DoctorFactory(), starts_at=start, ends_at=start)
    with pytest.raises(ValidationError) as excinfo:
        time_off.full_clean()
    assert messages_on(excinfo, "ends_at") == ["The time off must end after it starts."]


@pytest.mark.parametrize("name", ["Asia/Kolkata", "Europe/London", "America/New_York", "UTC"])
def test_validate_timezone_accepts_iana_names(name):
    validate_timezone(name)


@pytest.mark.parametrize("name", ["", "Mars/Olympus", "asia/kolkata", "IST", "+05:30"])
def test_validate_timezone_refuses_unknown_names(name):
    with pytest.raises(ValidationError) as excinfo:
        validate_timezone(name)
    assert excinfo.value.code == "invalid_timezone"


def test_clinic_validation_reports_bogus_time_zone_on_the_field():
    clinic = Clinic(name="Central", address="1 Main Road", timezone="Mars/Olympus")
    with pytest.raises(ValidationError) as excinfo:
        clinic.full_clean()
    assert error_codes(excinfo, "timezone") == ["invalid_timezone"]


def test_clinic_zone_is_its_time_zone():
    clinic = ClinicFactory(timezone="Europe/London")
    assert clinic.zone.key == "Europe/London"


# --- Queries and properties ------------------------------------------------------------------


def test_bookable_on_keeps_active_doctors_with_registration_valid_that_day():
    day = datetime.date(2030, 6, 1)
    valid = DoctorFactory(registration_expires_on=day + datetime.timedelta(days=30))
    expires_that_day = DoctorFactory(registration_expires_on=day)
    DoctorFactory(registration_expires_on=day - datetime.timedelta(days=1))  # expired
    DoctorFactory(is_active=False, registration_expires_on=day + datetime.timedelta(days=30))

    assert set(Doctor.objects.bookable_on(day)) == {valid, expires_that_day}


def test_active_excludes_inactive_doctors():
    active = DoctorFactory()
    DoctorFactory(is_active=False)
    assert list(Doctor.objects.active()) == [active]


def test_accepts_bookings_for_active_doctor_with_valid_registration():
    assert DoctorFactory().accepts_bookings is True


def test_accepts_bookings_until_the_registration_expiry_day_itself():
    assert DoctorFactory(registration_expires_on=timezone.localdate()).accepts_bookings is True


def test_accepts_bookings_is_false_for_expired_registration():
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    doctor = DoctorFactory(registration_expires_on=yesterday)
    assert doctor.registration_is_valid is False
    assert doctor.accepts_bookings is False


def test_accepts_bookings_is_false_for_inactive_doctor():
    doctor = DoctorFactory(is_active=False)
    assert doctor.registration_is_valid is True
    assert doctor.accepts_bookings is False


def test_working_hours_overlaps_only_on_the_same_weekday():
    a = WorkingHours(weekday=0, starts_at=NINE, ends_at=ONE_PM)
    assert a.overlaps(WorkingHours(weekday=0, starts_at=NOON, ends_at=TWO_PM))
    assert not a.overlaps(WorkingHours(weekday=1, starts_at=NOON, ends_at=TWO_PM))
    assert not a.overlaps(WorkingHours(weekday=0, starts_at=ONE_PM, ends_at=TWO_PM))
