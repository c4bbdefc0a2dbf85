"""One-click links in messages (bookings.links and the pages at /links/<token>/): unguessable,
stored as hashes, one action each, expiring, single use for changes; GET changes nothing; every
link that does not work gets the very same page; throttled per client address."""

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import PatientFactory
from bookings import links, services
from bookings.models import Appointment, AppointmentLink, ContactChannel, LinkAction, Status
from bookings.tests.factories import AppointmentFactory
from doctors.models import Clinic
from doctors.tests.factories import ClinicFactory, DoctorFactory

pytestmark = pytest.mark.django_db

PORTAL = "https://clinic.example.org"
DOCTOR_NAME = "Dr Kavya Iyer"
CLINIC = "Lakeview Clinic"
PATIENT_NAME = "Meera Raghavan"
REASON = "Recurring migraine"

CSRF_TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


@pytest.fixture(autouse=True)
def link_settings(settings):
    settings.PORTAL_URL = PORTAL
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4
    settings.THROTTLE_FORMS_PER_IP = "30/h"
    settings.RATELIMIT_ENABLE = True
    return settings


def make_appointment(**fields):
    fields.setdefault("patient", PatientFactory(with_account=True, full_name=PATIENT_NAME))
    return AppointmentFactory(
        doctor=DoctorFactory(full_name=DOCTOR_NAME),
        clinic=Clinic.objects.filter(name=CLINIC).first()
        or ClinicFactory(name=CLINIC, phone="+918012345678", timezone="Asia/Kolkata"),
        reason=REASON,
        **fields,
    )


@pytest.fixture
def appointment():
    return make_appointment()


def link_path(appointment, action):
    """The path of a fresh link of `action` (as a message would carry it)."""
    url = links.issue(appointment, [action], now=timezone.now())[action]
    assert url.startswith(PORTAL + "/links/")
    return url.removeprefix(PORTAL)


def fresh(appointment):
    return Appointment.objects.get(pk=appointment.pk)


# --- Tokens -----------------------------------------------------------------------------------


def test_a_link_carries_a_long_random_token_and_nothing_about_the_appointment(appointment):
    made = links.issue(appointment, list(LinkAction), now=timezone.now())
    assert set(made) == {"confirm", "cancel", "reschedule"}
    tokens = [url.removeprefix(f"{PORTAL}/links/").strip("/") for url in made.values()]
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{24}", token)  # 144 bits of base64
        assert str(appointment.pk) not in token or len(token) > len(str(appointment.pk)) * 3
    assert len(set(tokens)) == 3
    for url in made.values():
        for detail in (PATIENT_NAME, "Meera", appointment.patient.email, f"/{appointment.pk}/"):
            assert detail not in url


def test_only_a_hash_of_each_token_is_stored(appointment):
    made = links.issue(appointment, [LinkAction.CONFIRM], now=timezone.now())
    token = made["confirm"].rsplit("/", 2)[-2]
    row = AppointmentLink.objects.get()
    assert row.token_hash == links.hash_token(token) != token
    assert token not in str(AppointmentLink.objects.values().get())


def test_each_link_expires_when_the_appointment_starts(appointment):
    links.issue(appointment, [LinkAction.CONFIRM, LinkAction.CANCEL], now=timezone.now())
    assert {row.expires_at for row in AppointmentLink.objects.all()} == {appointment.start}


def test_no_links_without_a_portal_address(appointment, link_settings):
    link_settings.PORTAL_URL = ""
    assert links.issue(appointment, [LinkAction.CONFIRM], now=timezone.now()) == {}
    assert not AppointmentLink.objects.exists()


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.CHECKED_IN, Status.NO_SHOW])
def test_no_links_for_an_appointment_no_longer_open(appointment, status):
    Appointment.objects.filter(pk=appointment.pk).update(status=status)
    assert links.issue(fresh(appointment), [LinkAction.CONFIRM], now=timezone.now()) == {}


def test_a_guessed_token_opens_nothing(client, appointment):
    link_path(appointment, LinkAction.CONFIRM)
    response = client.post(reverse("links:open", kwargs={"token": "A" * 24}))
    assert response.status_code == 404
    assert not fresh(appointment).attendance_confirmed


def test_expired_links_are_deleted_by_the_clean_up(appointment):
    links.issue(appointment, [LinkAction.CONFIRM], now=timezone.now())
    assert links.delete_expired(now=appointment.start - dt.timedelta(seconds=1)) == 0
    assert links.delete_expired(now=appointment.start) == 1
    assert not AppointmentLink.objects.exists()


