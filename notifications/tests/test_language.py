"""Notices are written in their recipient's language (Patient.language), whoever triggers them and
whatever language is active where they are rendered (a Hindi page, an English worker).

The Hindi wording is not repeated here: the expected text is the catalogue's own translation,
looked up with gettext under Hindi. Those tests need the compiled catalogue
locale/hi/LC_MESSAGES/django.mo holding the notices' messages (merged from
locale-fragments/hi/messages.po into django.po; `make` builds the .mo, as CI does) and are skipped
until it does. The language of the HTML and the English copies are checked without it.
"""

from pathlib import Path

import pytest
from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext, pgettext

from accounts.tests.factories import PatientFactory
from bookings.models import Status
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import ClinicFactory
from notifications import delivery
from notifications.models import Notification
from notifications.sms_inbound import answer_reply
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

SMS = Notification.Channel.SMS
SUBJECT = "Your appointment is booked"
CATALOGUE = Path(settings.BASE_DIR) / "locale" / "hi" / "LC_MESSAGES" / "django.mo"


def hindi_catalogue_has_the_notices():
    if not CATALOGUE.exists():
        return False
    with translation.override("hi"):
        return gettext(SUBJECT) != SUBJECT


needs_hindi_catalogue = pytest.mark.skipif(
    not hindi_catalogue_has_the_notices(),
    reason="locale/hi/LC_MESSAGES/django.mo lacks the notices' messages "
    "(merge locale-fragments/hi/messages.po into django.po, then make)",
)


@pytest.fixture(autouse=True)
def clinic_name(settings):
    settings.CLINIC_NAME = "Sunrise Health"


@pytest.fixture
def lakeview(db):
    return ClinicFactory(name="Lakeview", phone="+918012345678")


def confirmation(language, clinic, channel=Notification.Channel.EMAIL):
    # A walk-in (no login) at a clinic with a phone: the notices say to call that number.
    patient = PatientFactory(language=language, user=None)
    appointment = AppointmentFactory(patient=patient, clinic=clinic)
    address = patient.phone if channel == SMS else patient.email
    return NotificationFactory(appointment=appointment, channel=channel, address=address)


def in_hindi(text, **values):
    with translation.override("hi"):
        return gettext(text) % values if values else gettext(text)


@needs_hindi_catalogue
@pytest.mark.parametrize("active", ["en-gb", "hi"])
def test_a_hindi_patients_email_is_in_hindi_whoever_sends_it(active, lakeview):
    notification = confirmation("hi", lakeview)
    patient = notification.appointment.patient

    with translation.override(active):
        message = delivery.render_email(notification)
        # The sender's own language is back once the notice is rendered.
        assert translation.get_language() == active

    html = message.alternatives[0][0]
    assert message.subject == f"{in_hindi(SUBJECT)} · Sunrise Health"
    assert in_hindi("Dear %(name)s,", name=patient.full_name) in message.body
    assert in_hindi("Your appointment is booked:") in message.body
    assert in_hindi("To move or cancel the appointment, please call the clinic.") in message.body
    assert in_hindi("Your appointment is booked:") in html
    assert in_hindi("Please arrive ten minutes early.") in html
    assert "Your appointment is booked" not in message.body + html


@needs_hindi_catalogue
def test_a_hindi_patients_text_message_is_in_hindi_while_english_is_active(lakeview):
    notification = confirmation("hi", lakeview, channel=SMS)

    with translation.override("en-gb"):
        text = delivery.render_sms(notification)

    with translation.override("hi"):
        where = pgettext("text message: where the appointment is", "at %(place)s") % {
            "place": "Lakeview"
        }
    assert where in text
    assert in_hindi("To change or cancel, call %(phone)s.", phone="+918012345678") in text
    assert "booked with" not in text


