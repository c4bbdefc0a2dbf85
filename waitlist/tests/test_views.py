"""The waitlist's pages, for each role that may and may not use them: patients join, see and leave
their waitlists and take or decline an offer; the front desk sees the whole list, adds patients
(with or without a login) and withdraws entries; doctors see who waits for them. Bad input is
shown on the page with nothing saved, and list pages cost the same queries however long."""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Patient
from accounts.tests.factories import PatientFactory, UserFactory
from bookings.models import Appointment, SlotHold, Status
from bookings.selectors import open_slots
from bookings.services import cancel_appointment
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import DepartmentFactory
from waitlist import links
from waitlist.models import EntryState, OfferState, WaitlistEntry, WaitlistOffer
from waitlist.services import offer_freed_times
from waitlist.tests.conftest import working_doctor
from waitlist.tests.factories import WaitlistEntryFactory

pytestmark = pytest.mark.django_db


def patient_of(user):
    return Patient.objects.get(user=user)


def waiting(patient, doctor, **fields):
    return WaitlistEntryFactory(
        patient=patient, doctor=doctor, created_at=timezone.now() - dt.timedelta(hours=1), **fields
    )


def offered(patient, doctor, clinic):
    """`patient` waits for `doctor`, whose next free time was just freed and offered to them."""
    entry = waiting(patient, doctor)
    start = open_slots(doctor=doctor, clinic=clinic, now=timezone.now())[0].start
    appointment = AppointmentFactory(doctor=doctor, clinic=clinic, start=start)
    cancel_appointment(appointment=appointment, by=UserFactory())
    offer_freed_times()
    return WaitlistOffer.objects.get(entry=entry)


def offer_path(offer):
    return urlsplit(links.issue(offer, now=timezone.now())).path


def content(response):
    return response.content.decode()


def without_csrf(response):
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", content(response))


# My waitlist -----------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in(client):
    for name in ("waitlist:mine", "waitlist:join", "waitlist:desk", "waitlist:doctor"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_a_patient_sees_their_own_entries_only(client, patient_user, other_patient_user, doctor):
    mine = waiting(patient_of(patient_user), doctor)
    waiting(patient_of(other_patient_user), doctor)
    client.force_login(patient_user)

    response = client.get(reverse("waitlist:mine"))

    assert response.status_code == 200
    assert list(response.context["active"]) == [mine]
    assert reverse("waitlist:withdraw", kwargs={"pk": mine.pk}) in content(response)


def test_my_waitlist_costs_the_same_queries_however_many_entries(
    client, patient_user, clinic, department
):
    patient = patient_of(patient_user)
    client.force_login(patient_user)
    waiting(patient, working_doctor(clinic, department))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("waitlist:mine"))
    for _ in range(3):
        waiting(patient, working_doctor(clinic, department), state=EntryState.WITHDRAWN)
        waiting(patient, working_doctor(clinic, department))
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("waitlist:mine"))
    assert len(response.context["active"]) == 4 and len(response.context["past"]) == 3
    assert len(many) == len(few)


@pytest.mark.parametrize("role", ["doctor_user", "front_desk_user", "clinic_admin_user"])
def test_staff_have_no_waitlist_of_their_own(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("waitlist:mine")).status_code == 403
    assert client.get(reverse("waitlist:join")).status_code == 403


def test_a_patient_joins_from_a_doctors_page(client, patient_user, doctor):
    client.force_login(patient_user)
    page = client.get(reverse("waitlist:join") + f"?doctor={doctor.pk}")
    assert page.context["form"].initial["doctor"] == doctor
    assert page.context["form"].initial["department"] == doctor.department
    today = timezone.localdate()

    response = client.post(
        reverse("waitlist:join"),
        {
            "doctor": doctor.pk,
            "earliest": today.isoformat(),
            "latest": (today + dt.timedelta(days=10)).isoformat(),
        },
    )

    assert response.status_code == 302 and response["Location"] == reverse("waitlist:mine")
    entry = WaitlistEntry.objects.get()
    assert (entry.patient, entry.doctor, entry.department) == (
        patient_of(patient_user),
        doctor,
        None,
    )
    assert entry.created_by == patient_user


