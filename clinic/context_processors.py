from django.conf import settings

from accounts.roles import roles_of

# The pages of choosing a new appointment, which the navigation files under "Book an appointment".
BOOKING_FLOW_PAGES = frozenset(
    f"bookings:{name}" for name in ("start", "doctors", "clinics", "calendar", "day", "confirm")
)


def portal(request):
    """The clinic's name and the visitor's roles, which pick the navigation in base.html."""
    user = getattr(request, "user", None)
    return {
        "clinic_name": settings.CLINIC_NAME,
        "currency": settings.CURRENCY,
        "roles": roles_of(user),
        "booking_flow_pages": BOOKING_FLOW_PAGES,
        # Each language named in itself, whatever the page's language (the switcher's options).
        "offered_languages": settings.LANGUAGES,
    }
