import datetime as dt
import io
from collections import Counter
from decimal import Decimal

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.models import Patient, User
from accounts.roles import Role, has_role
from billing.models import Charge, Payment, ReceiptSequence
from billing.money import gst_on
from bookings.models import Appointment, Status
from bookings.reports import AGE_BANDS
from clinic.management.commands.seed_demo import DEMO_LOGINS, DEMO_PASSWORD, HISTORY_DAYS
from clinic.reporting import REPORTS, ReportFilterForm
from doctors.models import Clinic, Department, Doctor, Holiday, TimeOff, VisitType, WorkingHours
from notifications.models import Notification

SEEDED_MODELS = [
    User,
    Patient,
    Department,
    Clinic,
    Doctor,
    WorkingHours,
    Holiday,
    TimeOff,
    Appointment,
    Charge,
    Payment,
    Notification,
]


def seed():
    out = io.StringIO()
    call_command("seed_demo", "--allow-without-debug", stdout=out)
    return out.getvalue()


def row_counts():
    return {model.__name__: model.objects.count() for model in SEEDED_MODELS} | {
        "receipts issued": ReceiptSequence.objects.get().last_number
    }


@pytest.mark.django_db
def test_seeding_twice_changes_nothing():
    seed()
    first = row_counts()
    seed()
    assert row_counts() == first


@pytest.mark.django_db
def test_every_demo_login_works_with_its_role_and_is_printed():
    output = seed()
    for login in DEMO_LOGINS:
        # django-axes checks every login against the request it comes with.
        request = RequestFactory().post("/accounts/login/")
        user = authenticate(request, email=login.email, password=DEMO_PASSWORD)
        assert user is not None, login.email
        assert has_role(user, login.role)
        assert user.is_staff == login.is_staff
        assert not user.is_superuser
        assert login.email in output
    assert DEMO_PASSWORD in output


@pytest.mark.django_db
def test_demo_clinic_has_what_the_portal_needs_to_show():
    seed()
    assert Department.objects.count() >= 5
    assert Doctor.objects.active().count() >= 12
    zones = set(Clinic.objects.values_list("timezone", flat=True))
    assert "Europe/London" in zones, "one clinic must observe daylight saving"
    # A break: some doctor works two separate stretches on one day.
    doctor = Doctor.objects.get(user__email="doctor@example.com")
    monday = WorkingHours.objects.filter(doctor=doctor, weekday=0).order_by("starts_at")
    assert monday.count() == 2 and monday[0].ends_at < monday[1].starts_at
    assert Holiday.objects.exists()
    assert TimeOff.objects.exists()
    assert Patient.objects.filter(user__isnull=True).count() >= 5
    for login in DEMO_LOGINS:
        if login.role == Role.PATIENT:
            assert Patient.objects.filter(user__email=login.email).exists()


