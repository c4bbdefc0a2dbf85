"""Extra sections of an appointment's pages, contributed by higher apps (billing shows money).

Bookings may not import them, so they register a function here from AppConfig.ready(): it takes
the request, the appointment and the audience ("patient", "desk" or "doctor") and returns HTML,
or "" to show nothing.
"""

from django.utils.safestring import mark_safe

_panels = []


def register(panel):
    if panel not in _panels:
        _panels.append(panel)
    return panel


def render_panels(request, appointment, audience):
    return [
        mark_safe(html)
        for panel in _panels
        if (html := panel(request=request, appointment=appointment, audience=audience))
    ]