# --- GET shows, POST acts ---------------------------------------------------------------------


def test_opening_a_confirm_link_changes_nothing_and_shows_the_appointment(client, appointment):
    path = link_path(appointment, LinkAction.CONFIRM)
    for _ in range(3):  # a mail scanner, a link preview, the patient
        response = client.get(path)
        assert response.status_code == 200
    body = response.content.decode()
    assert DOCTOR_NAME in body and CLINIC in body and "Yes, I will come" in body
    for private in (PATIENT_NAME, REASON, appointment.patient.email):
        assert private not in body
    assert not fresh(appointment).attendance_confirmed
    assert AppointmentLink.objects.get().used_at is None


def test_opening_a_cancel_link_changes_nothing(client, appointment):
    path = link_path(appointment, LinkAction.CANCEL)
    response = client.get(path)
    assert response.status_code == 200
    assert "Yes, cancel the appointment" in response.content.decode()
    assert fresh(appointment).status == Status.BOOKED
    assert AppointmentLink.objects.get().used_at is None


def test_link_pages_are_neither_cached_nor_indexed_nor_referred(client, appointment):
    response = client.get(link_path(appointment, LinkAction.CONFIRM))
    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert response["Referrer-Policy"] == "same-origin"


def test_pressing_confirm_records_the_confirmation_once(client, appointment):
    path = link_path(appointment, LinkAction.CONFIRM)
    response = client.post(path)
    assert response.status_code == 200
    assert "your appointment is confirmed" in response.content.decode()
    appointment = fresh(appointment)
    assert appointment.attendance_confirmed_via == ContactChannel.LINK
    assert appointment.attendance_confirmed_by is None
    assert AppointmentLink.objects.get().used_at is not None
    first = appointment.attendance_confirmed_at
    again = client.post(path)
    assert again.status_code == 404
    assert fresh(appointment).attendance_confirmed_at == first


def test_pressing_cancel_cancels_as_the_patient_through_a_link(client, appointment):
    confirm = link_path(appointment, LinkAction.CONFIRM)
    cancel = link_path(appointment, LinkAction.CANCEL)
    response = client.post(cancel)
    assert response.status_code == 200
    assert "Your appointment is cancelled" in response.content.decode()
    appointment = fresh(appointment)
    assert appointment.status == Status.CANCELLED
    assert (appointment.cancelled_by, appointment.cancelled_via) == (None, ContactChannel.LINK)
    # Every other link of the cancelled appointment is dead too.
    for path in (cancel, confirm):
        assert client.get(path).status_code == 404
        assert client.post(path).status_code == 404
    assert not fresh(appointment).attendance_confirmed


def test_a_confirm_link_cannot_cancel(client, appointment):
    path = link_path(appointment, LinkAction.CONFIRM)
    client.post(path, {"action": "cancel"})
    appointment = fresh(appointment)
    assert appointment.status == Status.BOOKED
    assert appointment.attendance_confirmed


def test_a_reschedule_link_changes_nothing_even_when_posted(client, appointment):
    path = link_path(appointment, LinkAction.RESCHEDULE)
    response = client.post(path)
    assert response.status_code == 302
    appointment = fresh(appointment)
    assert (appointment.status, appointment.attendance_confirmed) == (Status.BOOKED, False)
    assert AppointmentLink.objects.get().used_at is None


def test_a_cancel_needs_the_pages_csrf_token(appointment):
    client = Client(enforce_csrf_checks=True)
    path = link_path(appointment, LinkAction.CANCEL)
    assert client.post(path).status_code == 403
    assert fresh(appointment).status == Status.BOOKED
    page = client.get(path)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    assert client.post(path, {"csrfmiddlewaretoken": token}).status_code == 200
    assert fresh(appointment).status == Status.CANCELLED


# --- The cancellation cut-off ------------------------------------------------------------------


def test_inside_the_cutoff_the_cancel_page_says_to_call_and_offers_no_button(client, appointment):
    path = link_path(appointment, LinkAction.CANCEL)
    with time_machine.travel(appointment.start - dt.timedelta(hours=3), tick=False):
        response = client.get(path)
    body = response.content.decode()
    assert response.status_code == 200
    assert "too late to cancel" in body and "+918012345678" in body
    assert "Yes, cancel the appointment" not in body


def test_inside_the_cutoff_a_cancel_is_refused_and_the_link_is_spent(client, appointment):
    path = link_path(appointment, LinkAction.CANCEL)
    with time_machine.travel(appointment.start - dt.timedelta(hours=3), tick=False):
        response = client.post(path)
        assert response.status_code == 409
        assert "up to 4 hours before" in response.content.decode()
        assert client.post(path).status_code == 404
    assert fresh(appointment).status == Status.BOOKED