def test_a_join_page_with_nonsense_in_its_address_offers_no_choice(client, patient_user):
    client.force_login(patient_user)
    page = client.get(reverse("waitlist:join") + "?doctor=abc&department=999999")
    assert "doctor" not in page.context["form"].initial
    assert "department" not in page.context["form"].initial


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "Choose a doctor or a department."),
        ({"earliest": "soon"}, "Enter a valid date."),
        ({"latest": "2000-01-01"}, "The last day cannot be before the first."),
        (
            {"earliest": "2000-01-01", "latest": "2000-01-02"},
            "The first day cannot be in the past.",
        ),
        ({"doctor": "999999"}, "Select a valid choice."),
    ],
)
def test_bad_input_on_the_join_page_is_shown_and_nothing_saved(
    client, patient_user, department, data, error
):
    client.force_login(patient_user)
    today = timezone.localdate()
    posted = {"earliest": today.isoformat(), "latest": (today + dt.timedelta(days=5)).isoformat()}
    if data:
        posted["department"] = department.pk
    posted.update(data)

    response = client.post(reverse("waitlist:join"), posted)

    assert response.status_code == 200
    assert error in content(response)
    assert not WaitlistEntry.objects.exists()


def test_a_patient_leaves_their_waitlist(client, patient_user, doctor):
    entry = waiting(patient_of(patient_user), doctor)
    client.force_login(patient_user)

    response = client.post(reverse("waitlist:withdraw", kwargs={"pk": entry.pk}), follow=True)

    entry.refresh_from_db()
    assert entry.state == EntryState.WITHDRAWN
    assert "You have left that waitlist." in content(response)
    again = client.post(reverse("waitlist:withdraw", kwargs={"pk": entry.pk}), follow=True)
    assert "This entry is no longer on the waitlist." in content(again)


def test_a_patient_cannot_withdraw_another_patients_entry(
    client, patient_user, other_patient_user, doctor
):
    theirs = waiting(patient_of(other_patient_user), doctor)
    client.force_login(patient_user)
    assert client.post(reverse("waitlist:withdraw", kwargs={"pk": theirs.pk})).status_code == 404
    assert client.get(reverse("waitlist:withdraw", kwargs={"pk": theirs.pk})).status_code == 405
    theirs.refresh_from_db()
    assert theirs.state == EntryState.WAITING


def test_the_booking_pages_invite_patients_and_visitors_to_join(
    client, patient_user, front_desk_user, doctor, clinic
):
    department_page = reverse("bookings:doctors", kwargs={"department_id": doctor.department_id})
    calendar_page = reverse(
        "bookings:calendar", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk}
    )
    to_department = f"{reverse('waitlist:join')}?department={doctor.department_id}"
    to_doctor = f"{reverse('waitlist:join')}?doctor={doctor.pk}"
    assert to_department in content(client.get(department_page))
    client.force_login(patient_user)
    assert to_department in content(client.get(department_page))
    assert to_doctor in content(client.get(calendar_page))
    assert reverse("waitlist:mine") in content(client.get(calendar_page))
    client.force_login(front_desk_user)
    assert to_doctor not in content(client.get(calendar_page))
    assert reverse("waitlist:desk") in content(client.get(calendar_page))


# The offer -------------------------------------------------------------------------------------


def test_an_offer_link_asks_a_visitor_to_log_in_before_anything_is_looked_up(
    client, patient_user, doctor, clinic
):
    offer = offered(patient_of(patient_user), doctor, clinic)
    path = offer_path(offer)
    for address in (path, reverse("waitlist:offer", kwargs={"token": "nonsense"})):
        response = client.get(address)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_the_offered_patient_sees_the_time_and_books_it(client, patient_user, doctor, clinic):
    offer = offered(patient_of(patient_user), doctor, clinic)
    path = offer_path(offer)
    client.force_login(patient_user)

    page = client.get(path)

    assert page.status_code == 200
    assert doctor.full_name in content(page) and "We are keeping this time for you" in content(page)
    assert "no-store" in page["Cache-Control"]
    response = client.post(
        path, {"action": "book", "appointment_type": "consultation", "payment_mode": "at_clinic"}
    )
    appointment = Appointment.objects.get(patient=patient_of(patient_user), status=Status.BOOKED)
    assert response["Location"] == reverse("bookings:booked", kwargs={"pk": appointment.pk})
    assert appointment.start == offer.start
    offer.refresh_from_db()
    assert offer.state == OfferState.TAKEN
    # A used link opens nothing any more.
    assert client.get(path).status_code == 404