@pytest.mark.django_db
def test_seed_refuses_to_run_without_debug_unless_told(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not User.objects.exists()


@pytest.mark.django_db
def test_each_demo_patient_has_a_past_visit_and_one_they_may_still_change():
    from django.utils import timezone

    from bookings.rules import patient_may_change

    seed()
    now = timezone.now()
    for login in DEMO_LOGINS:
        if login.role != Role.PATIENT:
            continue
        appointments = Appointment.objects.filter(patient__user__email=login.email)
        past = appointments.past(now).filter(status=Status.COMPLETED).get()
        assert past.charge.ledger.get().total == past.charge.total  # paid in full
        # The plain visit of seed_appointments; the typed ones have tests of their own.
        upcoming = appointments.upcoming(now).filter(visit_type__isnull=True).get()
        assert patient_may_change(upcoming, now)
        assert upcoming.charge.fee == upcoming.doctor.consultation_fee  # charged at booking


@pytest.mark.django_db
def test_the_demo_patient_has_a_video_visit_with_the_demo_doctor(client):
    seed()
    [visit] = Appointment.objects.filter(
        patient__user__email="patient@example.com", visit_type__mode=VisitType.Mode.VIDEO
    )
    assert visit.status == Status.BOOKED and visit.doctor.user.email == "doctor@example.com"
    assert visit.start > timezone.now() + dt.timedelta(days=2)
    client.force_login(visit.patient.user)
    page = client.get(reverse("bookings:detail", kwargs={"pk": visit.pk})).content.decode()
    assert "The link to join appears here from" in page


# --- The clinic's recent history, for the reports ---------------------------------------------


@pytest.fixture
def seeded(db):
    seed()
    return timezone.now()


def walk_in_history(now):
    return Appointment.objects.filter(patient__user__isnull=True, start__lt=now)


def test_history_has_a_report_worthy_mix_of_outcomes(seeded):
    history = walk_in_history(seeded)
    counts = Counter(history.values_list("status", flat=True))
    total = sum(counts.values())
    assert total >= 500
    assert counts[Status.COMPLETED] > total / 2
    assert counts[Status.NO_SHOW] >= 20
    assert counts[Status.CANCELLED] >= 20
    assert set(counts) == {Status.COMPLETED, Status.NO_SHOW, Status.CANCELLED}  # none left open
    moved = history.filter(rescheduled_from__isnull=False)
    assert moved.exists()
    for new in moved.select_related("rescheduled_from"):
        old = new.rescheduled_from
        assert old.status == Status.CANCELLED and old.cancellation_reason == "Moved to a new time"
        assert (new.doctor_id, new.clinic_id, new.patient_id) == (
            old.doctor_id,
            old.clinic_id,
            old.patient_id,
        )
        assert new.start > old.start and new.created_at == old.cancelled_at
    # About three months, across the doctors taking bookings.
    earliest = history.earliest("start").start
    assert seeded - dt.timedelta(days=HISTORY_DAYS + 1) < earliest
    assert earliest < seeded - dt.timedelta(days=HISTORY_DAYS - 7)
    assert (
        history.values("doctor").distinct().count()
        == Doctor.objects.bookable_on(timezone.localdate()).count()
    )


def test_history_lies_on_each_doctors_grid_in_working_hours(seeded):
    history = walk_in_history(seeded).select_related("doctor__department", "clinic")
    hours = {}
    for row in WorkingHours.objects.all():
        hours.setdefault((row.doctor_id, row.clinic_id, row.weekday), []).append(row)
    holding = Counter()
    for appointment in history:
        local_start, local_end = appointment.local_start(), appointment.local_end()
        begins, ends = local_start.time(), local_end.time()
        slot = dt.timedelta(minutes=appointment.doctor.slot_minutes)
        assert appointment.end - appointment.start == slot
        department = appointment.doctor.department
        assert department.opens_at <= begins and ends <= department.closes_at
        stretches = hours[(appointment.doctor_id, appointment.clinic_id, local_start.weekday())]
        stretch = next(s for s in stretches if s.starts_at <= begins and ends <= s.ends_at)
        grid_start = dt.datetime.combine(
            local_start.date(), max(stretch.starts_at, department.opens_at), local_start.tzinfo
        )
        assert (local_start - grid_start) % slot == dt.timedelta(0)
        assert appointment.created_at < appointment.start
        if appointment.status != Status.CANCELLED:
            holding[(appointment.doctor_id, appointment.start)] += 1
    assert max(holding.values()) == 1


def test_completed_visits_are_charged_and_paid_by_cash_card_or_upi(seeded):
    completed = walk_in_history(seeded).filter(status=Status.COMPLETED)
    rate = Decimal("0.18")
    for appointment in completed.select_related("charge", "doctor"):
        charge = appointment.charge
        assert charge.fee == appointment.doctor.consultation_fee  # the fee at booking
        assert charge.gst == gst_on(charge.fee, rate)
        assert charge.total == charge.fee + charge.gst
        payment = charge.ledger.payments().get()
        assert (payment.fee, payment.gst, payment.total) == (charge.fee, charge.gst, charge.total)
        assert appointment.completed_at < payment.recorded_at <= seeded
    modes = set(Payment.objects.payments().values_list("mode", flat=True))
    assert modes == {Payment.Mode.CASH, Payment.Mode.CARD, Payment.Mode.UPI}
    # No money changed hands for visits that did not happen.
    assert not Payment.objects.filter(
        charge__appointment__status__in=[Status.NO_SHOW, Status.CANCELLED]
    ).exists()


def test_receipt_numbers_run_without_gaps_in_the_order_money_moved(seeded):
    numbers = list(
        Payment.objects.order_by("receipt_number").values_list("receipt_number", flat=True)
    )
    assert numbers == list(range(1, len(numbers) + 1))
    assert ReceiptSequence.objects.get().last_number == len(numbers)
    history = Payment.objects.filter(charge__appointment__patient__user__isnull=True)
    times = list(history.order_by("receipt_number").values_list("recorded_at", flat=True))
    assert times == sorted(times)


def test_a_couple_of_refunds_by_the_demo_clinic_admin(seeded):
    refunds = Payment.objects.refunds().select_related("refund_of", "recorded_by")
    assert refunds.count() == 2
    assert {refund.recorded_by.email for refund in refunds} == {"admin@example.com"}
    for refund in refunds:
        assert refund.reason
        assert refund.total <= refund.refund_of.total
        assert refund.fee + refund.gst == refund.total
        assert refund.mode == refund.refund_of.mode
        assert refund.refund_of.recorded_at < refund.recorded_at <= seeded
    assert sorted(refund.total == refund.refund_of.total for refund in refunds) == [False, True]


def test_patients_seen_span_ages_and_sexes(seeded):
    seen = Patient.objects.filter(appointments__status=Status.COMPLETED).distinct()
    assert seen.count() >= 30
    assert set(seen.values_list("sex", flat=True)) == set(Patient.Sex.values)
    today = timezone.localdate()
    ages = [patient.age_on(today) for patient in seen]
    bands = {
        next(label for label, _, high in AGE_BANDS if high is None or age < high) for age in ages
    }
    assert bands == {label for label, _, _ in AGE_BANDS}


def test_walk_in_patients_have_upcoming_bookings_made_through_the_booking_service(seeded):
    upcoming = Appointment.objects.filter(patient__user__isnull=True).upcoming(seeded)
    assert upcoming.count() >= 10
    assert set(upcoming.values_list("status", flat=True)) == {Status.BOOKED}
    # Per patient no more than the cap; each charged at booking and announced (the service's work).
    assert max(upcoming.values("patient").annotate(n=Count("pk")).values_list("n", flat=True)) <= 4
    for appointment in upcoming.select_related("charge"):
        assert appointment.charge.fee == appointment.doctor.consultation_fee
        assert appointment.notifications.filter(kind=Notification.Kind.CONFIRMATION).exists()


def test_every_report_has_figures_for_the_demo_quarter(seeded):
    # The reports page's own defaults: the last 90 days, per week.
    form = ReportFilterForm(ReportFilterForm.defaults())
    assert form.is_valid(), form.errors
    scope = form.scope()
    for slug, report in REPORTS.items():
        page = report.build(scope, "week")
        assert any(table.rows for table in page.tables), slug
    revenue = REPORTS["revenue"].build(scope, "week")
    by_period = next(table for table in revenue.tables if table.key == "by_period")
    refunded = [row[4] for row in by_period.rows if row[4] != "0.00"]
    assert len(refunded) >= 1


def test_the_no_show_report_compares_confirmed_and_unconfirmed_visits(seeded):
    from bookings.models import ContactChannel

    history = walk_in_history(seeded)
    confirmed = history.filter(attendance_confirmed_at__isnull=False)
    assert {row.attendance_confirmed_via for row in confirmed} == {
        ContactChannel.LINK,
        ContactChannel.DESK,
    }
    for visit in confirmed:
        assert visit.created_at < visit.attendance_confirmed_at < visit.start
        assert (visit.attendance_confirmed_by is not None) == (
            visit.attendance_confirmed_via == ContactChannel.DESK
        )
    form = ReportFilterForm(ReportFilterForm.defaults())
    assert form.is_valid(), form.errors
    page = REPORTS["attendance"].build(form.scope(), "week")
    rows = {row[0]: row for row in next(t for t in page.tables if t.key == "by_confirmation").rows}
    confirmed_rate, unconfirmed_rate = (float(rows[name][4][:-1]) for name in rows)
    assert 0 < confirmed_rate < unconfirmed_rate
    # Upcoming bookings: some already confirmed with the link, some not yet.
    upcoming = Appointment.objects.filter(patient__user__isnull=True, start__gt=seeded)
    assert upcoming.filter(attendance_confirmed_via=ContactChannel.LINK).exists()
    assert upcoming.filter(attendance_confirmed_at__isnull=True).exists()
