"""Visit types in the booking services and selectors: length, fee, buffers, who may choose
which type, moves into another type, first available."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from accounts.roles import Role
from accounts.tests.factories import PatientFactory, UserFactory
from billing.models import Charge
from bookings import selectors
from bookings.first_available import doctor_pairs, first_available
from bookings.models import Appointment, AppointmentType, HoldPurpose, PaymentMode, SlotHold
from bookings.scheduling import at
from bookings.services import (
    NotAllowed,
    SlotUnavailable,
    book_appointment,
    hold_slot,
    reschedule_appointment,
)
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    VisitTypeFactory,
    WorkingHoursFactory,
)

pytestmark = pytest.mark.django_db

KOLKATA = ZoneInfo("Asia/Kolkata")
MONDAY = dt.date(2030, 1, 7)
TUESDAY = MONDAY + dt.timedelta(days=1)
NOW = at(MONDAY, dt.time(8), KOLKATA)


@pytest.fixture(autouse=True)
def rules(settings):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 10


def tuesday(hour, minute=0):
    return at(TUESDAY, dt.time(hour, minute), KOLKATA)


@pytest.fixture
def clinic():
    return ClinicFactory(timezone="Asia/Kolkata")


@pytest.fixture
def doctor(clinic):
    doctor = DoctorFactory(
        slot_minutes=15,
        consultation_fee=Decimal("500.00"),
        department=DepartmentFactory(opens_at=dt.time(8), closes_at=dt.time(20)),
        registration_expires_on=MONDAY + dt.timedelta(days=365),
    )
    WorkingHoursFactory(
        doctor=doctor,
        clinic=clinic,
        weekday=TUESDAY.weekday(),
        starts_at=dt.time(9),
        ends_at=dt.time(12),
    )
    return doctor


@pytest.fixture
def patient():
    return PatientFactory(with_account=True)


@pytest.fixture
def desk():
    return UserFactory(roles=[Role.FRONT_DESK], is_staff=True)


def book(patient, doctor, clinic, start, visit_type=None, by=None):
    return book_appointment(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=start,
        appointment_type=AppointmentType.CONSULTATION,
        payment_mode=PaymentMode.AT_CLINIC,
        by=by or patient.user,
        now=NOW,
        visit_type=visit_type,
    )


def procedure(doctor, **fields):
    values = {"name": "Procedure", "minutes": 45, "department": doctor.department}
    values.update(fields)
    return VisitTypeFactory(**values)


# Booking ---------------------------------------------------------------------------------------


def test_a_typed_visit_lasts_the_types_length_and_is_charged_its_fee(patient, doctor, clinic):
    visit_type = procedure(doctor, fee=Decimal("1200.00"))

    appointment = book(patient, doctor, clinic, tuesday(9, 15), visit_type)

    assert appointment.visit_type == visit_type
    assert appointment.end - appointment.start == dt.timedelta(minutes=45)
    assert Charge.objects.get(appointment=appointment).fee == Decimal("1200.00")


def test_a_type_without_a_fee_is_charged_the_doctors_fee(patient, doctor, clinic):
    appointment = book(patient, doctor, clinic, tuesday(9), procedure(doctor, fee=None))

    assert Charge.objects.get(appointment=appointment).fee == Decimal("500.00")


def test_without_a_type_the_visit_is_the_doctors_plain_slot(patient, doctor, clinic):
    appointment = book(patient, doctor, clinic, tuesday(9))

    assert appointment.visit_type is None
    assert appointment.end - appointment.start == dt.timedelta(minutes=15)


def test_a_doctors_own_type_may_be_booked_with_that_doctor(patient, doctor, clinic):
    own = VisitTypeFactory(department=None, doctor=doctor, minutes=20)

    assert book(patient, doctor, clinic, tuesday(9), own).end == tuesday(9, 20)


def another_doctors_type(doctor):
    return VisitTypeFactory(department=None, doctor=DoctorFactory())


def another_departments_type(doctor):
    return VisitTypeFactory(department=DepartmentFactory())


def inactive_type(doctor):
    return procedure(doctor, is_active=False)


@pytest.mark.parametrize(
    "make_type", [another_doctors_type, another_departments_type, inactive_type]
)
def test_a_type_the_doctor_does_not_offer_is_refused(patient, doctor, clinic, desk, make_type):
    visit_type = make_type(doctor)

    for by in (patient.user, desk):
        with pytest.raises(NotAllowed) as refusal:
            book(patient, doctor, clinic, tuesday(9), visit_type, by=by)
        assert refusal.value.code == "visit_type_not_offered"
    assert not Appointment.objects.exists()


def test_a_patient_cannot_book_a_type_not_bookable_online_but_the_desk_can(
    patient, doctor, clinic, desk
):
    visit_type = procedure(doctor, bookable_online=False)

    with pytest.raises(NotAllowed) as refusal:
        book(patient, doctor, clinic, tuesday(9), visit_type)
    assert refusal.value.code == "visit_type_not_online"
    assert not Appointment.objects.exists()

    assert book(patient, doctor, clinic, tuesday(9), visit_type, by=desk).visit_type == visit_type


# Overlaps and buffers ----------------------------------------------------------------------------


def test_a_long_visit_refuses_a_later_start_it_overlaps(patient, doctor, clinic):
    book(patient, doctor, clinic, tuesday(9), procedure(doctor))

    with pytest.raises(SlotUnavailable):
        book(PatientFactory(with_account=True), doctor, clinic, tuesday(9, 30))
    assert book(PatientFactory(with_account=True), doctor, clinic, tuesday(9, 45))


def test_a_plain_slot_may_not_fall_in_another_visits_buffer_after(patient, doctor, clinic):
    book(patient, doctor, clinic, tuesday(9), procedure(doctor, buffer_after_minutes=10))

    with pytest.raises(SlotUnavailable):
        book(PatientFactory(with_account=True), doctor, clinic, tuesday(9, 45))
    assert book(PatientFactory(with_account=True), doctor, clinic, tuesday(10)).start == tuesday(10)


def test_a_visits_buffer_before_may_not_overlap_an_appointment(patient, doctor, clinic):
    book(patient, doctor, clinic, tuesday(10))
    prepared = procedure(doctor, minutes=30, buffer_before_minutes=15)

    with pytest.raises(SlotUnavailable):
        book(PatientFactory(with_account=True), doctor, clinic, tuesday(10, 15), prepared)
    later = book(PatientFactory(with_account=True), doctor, clinic, tuesday(10, 30), prepared)
    assert later.end == tuesday(11)


def test_a_start_off_the_doctors_grid_is_not_a_slot(patient, doctor, clinic):
    with pytest.raises(NotAllowed) as refusal:
        book(patient, doctor, clinic, tuesday(9, 5), procedure(doctor, minutes=10))
    assert refusal.value.code == "not_a_slot"


def test_buffers_may_not_reach_outside_the_working_hours(patient, doctor, clinic):
    before = procedure(doctor, minutes=30, buffer_before_minutes=10)
    after = procedure(doctor, minutes=30, buffer_after_minutes=10)

    for visit_type, start in ((before, tuesday(9)), (after, tuesday(11, 30))):
        with pytest.raises(NotAllowed) as refusal:
            book(patient, doctor, clinic, start, visit_type)
        assert refusal.value.code == "not_a_slot"


# What is offered --------------------------------------------------------------------------------


def local(slots):
    return [slot.start.astimezone(KOLKATA).strftime("%H:%M") for slot in slots]


def test_open_slots_offer_a_types_times_around_appointments_and_their_buffers(
    patient, doctor, clinic
):
    book(
        patient, doctor, clinic, tuesday(10), procedure(doctor, minutes=15, buffer_after_minutes=15)
    )
    visit_type = procedure(doctor, minutes=30, buffer_before_minutes=15)

    slots = selectors.open_slots(
        doctor=doctor,
        clinic=clinic,
        now=NOW,
        first_day=TUESDAY,
        last_day=TUESDAY,
        visit_type=visit_type,
    )

    assert local(slots) == ["09:15", "09:30", "10:45", "11:00", "11:15", "11:30"]
    assert all(slot.end - slot.start == dt.timedelta(minutes=30) for slot in slots)
    plain = selectors.open_slots(
        doctor=doctor, clinic=clinic, now=NOW, first_day=TUESDAY, last_day=TUESDAY
    )
    assert "10:15" not in local(plain) and "10:30" in local(plain)


def test_first_available_for_a_doctors_own_type_leaves_out_other_doctors(patient, doctor, clinic):
    colleague = DoctorFactory(
        department=doctor.department, registration_expires_on=MONDAY + dt.timedelta(days=365)
    )
    WorkingHoursFactory(doctor=colleague, clinic=clinic, weekday=TUESDAY.weekday())
    own = VisitTypeFactory(department=None, doctor=doctor, minutes=45)
    pairs = [*doctor_pairs(doctor, now=NOW), *doctor_pairs(colleague, now=NOW)]

    times = first_available(pairs, now=NOW, count=3, visit_type=own)

    assert [time.doctor for time in times] == [doctor] * 3
    assert [time.end - time.start for time in times] == [dt.timedelta(minutes=45)] * 3


def test_a_hold_for_a_type_keeps_the_whole_visit(patient, doctor, clinic):
    hold = hold_slot(
        doctor=doctor,
        clinic=clinic,
        start=tuesday(9),
        by=patient.user,
        patient=patient,
        purpose=HoldPurpose.BOOKING_PAGE,
        now=NOW,
        visit_type=procedure(doctor),
    )

    assert hold.end == tuesday(9, 45)
    with pytest.raises(SlotUnavailable):
        book(PatientFactory(with_account=True), doctor, clinic, tuesday(9, 30))


@pytest.mark.parametrize(
    "make_type", [another_doctors_type, another_departments_type, inactive_type]
)
@pytest.mark.parametrize("for_patient", [True, False])
def test_a_hold_for_a_type_the_doctor_does_not_offer_is_refused(
    patient, doctor, clinic, desk, make_type, for_patient
):
    """Whoever asks (a page, an integration holding for nobody yet): the service checks."""
    with pytest.raises(NotAllowed) as refusal:
        hold_slot(
            doctor=doctor,
            clinic=clinic,
            start=tuesday(9),
            by=desk,
            patient=patient if for_patient else None,
            purpose=HoldPurpose.BOOKING_PAGE,
            now=NOW,
            visit_type=make_type(doctor),
        )
    assert refusal.value.code == "visit_type_not_offered"
    assert not SlotHold.objects.exists()


# Moving ----------------------------------------------------------------------------------------


def test_a_move_keeps_the_visit_type_and_its_length(patient, doctor, clinic):
    visit_type = procedure(doctor)
    old = book(patient, doctor, clinic, tuesday(9), visit_type)

    new = reschedule_appointment(appointment=old, start=tuesday(10), by=patient.user, now=NOW)

    assert new.visit_type == visit_type
    assert new.end == tuesday(10, 45)


def test_a_move_into_a_longer_type_needs_its_whole_length_free(patient, doctor, clinic):
    old = book(patient, doctor, clinic, tuesday(9))
    book(PatientFactory(with_account=True), doctor, clinic, tuesday(10, 30))
    longer = procedure(doctor, minutes=60)

    with pytest.raises(SlotUnavailable):
        reschedule_appointment(
            appointment=old, start=tuesday(10), by=patient.user, now=NOW, visit_type=longer
        )
    new = reschedule_appointment(
        appointment=old, start=tuesday(10, 45), by=patient.user, now=NOW, visit_type=longer
    )
    assert (new.visit_type, new.end) == (longer, tuesday(11, 45))


def test_a_move_into_a_type_not_offered_is_refused(patient, doctor, clinic):
    old = book(patient, doctor, clinic, tuesday(9))
    foreign = VisitTypeFactory(department=DepartmentFactory())

    with pytest.raises(NotAllowed) as refusal:
        reschedule_appointment(
            appointment=old, start=tuesday(10), by=patient.user, now=NOW, visit_type=foreign
        )
    assert refusal.value.code == "visit_type_not_offered"
    assert Appointment.objects.get().pk == old.pk
