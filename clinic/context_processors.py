from django.conf import settings

from accounts.roles import roles_of


def portal(request):
    """The clinic's name and the visitor's roles, which pick the navigation in base.html."""
    user = getattr(request, "user", None)
    return {
        "clinic_name": settings.CLINIC_NAME,
        "currency": settings.CURRENCY,
        "roles": roles_of(user),
    }
