"""Extra sections of an appointment's pages, contributed by higher apps (billing shows money).

Bookings may not import them, so they register a function here from AppConfig.ready(): it takes
the request, the appointment and the audience ("patient", "desk" or "doctor") and returns HTML,
or "" to show nothing.

The page a patient lands on right after booking (audience "booked") shows only the panels
registered for it with register_booked_page(): what to do next (intake questions), not the
appointment's whole record.
"""

from django.utils.safestring import mark_safe

_panels = []
_booked_page_panels = []


def register(panel):
    if panel not in _panels:
        _panels.append(panel)
    return panel


def register_booked_page(panel):
    if panel not in _booked_page_panels:
        _booked_page_panels.append(panel)
    return panel


def render_panels(request, appointment, audience):
    registered = _booked_page_panels if audience == "booked" else _panels
    return [
        mark_safe(html)
        for panel in registered
        if (html := panel(request=request, appointment=appointment, audience=audience))
    ]
