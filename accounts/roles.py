"""The portal's roles. Each is a Django group (created by a data migration) holding permissions."""

from dataclasses import dataclass
from enum import StrEnum

from django.urls import reverse
from django.utils.translation import pgettext_lazy


class Role(StrEnum):
    PATIENT = "Patient"
    DOCTOR = "Doctor"
    FRONT_DESK = "Front desk"
    CLINIC_ADMIN = "Clinic admin"


# The group names above are stored (and compared) as they are; people read these instead.
ROLE_LABELS = {
    Role.PATIENT: pgettext_lazy("role", "Patient"),
    Role.DOCTOR: pgettext_lazy("role", "Doctor"),
    Role.FRONT_DESK: pgettext_lazy("role", "Front desk"),
    Role.CLINIC_ADMIN: pgettext_lazy("role", "Clinic admin"),
}


def role_label(name):
    """A role's name in the reader's language; a group that is no role keeps its own name."""
    return ROLE_LABELS.get(name, name)


@dataclass(frozen=True)
class VisitorRoles:
    """What the templates need to know about who is looking."""

    names: frozenset

    @property
    def is_patient(self):
        return Role.PATIENT in self.names

    @property
    def is_doctor(self):
        return Role.DOCTOR in self.names

    @property
    def is_front_desk(self):
        return Role.FRONT_DESK in self.names

    @property
    def is_clinic_admin(self):
        return Role.CLINIC_ADMIN in self.names


NO_ROLES = VisitorRoles(frozenset())


def roles_of(user):
    """The visitor's roles, read once per request and remembered on the user object."""
    if user is None or not user.is_authenticated:
        return NO_ROLES
    cached = getattr(user, "_visitor_roles", None)
    if cached is None:
        cached = VisitorRoles(frozenset(user.groups.values_list("name", flat=True)))
        user._visitor_roles = cached
    return cached


def has_role(user, role):
    return role in roles_of(user).names


def landing_url(user):
    """Where a user starts after logging in: where their role's work starts."""
    roles = roles_of(user)
    if roles.is_clinic_admin:
        return reverse("admin:index")
    if roles.is_front_desk:
        return reverse("desk:queue")
    if roles.is_doctor and hasattr(user, "doctor"):
        return reverse("schedule:today")
    return reverse("home")
