"""Video visits: the room a Jitsi backend names, when and to whom the join link shows, a custom
backend through VIDEO_BACKEND, and the system check of that setting."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import checks
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from icalendar import Calendar

from accounts.tests.factories import PatientFactory
from bookings import ical, services, video
from bookings.models import Appointment, Status
from bookings.tests.factories import AppointmentFactory
from doctors import services as doctor_services
from doctors.models import VisitType
from doctors.tests.factories import ClinicFactory, DoctorFactory, WorkingHoursFactory

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
START = dt.datetime(2026, 3, 10, 10, 0, tzinfo=KOLKATA)  # a 15-minute visit, 10:00-10:15
BEFORE_OPENING = START - dt.timedelta(minutes=16)
AT_OPENING = START - dt.timedelta(minutes=15)
DURING = START + dt.timedelta(minutes=5)
LAST_GRACE_MINUTE = START + dt.timedelta(minutes=15 + 29)
AFTER_GRACE = START + dt.timedelta(minutes=15 + 30)


class RecordingBackend(video.VideoBackend):
    """A provider of its own: every appointment's link on example.net."""

    def join_url(self, appointment):
        return f"https://video.example.net/visit/{appointment.pk}"


class NotABackend:
    pass


def video_type(doctor):
    return VisitType.objects.create(
        name="Video consultation", doctor=doctor, minutes=15, mode=VisitType.Mode.VIDEO
    )


@pytest.fixture(autouse=True)
def video_settings(settings):
    settings.VIDEO_BACKEND = "bookings.video.JitsiBackend"
    settings.VIDEO_JITSI_URL = "https://meet.example.org"
    settings.VIDEO_ROOM_SECRET = "a secret only the portal knows"
    settings.VIDEO_LINK_OPENS_MINUTES_BEFORE = 15
    settings.VIDEO_LINK_GRACE_MINUTES = 30
    return settings


@pytest.fixture
def clinic():
    return ClinicFactory(name="Lakeview", timezone="Asia/Kolkata")


@pytest.fixture
def visit(doctor_user, patient_user, clinic):
    """A video visit of the doctor's with the patient, at START."""
    doctor = doctor_user.doctor
    return AppointmentFactory(
        patient=patient_user.patient,
        doctor=doctor,
        clinic=clinic,
        start=START,
        end=START + dt.timedelta(minutes=15),
        visit_type=video_type(doctor),
    )


def room_of(appointment):
    return video.room_name(Appointment.objects.get(pk=appointment.pk))


# The room ---------------------------------------------------------------------------------------


def test_the_room_is_stable_and_on_the_configured_server(visit):
    url = video.get_backend().join_url(visit)
    assert url == f"https://meet.example.org/{room_of(visit)}"
    assert video.get_backend().join_url(Appointment.objects.get(pk=visit.pk)) == url
    assert re.fullmatch(r"[a-z2-7]{32}", room_of(visit))


def test_every_appointment_gets_its_own_room(visit):
    others = AppointmentFactory.create_batch(
        5, doctor=visit.doctor, clinic=visit.clinic, visit_type=visit.visit_type
    )
    rooms = {room_of(appointment) for appointment in [visit, *others]}
    assert len(rooms) == 6


def test_a_number_used_again_after_a_restore_gets_another_room(visit):
    """The same number made at another time (a database restored from a backup) is another room."""
    again = Appointment(pk=visit.pk, created_at=visit.created_at + dt.timedelta(seconds=1))
    assert video.room_name(again) != room_of(visit)


def test_the_room_cannot_be_made_without_the_secret(visit, video_settings):
    known = room_of(visit)
    video_settings.VIDEO_ROOM_SECRET = "another secret"
    assert room_of(visit) != known
    video_settings.VIDEO_ROOM_SECRET = ""
    derived = room_of(visit)
    assert derived not in (known, "")
    video_settings.SECRET_KEY = "another secret key"
    assert room_of(visit) != derived  # derived from SECRET_KEY, which an outsider lacks


def test_the_default_secret_is_derived_from_the_secret_key_not_the_key_itself(video_settings):
    video_settings.VIDEO_ROOM_SECRET = ""
    assert video.room_secret() == video.room_secret()
    assert video_settings.SECRET_KEY not in video.room_secret()


def test_the_room_says_nothing_about_the_patient_doctor_or_time(visit):
    url = video.get_backend().join_url(visit).lower()
    patient, doctor = visit.patient, visit.doctor
    for word in [
        *patient.full_name.lower().split(),
        *doctor.full_name.lower().split(),
        patient.phone.lstrip("+"),
        patient.email.lower(),
        str(visit.pk),
        "2026",
    ]:
        assert word not in url.removeprefix("https://meet.example.org/")


