"""Who may call an endpoint, by the portal's roles (accounts.roles), as the pages decide it.

A view names the roles it serves: `permission_classes = [HasRole.of(Role.FRONT_DESK,
Role.CLINIC_ADMIN)]`, or one of the shorthands below. A login without any of them gets 403
(the role cannot do this at all); an object that is not theirs is the view's business: filter
the queryset by owner, so that another's object answers 404 and never reveals that it exists.

Clinic admins hold every staff right the front desk holds, as on the pages (the desk's pages let
both in); a doctor's or patient's right is theirs alone.
"""

from rest_framework.permissions import BasePermission

from accounts.roles import Role, roles_of


class HasRole(BasePermission):
    """Lets in authenticated logins holding at least one of `roles`."""

    roles = frozenset()
    message = "Your login's role may not do this."

    @classmethod
    def of(cls, *roles):
        names = ", ".join(sorted(roles))
        return type(f"HasRole({names})", (cls,), {"roles": frozenset(roles)})

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return bool(self.roles & roles_of(user).names)


IsPatient = HasRole.of(Role.PATIENT)
IsDoctor = HasRole.of(Role.DOCTOR)
IsFrontDesk = HasRole.of(Role.FRONT_DESK, Role.CLINIC_ADMIN)
IsClinicAdmin = HasRole.of(Role.CLINIC_ADMIN)
PatientOrStaff = HasRole.of(Role.PATIENT, Role.FRONT_DESK, Role.CLINIC_ADMIN)


def is_staff(user):
    """Front desk or clinic admin (an integration's login has the Front desk role): those who
    reach every patient's objects, as on the desk's pages."""
    roles = roles_of(user)
    return roles.is_front_desk or roles.is_clinic_admin


def patient_of(user):
    """The directory entry of a patient's own login, or None (staff, doctors, integrations)."""
    return getattr(user, "patient", None) if user.is_authenticated else None


def doctor_of(user):
    """The doctor a login belongs to, or None."""
    return getattr(user, "doctor", None) if user.is_authenticated else None
