"""A move into another visit type and the charge: quoted again for the new type while nothing
has been paid (exact decimals, the audit trail, the same transaction as the move, the pages),
refused once something has, and left alone by a move that keeps the type.

Appointments are booked and moved through the booking services with a fixed "now" (a Monday
morning in Kolkata), so the charge comes from the real signals.
"""

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import PatientFactory
from accounts.tests.pages import page_text
from billing import services
from billing.models import Charge, Payment
from billing.selectors import money_summary
from bookings import signals
from bookings.models import Appointment, AppointmentType, PaymentMode, Status
from bookings.scheduling import at
from bookings.services import NotAllowed, book_appointment, reschedule_appointment
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    VisitTypeFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
KOLKATA = ZoneInfo("Asia/Kolkata")
MONDAY = dt.date(2030, 1, 7)
NOW = at(MONDAY, dt.time(8), KOLKATA)


def tuesday(hour, minute=0):
    return at(MONDAY + dt.timedelta(days=1), dt.time(hour, minute), KOLKATA)


@pytest.fixture(autouse=True)
def rules(settings):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4
    settings.GST_RATE = "0.18"
    settings.CURRENCY = "INR"
    return settings


@pytest.fixture
def clinic():
    return ClinicFactory(timezone="Asia/Kolkata")


@pytest.fixture
def doctor(clinic):
    doctor = DoctorFactory(
        consultation_fee=D("500.00"),
        slot_minutes=15,
        registration_expires_on=MONDAY + dt.timedelta(days=365),
        department=DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20)),
    )
    for weekday in range(5):
        WorkingHoursFactory(
            doctor=doctor, clinic=clinic, weekday=weekday, starts_at=dt.time(9), ends_at=dt.time(13)
        )
    return doctor


@pytest.fixture
def patient():
    return PatientFactory(with_account=True)


def visit_type(doctor, fee, **fields):
    return VisitTypeFactory(department=doctor.department, fee=fee, minutes=15, **fields)


@pytest.fixture
def procedure(doctor):
    """750.00 + 18% GST = 885.00."""
    return visit_type(doctor, D("750.00"), name="Procedure")


def book(patient, doctor, clinic, *, start=None, visit_type=None):
    return book_appointment(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=start or tuesday(9),
        appointment_type=AppointmentType.CONSULTATION,
        payment_mode=PaymentMode.AT_CLINIC,
        by=patient.user,
        now=NOW,
        visit_type=visit_type,
    )


def move(appointment, by, start=None, **change):
    return reschedule_appointment(
        appointment=appointment, start=start or tuesday(10), by=by, now=NOW, **change
    )


def price_of(charge):
    charge.refresh_from_db()
    return (charge.fee, charge.gst_rate, charge.gst, charge.total, charge.currency)


def charge_updates(charge):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Charge),
        object_pk=str(charge.pk),
        action=LogEntry.Action.UPDATE,
    )


def exact(value, text):
    """`value` is this Decimal to the digit (Decimal("885") == Decimal("885.00") too)."""
    return isinstance(value, Decimal) and str(value) == text


# --- Not paid yet: quoted again ---------------------------------------------------------------


def test_an_unpaid_move_into_a_dearer_type_is_charged_the_new_types_price(
    patient, doctor, clinic, procedure, front_desk_user
):
    old = book(patient, doctor, clinic)
    charge = old.charge
    assert price_of(charge) == (D("500.00"), D("0.1800"), D("90.00"), D("590.00"), "INR")

    new = move(old, front_desk_user, visit_type=procedure)

    charge.refresh_from_db()
    assert (charge.pk, charge.appointment_id) == (old.charge.pk, new.pk)
    assert exact(charge.fee, "750.00") and exact(charge.gst, "135.00")
    assert exact(charge.total, "885.00") and exact(charge.gst_rate, "0.1800")
    assert money_summary(new).due == D("885.00")
    assert Charge.objects.count() == 1


def test_the_new_price_is_rounded_half_up_to_the_paisa_as_at_booking(
    patient, doctor, clinic, front_desk_user
):
    odd = visit_type(doctor, D("282.48"))  # 18% of it is 50.8464
    old = book(patient, doctor, clinic)

    move(old, front_desk_user, visit_type=odd)

    charge = Charge.objects.get()
    assert exact(charge.fee, "282.48") and exact(charge.gst, "50.85")
    assert exact(charge.total, "333.33")
    # The very figures a booking of that type now is charged.
    fresh = book(
        PatientFactory(with_account=True), doctor, clinic, start=tuesday(11), visit_type=odd
    )
    assert price_of(fresh.charge) == price_of(charge)


