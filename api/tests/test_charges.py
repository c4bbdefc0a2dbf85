"""Charges over the API: what each appointment costs and where its money stands, per role (a
patient's own, staff's all, doctors' none), with filters and pages; every figure billing's own."""

import datetime as dt
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from accounts.tests.factories import PatientFactory, UserFactory
from api.tests.factories import client_for, integration_user
from billing import selectors, services
from billing.models import Charge
from billing.tests.factories import ChargeFactory
from bookings import services as booking_services
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

D = Decimal
LIST = reverse("api:charges")


@pytest.fixture
def desk_user():
    return UserFactory(roles=[Role.FRONT_DESK], is_staff=True)


@pytest.fixture
def admin_user():
    return UserFactory(roles=[Role.CLINIC_ADMIN], is_staff=True)


@pytest.fixture
def patient():
    return PatientFactory(with_account=True)


def charge_of(patient, **appointment):
    """A charge of 590.00 (500.00 + 18% GST) for an appointment of `patient`."""
    return ChargeFactory(appointment=AppointmentFactory(patient=patient, **appointment))


def pay(charge, amount, by):
    return services.record_payment(charge=charge, amount=amount, mode="cash", by=by)


def refund(payment, amount, by):
    return services.refund_payment(payment=payment, amount=amount, reason="Unwell", by=by)


def cancel(charge, by):
    booking_services.cancel_appointment(appointment=charge.appointment, by=by, reason="Asked")


def detail_url(charge):
    return reverse("api:charge", kwargs={"pk": charge.pk})


def error_of(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]


def listed(client, **query):
    response = client.get(LIST, query)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def ids(client, **query):
    return [row["id"] for row in listed(client, **query)]


# Who reads what --------------------------------------------------------------------------------


def test_a_patient_lists_only_their_own_charges(patient, desk_user, admin_user):
    now = dt.datetime.now(dt.UTC)
    older = charge_of(patient, start=now + dt.timedelta(days=2))
    newer = charge_of(patient, start=now + dt.timedelta(days=5))
    theirs = charge_of(PatientFactory(with_account=True), start=now + dt.timedelta(days=3))
    assert ids(client_for(patient.user)) == [newer.pk, older.pk]
    for user in (desk_user, admin_user, integration_user()):
        assert ids(client_for(user)) == [newer.pk, theirs.pk, older.pk]


def test_a_charge_is_the_patients_own_or_staffs(patient, desk_user, admin_user):
    charge = charge_of(patient)
    mine = client_for(patient.user).get(detail_url(charge))
    assert mine.status_code == 200 and mine.json()["id"] == charge.pk
    other = PatientFactory(with_account=True).user
    assert error_of(client_for(other).get(detail_url(charge)), 404)["code"] == "not_found"
    for user in (desk_user, admin_user, integration_user()):
        assert client_for(user).get(detail_url(charge)).json()["id"] == charge.pk
    missing = reverse("api:charge", kwargs={"pk": 2**40})
    assert error_of(client_for(desk_user).get(missing), 404)["code"] == "not_found"


def test_doctors_and_strangers_may_not_read_charges(patient):
    charge = charge_of(patient, doctor=DoctorFactory(with_account=True))
    own_doctor, other_doctor = charge.appointment.doctor.user, DoctorFactory(with_account=True)
    for url in (LIST, detail_url(charge)):
        for doctor in (own_doctor, other_doctor.user):
            assert error_of(client_for(doctor).get(url), 403)["code"] == "permission_denied"
        assert error_of(client_for(None).get(url), 401)["code"] == "not_authenticated"


def test_a_patient_login_without_a_directory_entry_reads_nothing(patient):
    charge = charge_of(patient)
    stranger = client_for(UserFactory(roles=[Role.PATIENT]))
    assert stranger.get(LIST).json()["count"] == 0
    assert error_of(stranger.get(detail_url(charge)), 404)["code"] == "not_found"


def test_the_list_is_read_only(patient, desk_user):
    charge = charge_of(patient)
    for url in (LIST, detail_url(charge)):
        for method in ("post", "put", "patch", "delete"):
            response = getattr(client_for(desk_user), method)(url, {})
            assert error_of(response, 405)["code"] == "method_not_allowed"
    assert Charge.objects.get().total == D("590.00")


# What a charge shows ---------------------------------------------------------------------------