def test_a_moved_appointment_is_a_new_row_and_a_new_room(visit, patient_user):
    new_start = START + dt.timedelta(days=1)
    WorkingHoursFactory(doctor=visit.doctor, clinic=visit.clinic, weekday=new_start.weekday())
    with time_machine.travel(START - dt.timedelta(days=5), tick=False):
        moved = services.reschedule_appointment(
            appointment=visit,
            start=new_start,
            by=patient_user,
        )
    assert moved.pk != visit.pk
    assert room_of(moved) != room_of(visit)


# When the link shows ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "state"),
    [
        (BEFORE_OPENING, "waiting"),
        (AT_OPENING, "open"),
        (DURING, "open"),
        (LAST_GRACE_MINUTE, "open"),
        (AFTER_GRACE, "over"),
    ],
)
def test_the_link_shows_only_from_the_set_time_before_the_start_until_the_grace_ends(
    visit, now, state
):
    joining = video.join(visit, now=now)
    assert joining.state == state
    assert bool(joining.join_url) == (state == "open")


def test_the_opening_time_follows_the_setting(visit, video_settings):
    video_settings.VIDEO_LINK_OPENS_MINUTES_BEFORE = 30
    assert video.join(visit, now=BEFORE_OPENING).state == "open"


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.NO_SHOW, Status.COMPLETED])
def test_a_visit_no_longer_to_be_held_shows_no_link(visit, status):
    visit.status = status
    joining = video.join(visit, now=DURING)
    assert (joining.state, joining.join_url) == ("closed", "")


def test_a_checked_in_visit_shows_the_link(visit):
    visit.status = Status.CHECKED_IN
    assert video.join(visit, now=DURING).join_url


def test_a_visit_in_person_has_no_video_section(doctor_user, clinic):
    in_person = VisitType.objects.create(name="First visit", doctor=doctor_user.doctor, minutes=15)
    assert video.join(AppointmentFactory(visit_type=in_person), now=DURING) is None
    assert video.join(AppointmentFactory(), now=DURING) is None


# A provider of one's own ------------------------------------------------------------------------


def test_a_backend_named_in_the_setting_makes_the_link(visit, video_settings):
    video_settings.VIDEO_BACKEND = f"{__name__}.RecordingBackend"
    assert video.join(visit, now=DURING).join_url == f"https://video.example.net/visit/{visit.pk}"


def test_the_interface_demands_a_join_url(visit):
    with pytest.raises(NotImplementedError):
        video.VideoBackend().join_url(visit)


@pytest.mark.parametrize(
    ("backend", "jitsi_url", "check_id"),
    [
        ("bookings.video.NoSuchBackend", "https://meet.jit.si", "bookings.E020"),
        ("nowhere.at.all.Backend", "https://meet.jit.si", "bookings.E020"),
        (f"{__name__}.NotABackend", "https://meet.jit.si", "bookings.E021"),
        ("bookings.video.JitsiBackend", "meet.jit.si", "bookings.E022"),
    ],
)
def test_the_system_check_refuses_a_backend_that_cannot_work(
    video_settings, backend, jitsi_url, check_id
):
    video_settings.VIDEO_BACKEND = backend
    video_settings.VIDEO_JITSI_URL = jitsi_url
    assert [problem.id for problem in video.video_backend_imports(None)] == [check_id]
    assert check_id in [problem.id for problem in checks.run_checks()]


def test_the_system_check_passes_a_working_backend(video_settings):
    assert video.video_backend_imports(None) == []
    # Another backend needs no Jitsi server.
    video_settings.VIDEO_BACKEND = f"{__name__}.RecordingBackend"
    video_settings.VIDEO_JITSI_URL = ""
    assert video.video_backend_imports(None) == []


# The pages, per role ----------------------------------------------------------------------------

JOIN = "Join the video visit"


def page(client, user, url):
    if user is not None:
        client.force_login(user)
    return client.get(url)


def patient_page(visit):
    return reverse("bookings:detail", kwargs={"pk": visit.pk})


def doctor_page(visit):
    return reverse("schedule:appointment", kwargs={"pk": visit.pk})


def desk_page(visit):
    return reverse("desk:appointment", kwargs={"pk": visit.pk})


@time_machine.travel(DURING, tick=False)
def test_the_patient_sees_the_link_on_their_appointment_page_when_it_is_open(
    client, visit, patient_user
):
    response = page(client, patient_user, patient_page(visit))
    assert response.status_code == 200
    html = response.content.decode()
    assert JOIN in html
    assert video.get_backend().join_url(visit) in html
    assert 'rel="noopener noreferrer"' in html