def test_confirming_inside_the_cutoff_still_works(client, appointment):
    path = link_path(appointment, LinkAction.CONFIRM)
    with time_machine.travel(appointment.start - dt.timedelta(minutes=30), tick=False):
        assert client.post(path).status_code == 200
    assert fresh(appointment).attendance_confirmed


# --- Links that do not work all look alike -----------------------------------------------------


def _dead_links(appointment_factory):
    """{why: (path, method)} of links that must all get the one 'does not work' page."""
    dead = {}
    wrong = make_appointment()
    link_path(wrong, LinkAction.CONFIRM)
    dead["wrong"] = "/links/" + "x" * 24 + "/"
    dead["too long"] = "/links/" + "y" * 500 + "/"
    dead["odd characters"] = "/links/%E2%9C%93%20%27/"

    expired = appointment_factory()
    dead["expired"] = link_path(expired, LinkAction.CONFIRM)
    AppointmentLink.objects.filter(appointment=expired).update(
        created_at=timezone.now() - dt.timedelta(days=2),
        expires_at=timezone.now() - dt.timedelta(seconds=1),
    )

    used = appointment_factory()
    dead["used"] = link_path(used, LinkAction.CONFIRM)
    AppointmentLink.objects.filter(appointment=used).update(used_at=timezone.now())

    cancelled = appointment_factory()
    dead["cancelled appointment"] = link_path(cancelled, LinkAction.CONFIRM)
    services.cancel_appointment(appointment=cancelled, by=None, via=ContactChannel.SMS)

    moved = appointment_factory()
    dead["moved appointment (reschedule link)"] = link_path(moved, LinkAction.RESCHEDULE)
    Appointment.objects.filter(pk=moved.pk).update(status=Status.CANCELLED)
    AppointmentFactory(
        patient=moved.patient, doctor=moved.doctor, clinic=moved.clinic, rescheduled_from=moved
    )

    started = appointment_factory()
    dead["started"] = link_path(started, LinkAction.CANCEL)
    Appointment.objects.filter(pk=started.pk).update(start=timezone.now() - dt.timedelta(minutes=1))
    return dead


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_link_that_does_not_work_gets_the_very_same_page(client, method):
    dead = _dead_links(make_appointment)
    answers = {}
    for why, path in dead.items():
        response = getattr(client, method)(path)
        # Each page's form (the header's language switcher) has its own masked CSRF token.
        content = CSRF_TOKEN.sub(b"", response.content)
        answers[why] = (response.status_code, content)
    assert {status for status, _ in answers.values()} == {404}
    assert len({content for _, content in answers.values()}) == 1, sorted(answers)
    body = next(iter(answers.values()))[1].decode()
    assert "This link does not work" in body
    for detail in (PATIENT_NAME, DOCTOR_NAME, CLINIC, REASON):
        assert detail not in body


def test_links_that_do_not_work_are_told_apart_by_one_query_alike(
    client, django_assert_num_queries
):
    dead = _dead_links(make_appointment)
    for path in dead.values():
        with django_assert_num_queries(1):
            client.get(path)


# --- Who holds the link ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who",
    [
        None,
        "patient_user",
        "other_patient_user",
        "doctor_user",
        "front_desk_user",
        "clinic_admin_user",
    ],
)
def test_the_link_alone_decides_whoever_is_logged_in(client, appointment, who, request):
    if who:
        client.force_login(request.getfixturevalue(who))
    confirm = link_path(appointment, LinkAction.CONFIRM)
    response = client.get(confirm)
    assert response.status_code == 200
    assert PATIENT_NAME not in response.content.decode()
    assert client.post(confirm).status_code == 200
    assert fresh(appointment).attendance_confirmed_via == ContactChannel.LINK
    assert client.get("/links/" + "z" * 24 + "/").status_code == 404


def test_a_reschedule_link_leads_to_the_move_page_which_asks_to_log_in(client, appointment):
    response = client.get(link_path(appointment, LinkAction.RESCHEDULE))
    move = reverse("bookings:reschedule", kwargs={"pk": appointment.pk})
    assert response.status_code == 302 and response["Location"] == move
    login = client.get(move)
    assert login.status_code == 302 and login["Location"].startswith(reverse("accounts:login"))
    client.force_login(appointment.patient.user)
    assert client.get(move).status_code == 200