def test_bad_input_on_the_offer_page_books_nothing(client, patient_user, doctor, clinic):
    offer = offered(patient_of(patient_user), doctor, clinic)
    path = offer_path(offer)
    client.force_login(patient_user)

    response = client.post(
        path, {"action": "book", "appointment_type": "surgery", "payment_mode": "at_clinic"}
    )

    assert response.status_code == 200
    assert "Select a valid choice." in content(response)
    assert not Appointment.objects.filter(status=Status.BOOKED).exists()
    assert WaitlistOffer.objects.get().state == OfferState.OPEN


@pytest.mark.parametrize(
    ("refusal", "status", "shown"),
    [
        ("not_allowed", 200, "Your doctor is away that day."),
        ("taken", 302, None),
        ("gone", 404, "This offer is not available"),
    ],
)
def test_a_refused_booking_of_the_offer_is_explained(
    client, patient_user, doctor, clinic, monkeypatch, refusal, status, shown
):
    from bookings import services as booking_services
    from waitlist import services

    offer = offered(patient_of(patient_user), doctor, clinic)
    client.force_login(patient_user)
    errors = {
        "not_allowed": booking_services.NotAllowed("Your doctor is away that day."),
        "taken": booking_services.SlotUnavailable(),
        "gone": services.OfferGone(),
    }

    def refuse(**kwargs):
        raise errors[refusal]

    monkeypatch.setattr(services, "book_offer", refuse)
    response = client.post(
        offer_path(offer),
        {"action": "book", "appointment_type": "consultation", "payment_mode": "at_clinic"},
    )
    assert response.status_code == status
    if shown:
        assert shown in content(response)
    else:
        assert response["Location"] == reverse("waitlist:mine")
        followed = client.get(response["Location"])
        assert "that time was just taken" in content(followed)


def test_declining_a_time_booked_meanwhile_gets_the_generic_page(
    client, patient_user, doctor, clinic
):
    offer = offered(patient_of(patient_user), doctor, clinic)
    client.force_login(patient_user)
    page = reverse("waitlist:my_offer", kwargs={"pk": offer.pk})
    services_book(patient_of(patient_user), offer)

    response = client.post(page, {"action": "decline"})

    assert response.status_code == 404
    assert WaitlistOffer.objects.get().state == OfferState.OPEN  # settled as taken next round


def services_book(patient, offer):
    from bookings.services import book_appointment

    return book_appointment(
        patient=patient,
        doctor=offer.doctor,
        clinic=offer.clinic,
        start=offer.start,
        appointment_type="consultation",
        payment_mode="at_clinic",
        by=patient.user,
    )


def test_an_offer_whose_hold_was_let_go_sends_the_patient_back_with_a_message(
    client, patient_user, doctor, clinic
):
    offer = offered(patient_of(patient_user), doctor, clinic)
    path = offer_path(offer)
    SlotHold.objects.all().delete()
    client.force_login(patient_user)

    response = client.post(
        path,
        {"action": "book", "appointment_type": "consultation", "payment_mode": "at_clinic"},
        follow=True,
    )

    assert "That hold has expired" in content(response)
    assert not Appointment.objects.filter(status=Status.BOOKED).exists()


def test_the_offered_patient_declines_and_stays_on_the_waitlist(
    client, patient_user, doctor, clinic
):
    offer = offered(patient_of(patient_user), doctor, clinic)
    path = offer_path(offer)
    client.force_login(patient_user)

    response = client.post(path, {"action": "decline"}, follow=True)

    assert "The time goes to the next patient" in content(response)
    offer.refresh_from_db()
    assert offer.state == OfferState.DECLINED
    assert offer.entry.state == EntryState.WAITING
    assert client.post(path, {"action": "decline"}).status_code == 404


@pytest.mark.parametrize(
    "role", ["other_patient_user", "doctor_user", "front_desk_user", "clinic_admin_user"]
)
def test_anyone_else_gets_the_one_generic_page(client, request, patient_user, doctor, clinic, role):
    offer = offered(patient_of(patient_user), doctor, clinic)
    path = offer_path(offer)
    client.force_login(request.getfixturevalue(role))

    for response in (client.get(path), client.post(path, {"action": "decline"})):
        assert response.status_code == 404
        assert "This offer is not available" in content(response)
        assert doctor.full_name not in content(response)
    offer.refresh_from_db()
    assert offer.state == OfferState.OPEN


