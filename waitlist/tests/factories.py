import datetime

import factory
from django.utils import timezone

from accounts.tests.factories import PatientFactory
from doctors.tests.factories import DoctorFactory
from waitlist.models import WaitlistEntry


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