@time_machine.travel(BEFORE_OPENING, tick=False)
def test_before_the_opening_the_patient_is_told_when_it_opens(client, visit, patient_user):
    html = page(client, patient_user, patient_page(visit)).content.decode()
    assert JOIN not in html
    assert room_of(visit) not in html
    assert "The link to join appears here from 09:45 on Tuesday 10 March" in html


@time_machine.travel(AFTER_GRACE, tick=False)
def test_after_the_grace_the_link_is_gone(client, visit, patient_user, doctor_user):
    for user, url in [(patient_user, patient_page(visit)), (doctor_user, doctor_page(visit))]:
        html = page(client, user, url).content.decode()
        assert room_of(visit) not in html
        assert "its link no longer shows" in html


@time_machine.travel(DURING, tick=False)
def test_a_cancelled_visit_shows_no_link(client, visit, patient_user, doctor_user):
    Appointment.objects.filter(pk=visit.pk).update(status=Status.CANCELLED)
    for user, url in [(patient_user, patient_page(visit)), (doctor_user, doctor_page(visit))]:
        html = page(client, user, url).content.decode()
        assert room_of(visit) not in html
        assert "would have been by video; there is no link to join" in html


@time_machine.travel(DURING, tick=False)
def test_another_patient_gets_no_page_and_no_link(client, visit, other_patient_user):
    response = page(client, other_patient_user, patient_page(visit))
    assert response.status_code == 404
    assert room_of(visit) not in response.content.decode()


@time_machine.travel(DURING, tick=False)
def test_the_doctor_sees_the_link_on_the_appointment_and_on_the_day(client, visit, doctor_user):
    html = page(client, doctor_user, doctor_page(visit)).content.decode()
    assert video.get_backend().join_url(visit) in html
    day = page(client, doctor_user, reverse("schedule:day", kwargs={"day": START.date()}))
    assert video.get_backend().join_url(visit) in day.content.decode()
    assert ">Video</span>" in day.content.decode()


@time_machine.travel(BEFORE_OPENING, tick=False)
def test_before_the_opening_the_doctor_sees_it_is_by_video_without_the_link(
    client, visit, doctor_user
):
    day = page(client, doctor_user, reverse("schedule:day", kwargs={"day": START.date()}))
    assert ">Video</span>" in day.content.decode()
    assert room_of(visit) not in day.content.decode()
    html = page(client, doctor_user, doctor_page(visit)).content.decode()
    assert "The link to join appears here from 09:45" in html
    assert room_of(visit) not in html


@time_machine.travel(DURING, tick=False)
def test_another_doctor_gets_no_page_and_no_link(client, visit):
    other = DoctorFactory(with_account=True).user
    assert page(client, other, doctor_page(visit)).status_code == 404
    day = page(client, other, reverse("schedule:day", kwargs={"day": START.date()}))
    assert room_of(visit) not in day.content.decode()


@time_machine.travel(DURING, tick=False)
def test_the_desk_sees_a_video_visit_but_not_the_link_of_a_patient_with_a_login(
    client, visit, front_desk_user
):
    html = page(client, front_desk_user, desk_page(visit)).content.decode()
    assert "Video visit" in html
    assert "see the link to join on their own pages" in html
    assert room_of(visit) not in html


@time_machine.travel(DURING, tick=False)
def test_the_desk_sees_the_link_of_a_patient_without_a_login_to_give_it_to_them(
    client, visit, front_desk_user
):
    walk_in = PatientFactory()
    Appointment.objects.filter(pk=visit.pk).update(patient=walk_in)
    html = page(client, front_desk_user, desk_page(visit)).content.decode()
    assert video.get_backend().join_url(visit) in html
    assert "give it only to the patient" in html


@time_machine.travel(BEFORE_OPENING, tick=False)
def test_the_desk_is_told_where_the_link_will_show(client, visit, front_desk_user):
    html = page(client, front_desk_user, desk_page(visit)).content.decode()
    assert "shows on the patient's and the doctor's pages from 09:45" in html


@time_machine.travel(DURING, tick=False)
def test_the_clinic_admin_sees_no_link_in_the_admin(client, visit, clinic_admin_user):
    url = reverse("admin:bookings_appointment_change", args=[visit.pk])
    response = page(client, clinic_admin_user, url)
    assert response.status_code == 200
    assert room_of(visit) not in response.content.decode()


@time_machine.travel(DURING, tick=False)
def test_a_visitor_is_sent_to_log_in_and_sees_no_link(client, visit):
    for url in [patient_page(visit), doctor_page(visit), desk_page(visit)]:
        response = page(client, None, url)
        assert response.status_code == 302
        assert reverse("accounts:login") in response["Location"]


