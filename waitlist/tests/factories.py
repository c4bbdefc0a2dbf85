import datetime

import factory
from django.utils import timezone

from accounts.tests.factories import PatientFactory
from bookings.scheduling import at
from doctors.tests.factories import ClinicFactory, DoctorFactory
from waitlist.models import EntryState, FreedTime, FreedTimeState, WaitlistEntry, WaitlistOffer


class WaitlistEntryFactory(factory.django.DjangoModelFactory):
    """A patient waiting for a doctor over the next two weeks, joined now (written directly)."""

    class Meta:
        model = WaitlistEntry

    patient = factory.SubFactory(PatientFactory, with_account=True)
    doctor = factory.SubFactory(DoctorFactory)
    department = None
    earliest = factory.LazyFunction(timezone.localdate)
    latest = factory.LazyAttribute(lambda o: o.earliest + datetime.timedelta(days=14))
    created_by = factory.LazyAttribute(lambda o: o.patient.user)
    created_at = factory.LazyFunction(timezone.now)
    state_changed_at = factory.LazyAttribute(lambda o: o.created_at)


class FreedTimeFactory(factory.django.DjangoModelFactory):
    """A time of the doctor's, tomorrow at 10:00 in the clinic's zone, freed now (written
    directly)."""

    class Meta:
        model = FreedTime

    doctor = factory.SubFactory(DoctorFactory)
    clinic = factory.SubFactory(ClinicFactory)
    start = factory.LazyAttribute(
        lambda o: at(
            timezone.localdate() + datetime.timedelta(days=1), datetime.time(10), o.clinic.zone
        )
    )
    end = factory.LazyAttribute(lambda o: o.start + datetime.timedelta(minutes=15))
    freed_at = factory.LazyFunction(timezone.now)
    next_try_at = factory.LazyAttribute(lambda o: o.freed_at)


class WaitlistOfferFactory(factory.django.DjangoModelFactory):
    """An open offer of a freed time to a waiting patient, for 30 minutes from now (written
    directly, without a hold)."""

    class Meta:
        model = WaitlistOffer

    freed_time = factory.SubFactory(FreedTimeFactory, state=FreedTimeState.OFFERED)
    entry = factory.SubFactory(
        WaitlistEntryFactory,
        doctor=factory.SelfAttribute("..freed_time.doctor"),
        state=EntryState.OFFERED,
    )
    doctor = factory.SelfAttribute("freed_time.doctor")
    clinic = factory.SelfAttribute("freed_time.clinic")
    start = factory.SelfAttribute("freed_time.start")
    end = factory.SelfAttribute("freed_time.end")
    made_at = factory.LazyFunction(timezone.now)
    expires_at = factory.LazyAttribute(lambda o: o.made_at + datetime.timedelta(minutes=30))