def test_a_wrong_or_lapsed_link_gets_the_same_page(client, patient_user, doctor, clinic):
    offer = offered(patient_of(patient_user), doctor, clinic)
    path = offer_path(offer)
    client.force_login(patient_user)
    wrong = client.get(reverse("waitlist:offer", kwargs={"token": "x" * 24}))
    WaitlistOffer.objects.update(
        made_at=timezone.now() - dt.timedelta(hours=1),
        expires_at=timezone.now() - dt.timedelta(seconds=1),
    )
    lapsed = client.get(path)
    assert wrong.status_code == lapsed.status_code == 404
    assert without_csrf(wrong) == without_csrf(lapsed)


def test_my_waitlist_links_to_the_open_offer(
    client, patient_user, other_patient_user, doctor, clinic
):
    offer = offered(patient_of(patient_user), doctor, clinic)
    client.force_login(patient_user)
    page = client.get(reverse("waitlist:mine"))
    address = reverse("waitlist:my_offer", kwargs={"pk": offer.pk})
    assert address in content(page)
    assert client.get(address).status_code == 200
    client.force_login(other_patient_user)
    assert client.get(address).status_code == 404


# The front desk --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["patient_user", "doctor_user"])
def test_the_desk_pages_are_for_the_desk(client, request, role, doctor):
    entry = waiting(PatientFactory(), doctor)
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("waitlist:desk")).status_code == 404
    assert client.get(reverse("waitlist:desk_add")).status_code == 404
    withdraw = reverse("waitlist:desk_withdraw", kwargs={"pk": entry.pk})
    assert client.post(withdraw).status_code == 404
    entry.refresh_from_db()
    assert entry.state == EntryState.WAITING


@pytest.mark.parametrize("role", ["front_desk_user", "clinic_admin_user"])
def test_the_desk_sees_the_waitlist_with_its_open_offers(client, request, role, doctor, clinic):
    offer = offered(PatientFactory(with_account=True), doctor, clinic)
    other = waiting(PatientFactory(), doctor)
    gone = waiting(PatientFactory(), working_doctor(clinic, doctor.department), state="withdrawn")
    client.force_login(request.getfixturevalue(role))

    response = client.get(reverse("waitlist:desk"))

    assert response.status_code == 200
    assert list(response.context["entries"]) == [offer.entry, other]
    assert list(response.context["offers"]) == [offer]
    assert f"Patient {offer.entry.patient.pk}" in content(response)
    every = client.get(reverse("waitlist:desk") + "?state=all")
    assert gone in list(every.context["entries"])


def test_the_desk_filters_by_department_doctor_and_state(
    client, front_desk_user, clinic, department
):
    doctor = working_doctor(clinic, department)
    elsewhere = working_doctor(clinic, DepartmentFactory())
    for_doctor = waiting(PatientFactory(), doctor)
    for_department = waiting(PatientFactory(), None, department=department)
    waiting(PatientFactory(), elsewhere)
    withdrawn = waiting(PatientFactory(), doctor, state=EntryState.WITHDRAWN)
    client.force_login(front_desk_user)

    def shown(query):
        return list(client.get(reverse("waitlist:desk") + query).context["entries"])

    assert shown(f"?department={department.pk}") == [for_doctor, for_department]
    assert shown(f"?doctor={doctor.pk}") == [for_doctor]
    assert shown("?state=withdrawn") == [withdrawn]
    assert len(shown("?department=nonsense")) == 3  # a bad filter filters nothing


def test_the_desk_list_costs_the_same_queries_however_long(client, front_desk_user, doctor, clinic):
    client.force_login(front_desk_user)
    offered(PatientFactory(with_account=True), doctor, clinic)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("waitlist:desk"))
    for _ in range(4):
        waiting(PatientFactory(), working_doctor(clinic, doctor.department))
    offered(PatientFactory(with_account=True), working_doctor(clinic, doctor.department), clinic)
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("waitlist:desk"))
    assert len(response.context["entries"]) == 6
    assert len(many) == len(few)


