"""The visit type chosen on the booking pages: from the `type` query parameter (a visit type's
id: nothing personal in the URL), among the types the doctor offers to whoever books.

Patients (and visitors) are offered the doctor's active types that are bookable online; the
front desk all the active ones. A doctor with no types is booked as before: plain slots, no
choice. With types, the first in their order (position, then length) is the default, and an id
that is not on offer (another doctor's, inactive, not bookable online) falls back to it with a
message rather than an error page.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.utils.translation import gettext

from doctors.models import VisitType

PARAMETER = "type"


@dataclass(frozen=True)
class VisitTypeChoice:
    types: list  # on offer, in order
    chosen: object  # a VisitType, or None: the doctor's plain slot

    def url(self, url):
        """`url` carrying the chosen type (unchanged without one)."""
        if self.chosen is None:
            return url
        joiner = "&" if "?" in url else "?"
        return f"{url}{joiner}{urlencode({PARAMETER: self.chosen.pk})}"

    @property
    def context(self):
        return {"visit_types": self.types, "visit_type": self.chosen}


def offered_types(doctor, *, online_only):
    """The active visit types `doctor` offers (their department's and their own), in order: one
    query, whatever their number."""
    types = VisitType.objects.active().for_doctor(doctor)
    if online_only:
        types = types.filter(bookable_online=True)
    return list(types)


def choose(request, doctor, *, online_only):
    """The VisitTypeChoice of a booking page's request (its `type` query parameter)."""
    types = offered_types(doctor, online_only=online_only)
    raw = request.GET.get(PARAMETER, "")
    if not types:
        return VisitTypeChoice(types, None)
    chosen = next((t for t in types if str(t.pk) == raw.strip()), None)
    if chosen is None:
        if raw:
            messages.error(
                request,
                gettext(
                    "That type of visit cannot be booked here with %(doctor)s. "
                    "Please choose one from the list."
                )
                % {"doctor": doctor.full_name},
            )
        chosen = types[0]
    return VisitTypeChoice(types, chosen)


def refused(request, doctor, *, online_only):
    """For a confirm step: the choice, and whether the `type` asked for is not on offer (the
    step then sends the visitor back to choose, and books nothing)."""
    raw = request.GET.get(PARAMETER, "")
    choice = choose(request, doctor, online_only=online_only)
    asked_for_another = bool(raw) and (
        choice.chosen is None or str(choice.chosen.pk) != raw.strip()
    )
    return choice, asked_for_another