def test_a_move_out_of_a_type_is_charged_the_doctors_fee(patient, doctor, clinic, procedure):
    old = book(patient, doctor, clinic, visit_type=procedure)
    assert old.charge.total == D("885.00")

    move(old, patient.user, visit_type=None)

    assert price_of(Charge.objects.get())[:4] == (
        D("500.00"),
        D("0.1800"),
        D("90.00"),
        D("590.00"),
    )


def test_the_new_price_is_at_todays_gst_rate_and_fees(
    patient, doctor, clinic, procedure, front_desk_user, rules
):
    old = book(patient, doctor, clinic)
    rules.GST_RATE = "0.12"
    procedure.fee = D("800.00")
    procedure.save()

    move(old, front_desk_user, visit_type=procedure)

    assert price_of(Charge.objects.get())[:4] == (
        D("800.00"),
        D("0.1200"),
        D("96.00"),
        D("896.00"),
    )


def test_the_audit_trail_records_the_old_and_new_price(
    patient, doctor, clinic, procedure, front_desk_user
):
    old = book(patient, doctor, clinic)

    new = move(old, front_desk_user, visit_type=procedure)

    entry = charge_updates(old.charge).get()
    assert entry.changes_dict["total"] == ["590.00", "885.00"]
    assert entry.changes_dict["fee"] == ["500.00", "750.00"]
    assert entry.changes_dict["appointment"] == [old.pk, new.pk]
    assert patient.full_name not in entry.object_repr


def test_a_new_type_at_the_same_price_moves_the_charge_without_a_new_price(
    patient, doctor, clinic, front_desk_user
):
    at_doctors_fee = visit_type(doctor, None)  # no fee of its own: the doctor's 500.00
    old = book(patient, doctor, clinic)
    before = price_of(old.charge)

    new = move(old, front_desk_user, visit_type=at_doctors_fee)

    assert Charge.objects.get().appointment_id == new.pk
    assert price_of(old.charge) == before
    assert not charge_updates(old.charge).exists()


def test_the_new_price_rolls_back_with_a_move_that_fails_later(
    patient, doctor, clinic, procedure, front_desk_user
):
    class LaterFailure(Exception):
        pass

    def fail(**kwargs):
        raise LaterFailure

    old = book(patient, doctor, clinic)
    # Connected after billing's receiver, so it runs once the charge has its new price.
    signals.appointment_rescheduled.connect(fail, dispatch_uid="test-later-failure")
    try:
        with pytest.raises(LaterFailure):
            move(old, front_desk_user, visit_type=procedure)
    finally:
        signals.appointment_rescheduled.disconnect(dispatch_uid="test-later-failure")

    charge = Charge.objects.get()
    assert (charge.appointment_id, charge.total) == (old.pk, D("590.00"))
    assert Appointment.objects.get().status == Status.BOOKED


# --- Something paid: refused ------------------------------------------------------------------


@pytest.mark.parametrize("new_fee", [D("750.00"), D("300.00")])
def test_a_paid_visit_cannot_move_into_a_type_at_another_price(
    patient, doctor, clinic, front_desk_user, new_fee
):
    other = visit_type(doctor, new_fee)
    old = book(patient, doctor, clinic)
    payment = services.record_payment(
        charge=old.charge, amount="200.00", mode="cash", by=front_desk_user
    )

    with pytest.raises(NotAllowed) as refusal:
        move(old, front_desk_user, visit_type=other)

    assert refusal.value.code == "visit_type_paid"
    assert "Move it keeping its type" in str(refusal.value)
    # Nothing of the move is left: the old visit, its price and its payment as they were.
    old.refresh_from_db()
    assert old.status == Status.BOOKED
    assert Appointment.objects.count() == 1
    charge = Charge.objects.get()
    assert (charge.appointment_id, charge.total) == (old.pk, D("590.00"))
    assert list(charge.ledger.all()) == [payment]


def test_a_refunded_payment_still_counts_as_paid(
    patient, doctor, clinic, procedure, front_desk_user, clinic_admin_user
):
    old = book(patient, doctor, clinic)
    payment = services.record_payment(
        charge=old.charge, amount="590.00", mode="cash", by=front_desk_user
    )
    services.refund_payment(payment=payment, amount="590.00", reason="Waived", by=clinic_admin_user)

    with pytest.raises(NotAllowed):
        move(old, front_desk_user, visit_type=procedure)