def test_the_desk_adds_a_walk_in_patient(client, front_desk_user, doctor, clinic):
    walk_in = PatientFactory()
    client.force_login(front_desk_user)
    page = client.get(reverse("waitlist:desk_add") + f"?patient={walk_in.pk}&doctor={doctor.pk}")
    assert page.context["form"].initial["patient"] == str(walk_in.pk)
    today = timezone.localdate()

    response = client.post(
        reverse("waitlist:desk_add"),
        {
            "patient": walk_in.pk,
            "doctor": doctor.pk,
            "clinic": clinic.pk,
            "earliest": today.isoformat(),
            "latest": (today + dt.timedelta(days=3)).isoformat(),
        },
    )

    assert response["Location"] == reverse("waitlist:desk")
    entry = WaitlistEntry.objects.get()
    assert (entry.patient, entry.created_by, entry.clinic) == (walk_in, front_desk_user, clinic)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"patient": "999999"}, "No patient in the directory has that number."),
        ({"patient": ""}, "This field is required."),
        ({"earliest": "2000-01-01"}, "The first day cannot be in the past."),
    ],
)
def test_bad_input_on_the_desk_add_page_is_shown_and_nothing_saved(
    client, front_desk_user, doctor, change, error
):
    client.force_login(front_desk_user)
    today = timezone.localdate()
    posted = {
        "patient": PatientFactory().pk,
        "doctor": doctor.pk,
        "earliest": today.isoformat(),
        "latest": (today + dt.timedelta(days=3)).isoformat(),
    }
    posted.update(change)
    response = client.post(reverse("waitlist:desk_add"), posted)
    assert response.status_code == 200
    assert error in content(response)
    assert not WaitlistEntry.objects.exists()


def test_the_desk_withdraws_an_entry(client, front_desk_user, doctor):
    entry = waiting(PatientFactory(), doctor)
    client.force_login(front_desk_user)
    address = reverse("waitlist:desk_withdraw", kwargs={"pk": entry.pk})

    response = client.post(address, follow=True)

    assert f"Waitlist entry {entry.pk} withdrawn." in content(response)
    entry.refresh_from_db()
    assert entry.state == EntryState.WITHDRAWN
    assert "no longer on the waitlist" in content(client.post(address, follow=True))


# Doctors ---------------------------------------------------------------------------------------


def test_a_doctor_sees_who_waits_for_them_or_their_department(client, clinic, department):
    doctor = working_doctor(clinic, department, user=UserFactory(roles=["Doctor"]))
    for_them = waiting(PatientFactory(), doctor)
    for_department = waiting(PatientFactory(), None, department=department)
    waiting(PatientFactory(), working_doctor(clinic, department))  # a colleague's
    waiting(PatientFactory(), doctor, state=EntryState.BOOKED)
    client.force_login(doctor.user)

    response = client.get(reverse("waitlist:doctor"))

    assert list(response.context["entries"]) == [for_them, for_department]
    assert "Withdraw" not in content(response)


@pytest.mark.parametrize("role", ["patient_user", "front_desk_user"])
def test_only_doctors_have_a_doctors_waitlist(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("waitlist:doctor")).status_code == 404


# The admin -------------------------------------------------------------------------------------


def test_clinic_admins_see_the_waitlist_in_the_admin_read_only(
    client, clinic_admin_user, patient_user, doctor, clinic
):
    offer = offered(patient_of(patient_user), doctor, clinic)
    client.force_login(clinic_admin_user)
    for model in ("waitlistentry", "waitlistoffer", "freedtime"):
        changelist = client.get(reverse(f"admin:waitlist_{model}_changelist"))
        assert changelist.status_code == 200
        assert client.get(reverse(f"admin:waitlist_{model}_add")).status_code == 403
    entry_page = client.get(reverse("admin:waitlist_waitlistentry_change", args=[offer.entry.pk]))
    assert entry_page.status_code == 200
    assert str(offer.entry) in content(entry_page)
    assert (
        client.post(
            reverse("admin:waitlist_waitlistentry_delete", args=[offer.entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert str(offer) == f"Waitlist offer {offer.pk} (Open)"
    assert str(offer.freed_time).startswith(f"Freed time {offer.freed_time.pk} with ")
    assert str(offer.links.create(token_hash="x", created_at=timezone.now())).startswith("Link ")
