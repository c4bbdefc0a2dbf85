import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from doctors.models import (
    Clinic,
    Department,
    Doctor,
    Holiday,
    TimeOff,
    VisitType,
    WorkingHours,
)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Department {n}")
    opens_at = datetime.time(8, 0)
    closes_at = datetime.time(20, 0)


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic

    name = factory.Sequence(lambda n: f"Clinic {n}")
    address = factory.Faker("address")
    timezone = "Asia/Kolkata"


class DoctorFactory(factory.django.DjangoModelFactory):
    """A bookable doctor; DoctorFactory(with_account=True) also gives them a doctor login."""

    class Meta:
        model = Doctor

    class Params:
        with_account = factory.Trait(
            user=factory.SubFactory(
                UserFactory,
                roles=[Role.DOCTOR],
                full_name=factory.SelfAttribute("..full_name"),
            )
        )

    full_name = factory.Faker("name")
    department = factory.SubFactory(DepartmentFactory)
    registration_number = factory.Sequence(lambda n: f"REG-{n:06d}")
    registration_expires_on = factory.LazyFunction(
        lambda: timezone.localdate() + datetime.timedelta(days=365)
    )
    consultation_fee = Decimal("500.00")
    slot_minutes = 15


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingHours

    doctor = factory.SubFactory(DoctorFactory)
    clinic = factory.SubFactory(ClinicFactory)
    weekday = 0
    starts_at = datetime.time(9, 0)
    ends_at = datetime.time(13, 0)


class HolidayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Holiday

    date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=7))
    name = "Clinic holiday"
    clinic = factory.SubFactory(ClinicFactory)


class TimeOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeOff

    doctor = factory.SubFactory(DoctorFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + datetime.timedelta(days=2))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(hours=4))
    reason = "Conference"


class VisitTypeFactory(factory.django.DjangoModelFactory):
    """A department's visit type, bookable online, in person; pass `doctor=` (and
    `department=None`) for a doctor's own."""

    class Meta:
        model = VisitType

    name = factory.Sequence(lambda n: f"Visit type {n}")
    department = factory.SubFactory(DepartmentFactory)
    doctor = None
    minutes = 30