@pytest.mark.parametrize("active", ["en-gb", "hi"])
def test_an_english_patients_notices_are_in_english_while_hindi_is_active(active, lakeview):
    email = confirmation("en-gb", lakeview)
    sms = confirmation("en-gb", lakeview, channel=SMS)

    with translation.override(active):
        message = delivery.render_email(email)
        text = delivery.render_sms(sms)

    html = message.alternatives[0][0]
    assert message.subject == "Your appointment is booked · Sunrise Health"
    assert "Your appointment is booked:" in message.body
    assert "Please arrive ten minutes early." in html
    assert '<html lang="en-gb">' in html
    assert text.startswith("Sunrise Health: booked with ")
    assert "at Lakeview." in text and "To change or cancel, call +918012345678." in text


def test_the_html_copy_says_which_language_it_is_in(lakeview):
    message = delivery.render_email(confirmation("hi", lakeview))

    assert '<html lang="hi">' in message.alternatives[0][0]


@needs_hindi_catalogue
def test_a_reply_cancelling_by_text_is_answered_in_the_patients_language(lakeview):
    notification = confirmation("hi", lakeview, channel=SMS)
    notification.state = Notification.State.SENT
    notification.sent_at = timezone.now()
    notification.save()

    answer = answer_reply(from_number=notification.address, text="रद्द")

    appointment = notification.appointment
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    with translation.override("hi"), timezone.override(appointment.clinic.timezone):
        start = timezone.localtime(appointment.start)
        when = formats.date_format(start, "D j M") + " " + formats.time_format(start, "H:i")
    assert answer == in_hindi(
        "%(clinic)s: your appointment on %(when)s is cancelled.", clinic="Sunrise Health", when=when
    )


def test_a_reply_confirming_by_text_is_answered_in_the_patients_language(lakeview):
    notification = confirmation("hi", lakeview, channel=SMS)
    notification.state = Notification.State.SENT
    notification.sent_at = timezone.now()
    notification.save()

    answer = answer_reply(from_number=notification.address, text="पुष्टि")

    appointment = notification.appointment
    appointment.refresh_from_db()
    assert appointment.attendance_confirmed_at is not None
    with translation.override("hi"), timezone.override(appointment.clinic.timezone):
        start = timezone.localtime(appointment.start)
        when = formats.date_format(start, "D j M") + " " + formats.time_format(start, "H:i")
    assert answer == in_hindi(
        "%(clinic)s: thank you, we will expect you on %(when)s.", clinic="Sunrise Health", when=when
    )
    assert answer != "Sunrise Health: thank you, we will expect you on " + when + "."


def test_the_help_text_is_in_the_clinics_language_even_to_a_hindi_patients_number(lakeview):
    notification = confirmation("hi", lakeview, channel=SMS)
    notification.state = Notification.State.SENT
    notification.sent_at = timezone.now()
    notification.save()

    with translation.override("hi"):
        answer = answer_reply(from_number=notification.address, text="hello")

    # The same answer as to a stranger: its language does not tell that the number is known.
    assert answer == answer_reply(from_number="+919999999999", text="hello")
    assert answer.startswith(
        "Sunrise Health: to say you will come to your appointment, reply CONFIRM"
    )


def test_finding_each_recipient_s_language_costs_the_worker_no_query_of_its_own(lakeview):
    """The language may be the recipient's login's: the worker's claim reads the logins with the
    notice (delivery._claim_next), so no notice reads a login on its own."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.tests.factories import UserFactory
    from doctors.tests.factories import DoctorFactory

    for _ in range(3):
        login = UserFactory(language="hi")
        patient = PatientFactory(user=login, language="")
        doctor = DoctorFactory(with_account=True)
        doctor.user.language = "hi"
        doctor.user.save()
        appointment = AppointmentFactory(patient=patient, doctor=doctor, clinic=lakeview)
        NotificationFactory(appointment=appointment)
        NotificationFactory(appointment=appointment, audience=Notification.Audience.DOCTOR)

    with CaptureQueriesContext(connection) as captured:
        assert delivery.send_due(now=timezone.now())["sent"] == 6

    login_reads = [
        query["sql"] for query in captured if query["sql"].startswith('SELECT "accounts_user"')
    ]
    assert login_reads == []
