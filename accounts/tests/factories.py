import datetime

import factory
from django.contrib.auth.models import Group

from accounts.models import Patient, User
from accounts.roles import Role

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.django.Password(DEFAULT_PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        """UserFactory(roles=[Role.DOCTOR]) puts the user in those role groups."""
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=[str(role) for role in extracted]))


class PatientFactory(factory.django.DjangoModelFactory):
    """A directory entry; PatientFactory(with_account=True) also gives it a patient login."""

    class Meta:
        model = Patient

    class Params:
        with_account = factory.Trait(
            user=factory.SubFactory(
                UserFactory,
                roles=[Role.PATIENT],
                full_name=factory.SelfAttribute("..full_name"),
                email=factory.SelfAttribute("..email"),
            )
        )

    full_name = factory.Faker("name")
    date_of_birth = factory.Faker(
        "date_between", start_date=datetime.date(1940, 1, 1), end_date=datetime.date(2015, 12, 31)
    )
    sex = factory.Iterator([choice for choice, _ in Patient.Sex.choices])
    phone = factory.Sequence(lambda n: f"+91980000{n:04d}")
    email = factory.Sequence(lambda n: f"patient{n}@example.com")
