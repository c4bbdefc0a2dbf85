import datetime

import factory
from django.utils import timezone

from accounts.tests.factories import PatientFactory, UserFactory
from bookings.models import (
    Appointment,
    AppointmentSeries,
    AppointmentType,
    HoldPurpose,
    PaymentMode,
    SeriesLink,
    SlotHold,
    Status,
)
from bookings.scheduling import at
from doctors.tests.factories import ClinicFactory, DoctorFactory

# Each new appointment takes the next slot of a 09:00-13:00 day (the default working hours of
# WorkingHoursFactory), then the next day, so appointments of one doctor never collide.
FIRST_SLOT = datetime.time(9, 0)
SLOTS_PER_DAY = 16


def _next_free_start(appointment, n):
    """Whole slot number `n` counted from 09:00 tomorrow, in the clinic's local time."""
    zone = appointment.clinic.zone
    day = timezone.now().astimezone(zone).date() + datetime.timedelta(days=1 + n // SLOTS_PER_DAY)
    slot = datetime.timedelta(minutes=appointment.doctor.slot_minutes)
    return at(day, FIRST_SLOT, zone) + (n % SLOTS_PER_DAY) * slot


class AppointmentFactory(factory.django.DjangoModelFactory):
    """A booked appointment in the future, on a whole slot of the doctor's grid.

    It writes the row directly (no booking rules checked): give the doctor working hours at the
    clinic yourself when a test needs a bookable doctor. Pass `start` for a particular time; the
    end follows from the doctor's slot length unless given.
    """

    class Meta:
        model = Appointment

    patient = factory.SubFactory(PatientFactory)
    doctor = factory.SubFactory(DoctorFactory)
    clinic = factory.SubFactory(ClinicFactory)
    start = factory.LazyAttributeSequence(_next_free_start)
    end = factory.LazyAttribute(
        lambda o: o.start + datetime.timedelta(minutes=o.doctor.slot_minutes)
    )
    appointment_type = AppointmentType.CONSULTATION
    payment_mode = PaymentMode.AT_CLINIC
    reason = "Persistent cough"
    status = Status.BOOKED
    created_by = factory.SubFactory(UserFactory)


class SlotHoldFactory(factory.django.DjangoModelFactory):
    """A live hold written directly (no booking rule checked), made `now` for SLOT_HOLD_MINUTES'
    default of ten minutes; give `start` (and the doctor working hours) for a bookable time."""

    class Meta:
        model = SlotHold

    doctor = factory.SubFactory(DoctorFactory)
    clinic = factory.SubFactory(ClinicFactory)
    start = factory.LazyAttributeSequence(_next_free_start)
    end = factory.LazyAttribute(
        lambda o: o.start + datetime.timedelta(minutes=o.doctor.slot_minutes)
    )
    created_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.created_at + datetime.timedelta(minutes=10))
    held_by = factory.SubFactory(UserFactory)
    patient = factory.SubFactory(PatientFactory)
    purpose = HoldPurpose.BOOKING_PAGE


class AppointmentSeriesFactory(factory.django.DjangoModelFactory):
    """A weekly series of three, with its first appointment linked (bookings.series books them
    through the services; this only writes the rows)."""

    class Meta:
        model = AppointmentSeries
        skip_postgeneration_save = True

    patient = factory.SubFactory(PatientFactory)
    doctor = factory.SubFactory(DoctorFactory)
    clinic = factory.SubFactory(ClinicFactory)
    every = 1
    unit = "weeks"
    count = 3
    created_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def first(series, create, extracted, **kwargs):
        if create:
            SeriesLink.objects.create(
                series=series,
                appointment=AppointmentFactory(
                    patient=series.patient, doctor=series.doctor, clinic=series.clinic
                ),
            )