def test_a_walk_in_patients_reschedule_link_says_to_call_the_clinic(client):
    appointment = make_appointment(patient=PatientFactory(full_name=PATIENT_NAME))
    response = client.get(link_path(appointment, LinkAction.RESCHEDULE))
    body = response.content.decode()
    assert response.status_code == 200
    assert "To move this appointment" in body and "+918012345678" in body
    assert PATIENT_NAME not in body


def test_a_walk_in_patient_confirms_and_cancels_by_link(client):
    appointment = make_appointment(patient=PatientFactory())
    assert client.post(link_path(appointment, LinkAction.CONFIRM)).status_code == 200
    response = client.post(link_path(appointment, LinkAction.CANCEL))
    assert "call" in response.content.decode() and "+918012345678" in response.content.decode()
    appointment = fresh(appointment)
    assert appointment.attendance_confirmed and appointment.status == Status.CANCELLED


# --- Throttling -------------------------------------------------------------------------------


def test_links_that_do_not_work_are_throttled_per_address(client, appointment, link_settings):
    link_settings.THROTTLE_FORMS_PER_IP = "3/h"
    good = link_path(appointment, LinkAction.CONFIRM)
    bad = "/links/" + "q" * 24 + "/"
    for _ in range(5):  # working links are not counted
        assert client.get(good).status_code == 200
    for _ in range(3):
        assert client.get(bad).status_code == 404
    refused = client.get(bad)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert Client(REMOTE_ADDR="10.0.0.9").get(bad).status_code == 404


def test_a_working_link_still_works_from_an_address_past_the_limit(
    client, appointment, link_settings
):
    """Patients share addresses (a carrier's, the clinic's Wi-Fi): someone else's bad tries from
    the same address do not stop a patient's own link."""
    link_settings.THROTTLE_FORMS_PER_IP = "3/h"
    for _ in range(4):
        client.get("/links/" + "q" * 24 + "/")
    assert client.get("/links/" + "q" * 24 + "/").status_code == 429

    path = link_path(appointment, LinkAction.CONFIRM)
    confirmed = client.post(path)

    assert confirmed.status_code == 200
    assert fresh(appointment).attendance_confirmed
    # Used now: the same link again is one that does not work, and refused as such.
    assert client.post(path).status_code == 429


# --- Races and failures ------------------------------------------------------------------------


def _token_of(path):
    return path.removeprefix("/links/").strip("/")


def test_a_link_used_between_opening_and_pressing_acts_once(appointment):
    path = link_path(appointment, LinkAction.CANCEL)
    now = timezone.now()
    # Both presses found the link working (two tabs, a double click): only one acts.
    first, second = (links.find(_token_of(path), now=now) for _ in range(2))
    links.act(first, now=now)
    with pytest.raises(links.LinkUsed):
        links.act(second, now=now)
    assert fresh(appointment).status == Status.CANCELLED


def test_the_page_of_a_link_spent_meanwhile_is_the_dead_one(client, appointment, monkeypatch):
    path = link_path(appointment, LinkAction.CONFIRM)
    monkeypatch.setattr(links, "_claim", lambda link, now: False)
    assert client.post(path).status_code == 404
    assert not fresh(appointment).attendance_confirmed


def test_a_failure_that_is_no_refusal_gives_the_link_back(appointment, monkeypatch):
    link_path(appointment, LinkAction.CONFIRM)
    [link] = AppointmentLink.objects.select_related("appointment")

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "confirm_attendance", broken)
    with pytest.raises(RuntimeError):
        links.act(link, now=timezone.now())
    assert AppointmentLink.objects.get().used_at is None


# --- The portal's address ----------------------------------------------------------------------


def test_a_portal_address_without_its_scheme_is_refused_at_start():
    from clinic.tests.test_security import check_deploy, production_environment

    refused = check_deploy(production_environment(PORTAL_URL="clinic.example.org"))
    assert refused.returncode != 0
    assert "PORTAL_URL must be an address" in refused.stderr
    accepted = check_deploy(production_environment(PORTAL_URL="https://clinic.example.org"))
    assert accepted.returncode == 0, accepted.stderr


def test_with_throttles_off_links_are_never_refused(client, appointment, link_settings):
    link_settings.THROTTLE_FORMS_PER_IP = "1/h"
    link_settings.RATELIMIT_ENABLE = False
    for _ in range(3):
        assert client.get("/links/" + "q" * 24 + "/").status_code == 404
    assert client.post(link_path(appointment, LinkAction.CONFIRM)).status_code == 200
