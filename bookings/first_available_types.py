"""The visit types of a first-available search (bookings/first_available.py): which type each
doctor's times are for, and the "Type of visit" choice of a department's first times.

A department with active types of its own (for patients, those bookable online; the desk, all)
offers them as a choice, the first by default, as the booking pages do
(bookings/visit_type_choice.py); every doctor of the department offers a department type, so all
their times are for the one chosen. Without department types, each doctor's times are for the
type their confirm step would choose when none is given: the first they offer (their own types),
else their plain slot. Either way a time is found for the length and buffers it will be booked
with, and its link to the confirm step carries its type.

The types are read in one query, whatever the number of doctors and departments.
"""

from django.contrib import messages
from django.db.models import Q
from django.utils.translation import gettext

from bookings.visit_type_choice import PARAMETER, VisitTypeChoice
from doctors.models import VisitType


def active_types(*, departments=None, online_only):
    """The active visit types of `departments` (keys) and of their doctors, or of every
    department and doctor (None), in order: one query."""
    types = VisitType.objects.active()
    if departments is not None:
        types = types.filter(
            Q(department_id__in=departments) | Q(doctor__department_id__in=departments)
        )
    if online_only:
        types = types.filter(bookable_online=True)
    return list(types)


def department_choices(request, departments, types):
    """{department key: VisitTypeChoice} of each of `departments` (keys), among its own `types`
    (from active_types), the request's `type` parameter chosen in its department. A type asked
    for that no department here offers falls back to each one's first, with a message."""
    raw = request.GET.get(PARAMETER, "").strip()
    offered = {key: [t for t in types if t.department_id == key] for key in departments}
    asked = next(
        (t for options in offered.values() for t in options if str(t.pk) == raw),
        None,
    )
    if raw and asked is None and any(offered.values()):
        messages.error(
            request,
            gettext("That type of visit cannot be chosen here. Please choose one from the list."),
        )
    return {
        key: VisitTypeChoice(
            options,
            asked if asked in options else (options[0] if options else None),
        )
        for key, options in offered.items()
    }


def type_of_pair(types, choices):
    """pair -> the VisitType the pair's times are for: its department's chosen type (`choices`
    from department_choices), else the first of `types` its doctor offers, else None."""
    defaults = {}

    def visit_type_of(pair):
        doctor = pair.doctor
        choice = choices.get(doctor.department_id)
        if choice is not None and choice.chosen is not None:
            return choice.chosen
        if doctor.pk not in defaults:
            defaults[doctor.pk] = next((t for t in types if t.offered_by(doctor)), None)
        return defaults[doctor.pk]

    return visit_type_of