def test_a_charge_shows_its_money_and_its_receipts(patient, desk_user, admin_user):
    charge = charge_of(patient)
    first = pay(charge, "200.00", desk_user)
    second = pay(charge, "100.00", desk_user)
    returned = refund(first, "50.00", admin_user)
    body = client_for(patient.user).get(detail_url(charge)).json()
    appointment = charge.appointment
    assert (body["appointment"], body["patient"]) == (appointment.pk, patient.pk)
    assert body["appointment_status"] == "booked"
    assert body["doctor"]["id"] == appointment.doctor_id
    assert body["doctor"]["department"]["id"] == appointment.doctor.department_id
    assert (body["clinic"]["id"], body["clinic"]["time_zone"]) == (
        appointment.clinic_id,
        appointment.clinic.timezone,
    )
    assert (body["fee"], body["gst"], body["gst_percent"], body["total"]) == (
        "500.00",
        "90.00",
        "18.00",
        "590.00",
    )
    assert body["currency"] == "INR"
    # Refunds never make money due again: 590.00 less the 300.00 paid.
    assert (body["paid"], body["refunded"], body["due"], body["status"]) == (
        "300.00",
        "50.00",
        "290.00",
        "due",
    )
    assert body["receipts"] == [
        {"id": entry.pk, "receipt_number": entry.receipt_label, "kind": entry.kind, "total": total}
        for entry, total in ((first, "200.00"), (second, "100.00"), (returned, "50.00"))
    ]
    summary = selectors.money_summary(appointment)
    assert (D(body["paid"]), D(body["refunded"]), D(body["due"])) == (
        summary.paid,
        summary.refunded,
        summary.due,
    )


def test_times_are_at_the_appointments_clinic(patient):
    charge = charge_of(patient)
    body = client_for(patient.user).get(detail_url(charge)).json()
    zone = charge.appointment.clinic.zone
    for name, instant in (
        ("created_at", charge.created_at),
        ("appointment_start", charge.appointment.start),
    ):
        shown = body[name]
        assert shown["time_zone"] == charge.appointment.clinic.timezone
        assert dt.datetime.fromisoformat(shown["utc"].replace("Z", "+00:00")) == instant
        local = dt.datetime.fromisoformat(shown["local"])
        assert local == instant and local.utcoffset() == instant.astimezone(zone).utcoffset()


def test_reading_a_charge_is_in_the_audit_trail(patient):
    charge = charge_of(patient)
    assert client_for(patient.user).get(detail_url(charge)).status_code == 200
    entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Charge),
        object_pk=str(charge.pk),
        action=LogEntry.Action.ACCESS,
    )
    assert entry.actor == patient.user
    assert patient.full_name not in entry.object_repr


@pytest.fixture
def every_status(patient, desk_user, admin_user):
    """One charge in each state the "My payments" page tells apart, by the services' own hands."""
    unpaid = charge_of(patient)
    part_paid = charge_of(patient)
    pay(part_paid, "0.01", desk_user)
    # Parts whose sum as floats is under 0.07 (SQLite sums decimals as floats): paid in full.
    paid_in_parts = ChargeFactory(
        appointment=AppointmentFactory(patient=patient),
        fee=D("0.07"),
        gst_rate=D("0"),
        gst=D("0.00"),
        total=D("0.07"),
    )
    for part in ("0.02", "0.04", "0.01"):
        pay(paid_in_parts, part, desk_user)
    paid_then_refunded = charge_of(patient)
    refund(pay(paid_then_refunded, "590.00", desk_user), "590.00", admin_user)
    cancelled_unpaid = charge_of(patient)
    cancel(cancelled_unpaid, desk_user)
    cancelled_paid = charge_of(patient)
    pay(cancelled_paid, "100.00", desk_user)
    cancel(cancelled_paid, desk_user)
    cancelled_refunded = charge_of(patient)
    returned = pay(cancelled_refunded, "590.00", desk_user)
    cancel(cancelled_refunded, desk_user)
    refund(returned, "590.00", admin_user)
    return {
        unpaid.pk: "due",
        part_paid.pk: "due",
        paid_in_parts.pk: "paid",
        paid_then_refunded.pk: "paid",
        cancelled_unpaid.pk: "cancelled",
        cancelled_paid.pk: "refund_due",
        cancelled_refunded.pk: "cancelled",
    }


def test_each_status_is_the_my_payments_pages(patient, every_status):
    rows = listed(client_for(patient.user))
    assert {row["id"]: row["status"] for row in rows} == every_status
    # The page's own figures: charges_of_patient() with billing's amount_due().
    page = {charge.pk: charge for charge in selectors.charges_of_patient(patient)}
    for row in rows:
        charge = page[row["id"]]
        assert (D(row["paid"]), D(row["refunded"]), D(row["due"])) == (
            charge.paid,
            charge.refunded,
            charge.due,
        )
        if charge.appointment.status != "cancelled":
            assert (row["status"] == "paid") == (charge.due <= 0)
        else:
            assert (row["status"] == "refund_due") == charge.refund_due