def test_a_paid_visit_may_move_into_a_type_at_the_same_price_and_keep_its_payment(
    patient, doctor, clinic, front_desk_user
):
    at_doctors_fee = visit_type(doctor, D("500.00"))
    old = book(patient, doctor, clinic)
    services.record_payment(charge=old.charge, amount="590.00", mode="cash", by=front_desk_user)

    new = move(old, front_desk_user, visit_type=at_doctors_fee)

    summary = money_summary(new)
    assert (summary.charge.total, summary.paid, summary.due) == (
        D("590.00"),
        D("590.00"),
        D("0.00"),
    )


def test_a_paid_visit_still_moves_keeping_its_type(
    patient, doctor, clinic, procedure, front_desk_user
):
    old = book(patient, doctor, clinic, visit_type=procedure)
    services.record_payment(charge=old.charge, amount="100.00", mode="cash", by=front_desk_user)

    new = move(old, front_desk_user)

    assert new.visit_type == procedure
    assert money_summary(new).due == D("785.00")


# --- No change of type: the charge as it was ----------------------------------------------------


def test_a_move_keeping_the_type_keeps_the_price_fixed_at_booking(
    patient, doctor, clinic, procedure, rules
):
    old = book(patient, doctor, clinic, visit_type=procedure)
    before = price_of(old.charge)
    # Prices change after the booking; the booked visit's do not.
    procedure.fee = D("900.00")
    procedure.save()
    rules.GST_RATE = "0.28"

    new = move(old, patient.user)

    charge = Charge.objects.get()
    assert charge.appointment_id == new.pk
    assert price_of(charge) == before
    assert not charge_updates(charge).exists()


def test_naming_the_same_type_again_is_no_change(patient, doctor, clinic, procedure, rules):
    old = book(patient, doctor, clinic, visit_type=procedure)
    procedure.fee = D("900.00")
    procedure.save()

    move(old, patient.user, visit_type=procedure)

    assert Charge.objects.get().total == D("885.00")


def test_a_type_change_costs_a_few_queries_more_than_a_plain_move(
    patient, doctor, clinic, procedure, front_desk_user
):
    def queries_of_a_move(**change):
        appointment = book(PatientFactory(with_account=True), doctor, clinic, start=tuesday(9))
        with CaptureQueriesContext(connection) as captured:
            moved = move(appointment, front_desk_user, start=tuesday(10), **change)
        # Free the times again for the next move.
        Appointment.objects.filter(pk__in=[appointment.pk, moved.pk]).update(
            status=Status.CANCELLED
        )
        return len(captured.captured_queries)

    plain = queries_of_a_move()
    typed = queries_of_a_move(visit_type=procedure)

    # In place of the plain move's one update: locking the charge, asking for its payments,
    # the update and its audit entry (3 more today); never a query per anything.
    assert typed - plain <= 4, (plain, typed)


# --- What the pages show ------------------------------------------------------------------------


def money_section(response):
    found = re.search(
        r'<section[^>]*aria-labelledby="money-\d+".*?</section>', page_text(response), re.S
    )
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(0)).split()) if found else ""


@pytest.mark.parametrize("audience", ["patient", "desk"])
def test_the_appointment_pages_show_the_new_price(
    client, patient, doctor, clinic, procedure, front_desk_user, audience
):
    new = move(book(patient, doctor, clinic), front_desk_user, visit_type=procedure)

    if audience == "patient":
        client.force_login(patient.user)
        response = client.get(reverse("bookings:detail", kwargs={"pk": new.pk}))
    else:
        client.force_login(front_desk_user)
        response = client.get(reverse("desk:appointment", kwargs={"pk": new.pk}))

    section = money_section(response)
    assert "Consultation fee INR 750.00" in section
    assert "GST INR 135.00" in section
    assert "Total INR 885.00" in section
    assert "Due INR 885.00" in section
    assert "590.00" not in section


def test_the_ledger_pieces_of_payments_after_a_new_price_add_up_to_it(
    patient, doctor, clinic, procedure, front_desk_user
):
    new = move(book(patient, doctor, clinic), front_desk_user, visit_type=procedure)

    charge = new.charge
    for amount in ("300.00", "285.00", "300.00"):
        services.record_payment(charge=charge, amount=amount, mode="cash", by=front_desk_user)

    payments = Payment.objects.filter(charge=charge)
    assert sum(p.fee for p in payments) == D("750.00")
    assert sum(p.gst for p in payments) == D("135.00")
    assert money_summary(new).due == D("0.00")
