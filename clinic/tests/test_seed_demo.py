import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from accounts.models import Patient, User
from accounts.roles import Role, has_role
from clinic.management.commands.seed_demo import DEMO_LOGINS, DEMO_PASSWORD
from bookings.models import Appointment, Status
from doctors.models import Clinic, Department, Doctor, Holiday, TimeOff, WorkingHours

SEEDED_MODELS = [
    User,
    Patient,
    Department,
    Clinic,
    Doctor,
    WorkingHours,
    Holiday,
    TimeOff,
    Appointment,
]


def seed():
    out = io.StringIO()
    call_command("seed_demo", "--allow-without-debug", stdout=out)
    return out.getvalue()


def row_counts():
    return {model.__name__: model.objects.count() for model in SEEDED_MODELS}


@pytest.mark.django_db
def test_seeding_twice_changes_nothing():
    seed()
    first = row_counts()
    seed()
    assert row_counts() == first


@pytest.mark.django_db
def test_every_demo_login_works_with_its_role_and_is_printed():
    output = seed()
    for login in DEMO_LOGINS:
        # django-axes checks every login against the request it comes with.
        request = RequestFactory().post("/accounts/login/")
        user = authenticate(request, email=login.email, password=DEMO_PASSWORD)
        assert user is not None, login.email
        assert has_role(user, login.role)
        assert user.is_staff == login.is_staff
        assert not user.is_superuser
        assert login.email in output
    assert DEMO_PASSWORD in output


@pytest.mark.django_db
def test_demo_clinic_has_what_the_portal_needs_to_show():
    seed()
    assert Department.objects.count() >= 5
    assert Doctor.objects.active().count() >= 12
    zones = set(Clinic.objects.values_list("timezone", flat=True))
    assert "Europe/London" in zones, "one clinic must observe daylight saving"
    # A break: some doctor works two separate stretches on one day.
    doctor = Doctor.objects.get(user__email="doctor@example.com")
    monday = WorkingHours.objects.filter(doctor=doctor, weekday=0).order_by("starts_at")
    assert monday.count() == 2 and monday[0].ends_at < monday[1].starts_at
    assert Holiday.objects.exists()
    assert TimeOff.objects.exists()
    assert Patient.objects.filter(user__isnull=True).count() >= 5
    for login in DEMO_LOGINS:
        if login.role == Role.PATIENT:
            assert Patient.objects.filter(user__email=login.email).exists()


@pytest.mark.django_db
def test_seed_refuses_to_run_without_debug_unless_told(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not User.objects.exists()


@pytest.mark.django_db
def test_each_demo_patient_has_a_past_visit_and_one_they_may_still_change():
    from django.utils import timezone

    from bookings.rules import patient_may_change

    seed()
    now = timezone.now()
    for login in DEMO_LOGINS:
        if login.role != Role.PATIENT:
            continue
        appointments = Appointment.objects.filter(patient__user__email=login.email)
        past = appointments.past(now).filter(status=Status.COMPLETED).get()
        assert past.charge.ledger.get().total == past.charge.total  # paid in full
        upcoming = appointments.upcoming(now).get()
        assert patient_may_change(upcoming, now)
        assert upcoming.charge.fee == upcoming.doctor.consultation_fee  # charged at booking