@pytest.mark.parametrize("status", ["due", "paid", "refund_due", "cancelled"])
def test_staff_filter_by_status(desk_user, every_status, status):
    expected = sorted(pk for pk, given in every_status.items() if given == status)
    rows = listed(client_for(desk_user), status=status)
    assert sorted(row["id"] for row in rows) == expected
    assert {row["status"] for row in rows} == {status}


# Filters and pages -----------------------------------------------------------------------------


def test_staff_filter_charges(patient, admin_user):
    now = dt.datetime.now(dt.UTC)
    doctor = DoctorFactory()
    first = charge_of(patient, start=now + dt.timedelta(days=1))
    second = charge_of(PatientFactory(), doctor=doctor, start=now + dt.timedelta(days=4))
    client = client_for(admin_user)
    assert ids(client, patient=patient.pk) == [first.pk]
    assert ids(client, appointment=second.appointment_id) == [second.pk]
    assert ids(client, doctor=doctor.pk) == [second.pk]
    middle = (now + dt.timedelta(days=2)).astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert ids(client, start_after=middle.isoformat()) == [second.pk]
    assert ids(client, start_before=middle.isoformat()) == [first.pk]
    assert ids(client, start_after=second.appointment.start.isoformat()) == [second.pk]
    assert ids(client, start_before=second.appointment.start.isoformat()) == [first.pk]
    # A patient's own list filtered to another's appointment is empty, never theirs.
    mine = client_for(patient.user)
    assert ids(mine, appointment=second.appointment_id) == []
    assert ids(mine, patient=second.appointment.patient_id) == []


def test_charges_are_paged_with_the_one_paginator(patient, desk_user):
    made = [charge_of(patient) for _ in range(3)]
    body = client_for(desk_user).get(LIST, {"page_size": 2, "page": 2}).json()
    assert body["count"] == 3 and body["previous"] is not None and body["next"] is None
    assert len(body["results"]) == 1
    assert body["results"][0]["id"] in {charge.pk for charge in made}


@pytest.mark.parametrize(
    "query, field",
    [
        ({"patient": "x"}, "patient"),
        ({"patient": "0"}, "patient"),
        ({"appointment": str(2**31)}, "appointment"),
        ({"doctor": "-1"}, "doctor"),
        ({"doctor": "1e3"}, "doctor"),
        ({"status": "owed"}, "status"),
        ({"start_after": "2026-12-01T10:00:00"}, "start_after"),
        ({"start_after": "tomorrow"}, "start_after"),
        ({"start_before": "2026-12-01T10:00:00+99:00"}, "start_before"),
        (
            {"start_after": "2026-12-02T00:00:00Z", "start_before": "2026-12-01T00:00Z"},
            "start_before",
        ),
        ({"start_after": "2026-12-02T00:00:00Z", "start_before": "2026-12-02T00:00Z"}, None),
        ({"page": "0"}, None),
        ({"page_size": "x"}, "page_size"),
        ({"page": "99"}, None),
    ],
)
def test_bad_filters_are_refused_in_the_error_shape(patient, desk_user, query, field):
    charge_of(patient)
    response = client_for(desk_user).get(LIST, query)
    assert response.status_code in (400, 404), response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    if field is not None:
        assert error["code"] == "invalid" and field in error["fields"]


def test_a_filter_given_twice_is_refused(desk_user):
    response = client_for(desk_user).get(f"{LIST}?page=1&page=2")
    assert error_of(response, 400)["fields"] == {"page": ["Give this parameter once."]}


def test_the_list_costs_a_fixed_number_of_queries(patient, desk_user, admin_user):
    def read(user, **query):
        with CaptureQueriesContext(connection) as queries:
            assert client_for(user).get(LIST, query).status_code == 200
        return len(queries)

    users = (patient.user, desk_user)
    refund(pay(charge_of(patient), "590.00", desk_user), "1.00", admin_user)
    few = {user.pk: read(user) for user in users}
    filtered = read(desk_user, status="paid", doctor=1)
    for _ in range(5):
        charge = charge_of(PatientFactory(with_account=True) if _ % 2 else patient)
        refund(pay(charge, "590.00", desk_user), "2.00", admin_user)
        pay(charge_of(patient), "10.00", desk_user)
    assert {user.pk: read(user) for user in users} == few
    assert read(desk_user, status="paid", doctor=1) == filtered
