"""The link a confirmation carries when the clinic has questions for the patient: to the
appointment's page (bookings:detail), which asks them to log in and links to the questions.
Only the address of the page, never a question or an answer."""

from django.urls import reverse

from bookings.links import portal_url
from intake.models import Question


def questions_link(appointment):
    """The appointment page's address, or "" when there is nothing to answer online: no active
    questions for its visit type, a patient without a login (the desk asks them), no PORTAL_URL."""
    if (
        not portal_url()
        or appointment.visit_type_id is None
        or appointment.patient.user_id is None
        or not Question.objects.filter(
            visit_type_id=appointment.visit_type_id, active=True
        ).exists()
    ):
        return ""
    return f"{portal_url()}{reverse('bookings:detail', kwargs={'pk': appointment.pk})}"