@time_machine.travel(DURING, tick=False)
def test_the_doctors_day_costs_the_same_queries_with_more_video_visits(
    client, visit, doctor_user, django_assert_max_num_queries
):
    client.force_login(doctor_user)
    url = reverse("schedule:day", kwargs={"day": START.date()})
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for minutes in (15, 30, 45):
        AppointmentFactory(
            doctor=visit.doctor,
            clinic=visit.clinic,
            start=START + dt.timedelta(minutes=minutes),
            end=START + dt.timedelta(minutes=minutes + 15),
            visit_type=visit.visit_type,
        )
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(url)
    html = response.content.decode()
    assert html.count(">Video</span>") == 4
    assert html.count(JOIN) == 2  # 10:00 and 10:15 are open at 10:05; 10:30 and 10:45 not yet


# Calendars ---------------------------------------------------------------------------------------


@time_machine.travel(START - dt.timedelta(days=1), tick=False)
def test_the_patients_calendar_file_says_by_video_without_the_room(client, visit, patient_user):
    response = page(
        client, patient_user, reverse("bookings:calendar_file", kwargs={"pk": visit.pk})
    )
    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["location"]) == ical.VIDEO_LOCATION
    assert str(event["description"]).endswith("by video.")
    assert room_of(visit) not in response.content.decode()


@time_machine.travel(START - dt.timedelta(days=1), tick=False)
def test_the_doctors_feed_says_by_video_in_the_same_queries_for_more_visits(
    client, visit, doctor_user
):
    doctor = doctor_services.issue_calendar_token(doctor=doctor_user.doctor)
    url = reverse("schedule:feed", kwargs={"token": doctor.calendar_token})
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for minutes in (15, 30):
        AppointmentFactory(
            doctor=visit.doctor,
            clinic=visit.clinic,
            start=START + dt.timedelta(minutes=minutes),
            end=START + dt.timedelta(minutes=minutes + 15),
            visit_type=visit.visit_type,
        )
    with CaptureQueriesContext(connection) as three:
        response = client.get(url)
    assert len(three.captured_queries) == len(one.captured_queries)
    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert [str(event["location"]) for event in events] == [ical.VIDEO_LOCATION] * 3
    assert room_of(visit) not in response.content.decode()


# Lists ------------------------------------------------------------------------------------------


@time_machine.travel(DURING, tick=False)
def test_the_doctors_week_marks_video_visits_and_offers_the_open_link(client, visit, doctor_user):
    response = page(client, doctor_user, reverse("schedule:week_of", kwargs={"day": START.date()}))
    html = response.content.decode()
    assert ">Video</span>" in html
    assert video.get_backend().join_url(visit) in html


def test_my_appointments_says_by_video_in_the_same_queries_for_more(
    client, visit, patient_user, clinic
):
    client.force_login(patient_user)
    url = reverse("bookings:mine")
    client.get(url)  # the session's first request does its own work
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for minutes in (15, 30):
        AppointmentFactory(
            patient=visit.patient,
            doctor=visit.doctor,
            clinic=clinic,
            start=START + dt.timedelta(minutes=minutes),
            end=START + dt.timedelta(minutes=minutes + 15),
            visit_type=visit.visit_type,
        )
    with CaptureQueriesContext(connection) as three:
        response = client.get(url)
    assert len(three.captured_queries) == len(one.captured_queries)
    html = response.content.decode()
    assert html.count("<td>By video</td>") == 3
    assert room_of(visit) not in html


@time_machine.travel(START - dt.timedelta(hours=1), tick=False)
def test_the_desks_arrivals_say_who_comes_by_video_in_the_same_queries(
    client, visit, front_desk_user
):
    client.force_login(front_desk_user)
    url = reverse("desk:queue")
    client.get(url)  # the session's first request does its own work
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for minutes in (15, 30):
        AppointmentFactory(
            doctor=visit.doctor,
            clinic=visit.clinic,
            start=START + dt.timedelta(minutes=minutes),
            end=START + dt.timedelta(minutes=minutes + 15),
            visit_type=visit.visit_type,
        )
    with CaptureQueriesContext(connection) as three:
        response = client.get(url)
    assert len(three.captured_queries) == len(one.captured_queries)
    html = response.content.decode()
    assert html.count("by video, not in the building") == 3
    assert room_of(visit) not in html


@time_machine.travel(BEFORE_OPENING, tick=False)
def test_the_appointment_facts_say_by_video_instead_of_the_clinics_address(
    client, visit, patient_user, front_desk_user
):
    for user, url in [(patient_user, patient_page(visit)), (front_desk_user, desk_page(visit))]:
        html = page(client, user, url).content.decode()
        assert "By video" in html
        assert visit.clinic.address.splitlines()[0] not in html
