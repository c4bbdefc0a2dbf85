"""Transactions over the API: the ledger and receipts per role, recording a payment at the desk,
refunds by clinic admins; every refusal keeps billing.services' words and code."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from accounts.tests.factories import PatientFactory, UserFactory
from api.idempotency import REPLAYED_HEADER
from api.tests.factories import client_for, integration_user
from billing import services
from billing.models import Payment
from billing.tests.factories import ChargeFactory
from bookings.models import Status
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import DoctorFactory

pytestmark = pytest.mark.django_db

D = Decimal


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


def pay(charge, amount, by, mode=Payment.Mode.CASH, reference=""):
    return services.record_payment(
        charge=charge, amount=amount, mode=mode, reference=reference, by=by
    )


def refund(payment, amount, by, reason="Doctor unwell"):
    return services.refund_payment(payment=payment, amount=amount, reason=reason, by=by)


def entry_url(entry):
    return reverse("api:payment", kwargs={"pk": entry.pk})


def record_url(charge):
    return reverse("api:appointment_payments", kwargs={"appointment_pk": charge.appointment_id})


def refund_url(payment):
    return reverse("api:payment_refund", kwargs={"pk": payment.pk})


def error_of(response, status):
    assert response.status_code == status, response.content
    return response.json()["error"]


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# Reading ------------------------------------------------------------------------------------


def test_a_patient_lists_only_their_own_entries(patient, desk_user, admin_user):
    mine = pay(charge_of(patient), "590.00", desk_user)
    my_refund = refund(mine, "90.00", admin_user)
    theirs = pay(charge_of(PatientFactory(with_account=True)), "100.00", desk_user)
    assert ids(client_for(patient.user).get(reverse("api:payments"))) == [my_refund.pk, mine.pk]
    staff = ids(client_for(desk_user).get(reverse("api:payments")))
    assert staff == [theirs.pk, my_refund.pk, mine.pk]


def test_an_entry_shows_its_money_its_receipt_and_its_refunds(patient, desk_user, admin_user):
    charge = charge_of(patient)
    payment = pay(charge, "590.00", desk_user, mode=Payment.Mode.UPI, reference="UPI-1")
    part = refund(payment, "118.00", admin_user)
    rows = client_for(patient.user).get(reverse("api:payments")).json()["results"]
    by_id = {row["id"]: row for row in rows}
    paid = by_id[payment.pk]
    assert paid["receipt_number"] == payment.receipt_label
    assert (paid["kind"], paid["mode"], paid["reference"]) == ("payment", "upi", "UPI-1")
    assert (paid["fee"], paid["gst"], paid["total"]) == ("500.00", "90.00", "590.00")
    assert (paid["currency"], paid["gst_percent"]) == ("INR", "18.00")
    assert (paid["status"], paid["refunded"], paid["refundable"]) == (
        "partly_refunded",
        "118.00",
        "472.00",
    )
    assert paid["refund_of"] is None
    assert paid["appointment"]["id"] == charge.appointment_id
    assert paid["appointment"]["patient_id"] == patient.pk
    assert set(paid["recorded_at"]) == {"utc", "local", "time_zone"}
    returned = by_id[part.pk]
    assert (returned["kind"], returned["status"], returned["refund_of"]) == (
        "refund",
        "refund",
        payment.pk,
    )
    assert (returned["total"], returned["refundable"], returned["reason"]) == (
        "118.00",
        "0.00",
        "Doctor unwell",
    )
    refund(payment, "472.00", admin_user)
    again = client_for(patient.user).get(entry_url(payment)).json()
    assert (again["status"], again["refundable"]) == ("refunded", "0.00")


def test_a_receipt_is_the_patients_own_or_staffs(patient, desk_user):
    payment = pay(charge_of(patient), "590.00", desk_user)
    response = client_for(patient.user).get(entry_url(payment))
    assert response.status_code == 200
    body = response.json()
    assert body["receipt_number"] == payment.receipt_label
    assert body["patient_name"] == patient.full_name
    assert body["recorded_by"] == desk_user.full_name
    other = PatientFactory(with_account=True).user
    assert error_of(client_for(other).get(entry_url(payment)), 404)["code"] == "not_found"
    for user in (desk_user, integration_user()):
        assert client_for(user).get(entry_url(payment)).status_code == 200
    missing = reverse("api:payment", kwargs={"pk": 999999})
    assert error_of(client_for(desk_user).get(missing), 404)


def test_a_patient_without_entries_has_an_empty_ledger(patient):
    response = client_for(patient.user).get(reverse("api:payments"))
    assert response.status_code == 200 and response.json()["count"] == 0


def test_a_patient_login_without_a_directory_entry_reads_nothing(patient, desk_user):
    pay(charge_of(patient), "590.00", desk_user)
    response = client_for(UserFactory(roles=[Role.PATIENT])).get(reverse("api:payments"))
    assert response.status_code == 200 and response.json()["count"] == 0


def test_doctors_and_strangers_may_not_read_the_ledger(patient, desk_user):
    payment = pay(charge_of(patient), "590.00", desk_user)
    doctor = DoctorFactory(with_account=True).user
    for url in (reverse("api:payments"), entry_url(payment)):
        assert error_of(client_for(doctor).get(url), 403)["code"] == "permission_denied"
        assert error_of(client_for(None).get(url), 401)["code"] == "not_authenticated"


def test_staff_filter_the_ledger(patient, desk_user, admin_user):
    first = charge_of(patient)
    second = charge_of(PatientFactory(with_account=True))
    old = pay(first, "100.00", desk_user)
    new = pay(second, "590.00", desk_user)
    returned = refund(new, "10.00", admin_user)
    client = client_for(admin_user)

    def listed(**query):
        return ids(client.get(reverse("api:payments"), query))

    assert listed(patient=patient.pk) == [old.pk]
    assert listed(appointment=second.appointment_id) == [returned.pk, new.pk]
    assert listed(kind="refund") == [returned.pk]
    assert listed(recorded_after=new.recorded_at.isoformat()) == [returned.pk, new.pk]
    assert listed(recorded_before=new.recorded_at.isoformat()) == [old.pk]
    # A patient's own ledger filtered to another's appointment is empty, never theirs.
    mine = client_for(patient.user).get(
        reverse("api:payments"), {"appointment": second.appointment_id}
    )
    assert mine.json()["count"] == 0


@pytest.mark.parametrize(
    "query, field",
    [
        ({"patient": "x"}, "patient"),
        ({"patient": "0"}, "patient"),
        ({"kind": "gift"}, "kind"),
        ({"recorded_after": "2026-12-01T10:00:00"}, "recorded_after"),
        ({"recorded_after": "yesterday"}, "recorded_after"),
        (
            {"recorded_after": "2026-12-02T00:00:00Z", "recorded_before": "2026-12-01T00:00Z"},
            "recorded_before",
        ),
        ({"page": "0"}, None),
        ({"page_size": "x", "page": "99"}, None),
    ],
)
def test_bad_filters_are_refused_in_the_error_shape(desk_user, query, field):
    response = client_for(desk_user).get(reverse("api:payments"), query)
    assert response.status_code in (400, 404), response.content
    error = response.json()["error"]
    if field is not None:
        assert error["code"] == "invalid" and field in error["fields"]


def test_the_ledger_costs_a_fixed_number_of_queries(patient, desk_user, admin_user):
    def read(user):
        with CaptureQueriesContext(connection) as queries:
            assert client_for(user).get(reverse("api:payments")).status_code == 200
        return len(queries)

    refund(pay(charge_of(patient), "590.00", desk_user), "1.00", admin_user)
    few = {user.pk: read(user) for user in (patient.user, desk_user)}
    for _ in range(5):
        payment = pay(charge_of(patient), "590.00", desk_user)
        refund(payment, "2.00", admin_user)
    assert {user.pk: read(user) for user in (patient.user, desk_user)} == few


# Recording a payment --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["desk", "admin", "integration"])
def test_the_desk_records_a_payment_and_gets_the_receipt(patient, desk_user, admin_user, who):
    user = {"desk": desk_user, "admin": admin_user, "integration": integration_user()}[who]
    charge = charge_of(patient)
    response = client_for(user).post(
        record_url(charge), {"amount": "200.00", "mode": "card", "reference": "SLIP 7"}
    )
    assert response.status_code == 201, response.content
    payment = Payment.objects.get()
    assert response["Location"] == entry_url(payment)
    body = response.json()
    assert body["receipt_number"] == payment.receipt_label
    assert (body["total"], body["mode"], body["reference"]) == ("200.00", "card", "SLIP 7")
    assert payment.recorded_by == user and payment.charge == charge


def test_never_more_than_is_due_in_the_services_words(patient, desk_user):
    charge = charge_of(patient)
    pay(charge, "500.00", desk_user)
    error = error_of(
        client_for(desk_user).post(record_url(charge), {"amount": "90.01", "mode": "cash"}), 422
    )
    assert error["code"] == "overpayment"
    assert error["message"] == "That is more than is due. INR 90.00 is left to pay."
    assert Payment.objects.count() == 1


def test_a_cancelled_appointment_takes_no_payment(patient, desk_user):
    charge = charge_of(patient, status=Status.CANCELLED)
    response = client_for(desk_user).post(record_url(charge), {"amount": "1.00", "mode": "cash"})
    assert error_of(response, 409)["code"] == "invalid_status"
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"amount": "10.00", "mode": "card"}, "reference"),
        ({"amount": "10.00", "mode": "upi", "reference": ""}, "reference"),
        ({"amount": "10.00", "mode": "online", "reference": "X"}, "mode"),
        ({"amount": "10.001", "mode": "cash"}, "amount"),
        ({"amount": "0.00", "mode": "cash"}, "amount"),
        ({"amount": "NaN", "mode": "cash"}, "amount"),
        ({"amount": "Infinity", "mode": "cash"}, "amount"),
        ({"amount": 1e300, "mode": "cash"}, "amount"),
        ({"amount": ["1"], "mode": "cash"}, "amount"),
        ({"amount": "10.00", "mode": "cash", "reference": "x" * 101}, "reference"),
        ({"mode": "cash"}, "amount"),
    ],
)
def test_the_desk_forms_rules_are_field_errors(patient, desk_user, body, field):
    charge = charge_of(patient)
    response = client_for(desk_user).post(record_url(charge), body, format="json")
    error = error_of(response, 400)
    assert error["code"] == "invalid" and field in error["fields"]
    assert not Payment.objects.exists()


def test_a_payment_for_an_appointment_without_a_charge_is_not_found(desk_user):
    appointment = AppointmentFactory()
    url = reverse("api:appointment_payments", kwargs={"appointment_pk": appointment.pk})
    response = client_for(desk_user).post(url, {"amount": "1.00", "mode": "cash"})
    assert error_of(response, 404)["code"] == "not_found"


@pytest.mark.parametrize(
    "user",
    [
        lambda: None,
        lambda: PatientFactory(with_account=True).user,
        lambda: DoctorFactory(with_account=True).user,
    ],
    ids=["anonymous", "patient", "doctor"],
)
def test_only_the_desk_records_payments(patient, user):
    caller = user()
    charge = charge_of(patient)
    response = client_for(caller).post(record_url(charge), {"amount": "1.00", "mode": "cash"})
    error_of(response, 401 if caller is None else 403)
    assert not Payment.objects.exists()


def test_a_retried_payment_with_its_key_is_recorded_once(patient, desk_user):
    charge = charge_of(patient)
    client = client_for(desk_user)
    body = {"amount": "300.00", "mode": "cash"}
    first = client.post(record_url(charge), body, HTTP_IDEMPOTENCY_KEY="pay-1")
    again = client.post(record_url(charge), body, HTTP_IDEMPOTENCY_KEY="pay-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again[REPLAYED_HEADER] == "true" and again.json() == first.json()
    assert Payment.objects.count() == 1
    reused = client.post(
        record_url(charge), {"amount": "1.00", "mode": "cash"}, HTTP_IDEMPOTENCY_KEY="pay-1"
    )
    assert error_of(reused, 422)["code"] == "idempotency_key_reused"


# Refunds --------------------------------------------------------------------------------------


def test_a_clinic_admin_refunds_part_of_a_payment(patient, desk_user, admin_user):
    payment = pay(charge_of(patient), "590.00", desk_user)
    response = client_for(admin_user).post(
        refund_url(payment), {"amount": "100.00", "reason": "Follow-up not needed"}
    )
    assert response.status_code == 201, response.content
    entry = Payment.objects.refunds().get()
    assert response["Location"] == entry_url(entry)
    body = response.json()
    assert (body["kind"], body["refund_of"], body["total"]) == ("refund", payment.pk, "100.00")
    assert body["receipt_number"] == entry.receipt_label
    assert entry.recorded_by == admin_user


def test_never_more_than_was_paid(patient, desk_user, admin_user):
    payment = pay(charge_of(patient), "590.00", desk_user)
    refund(payment, "500.00", admin_user)
    error = error_of(
        client_for(admin_user).post(refund_url(payment), {"amount": "90.01", "reason": "x"}), 422
    )
    assert error["code"] == "over_refund"
    assert error["message"] == "At most INR 90.00 of this payment can still be refunded."


def test_a_refund_is_not_refunded(patient, desk_user, admin_user):
    returned = refund(pay(charge_of(patient), "590.00", desk_user), "10.00", admin_user)
    response = client_for(admin_user).post(refund_url(returned), {"amount": "1.00", "reason": "x"})
    assert error_of(response, 422)["code"] == "not_a_payment"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"amount": "10.00"}, "reason"),
        ({"amount": "10.00", "reason": "   "}, "reason"),
        ({"amount": "10.00", "reason": "x" * 201}, "reason"),
        ({"amount": "-1", "reason": "x"}, "amount"),
        ({"amount": {"value": 1}, "reason": "x"}, "amount"),
    ],
)
def test_the_refund_forms_rules_are_field_errors(patient, desk_user, admin_user, body, field):
    payment = pay(charge_of(patient), "590.00", desk_user)
    response = client_for(admin_user).post(refund_url(payment), body, format="json")
    error = error_of(response, 400)
    assert field in error["fields"]
    assert not Payment.objects.refunds().exists()


@pytest.mark.parametrize(
    "user",
    [
        lambda: None,
        lambda: PatientFactory(with_account=True).user,
        lambda: DoctorFactory(with_account=True).user,
        lambda: UserFactory(roles=[Role.FRONT_DESK], is_staff=True),
        integration_user,
    ],
    ids=["anonymous", "patient", "doctor", "front desk", "integration"],
)
def test_only_clinic_admins_refund(patient, desk_user, user):
    caller = user()
    payment = pay(charge_of(patient), "590.00", desk_user)
    response = client_for(caller).post(refund_url(payment), {"amount": "1.00", "reason": "x"})
    error_of(response, 401 if caller is None else 403)
    assert not Payment.objects.refunds().exists()


def test_an_unknown_payment_is_not_found(admin_user):
    url = reverse("api:payment_refund", kwargs={"pk": 999999})
    response = client_for(admin_user).post(url, {"amount": "1.00", "reason": "x"})
    assert error_of(response, 404)["code"] == "not_found"


def test_a_retried_refund_with_its_key_refunds_once(patient, desk_user, admin_user):
    payment = pay(charge_of(patient), "590.00", desk_user)
    client = client_for(admin_user)
    body = {"amount": "590.00", "reason": "Doctor unwell"}
    first = client.post(refund_url(payment), body, HTTP_IDEMPOTENCY_KEY="r-1")
    again = client.post(refund_url(payment), body, HTTP_IDEMPOTENCY_KEY="r-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again[REPLAYED_HEADER] == "true"
    assert Payment.objects.refunds().count() == 1
    # A new key is a new request: the service says it is refunded in full.
    fresh = client.post(refund_url(payment), body, HTTP_IDEMPOTENCY_KEY="r-2")
    assert error_of(fresh, 422)["message"] == "This payment has been refunded in full already."


def test_times_are_at_the_appointments_clinic(patient, desk_user):
    charge = charge_of(patient)
    payment = pay(charge, "590.00", desk_user)
    recorded = client_for(desk_user).get(entry_url(payment)).json()["recorded_at"]
    zone = charge.appointment.clinic.zone
    assert recorded["time_zone"] == charge.appointment.clinic.timezone
    local = dt.datetime.fromisoformat(recorded["local"])
    assert (
        local == payment.recorded_at
        and local.utcoffset() == payment.recorded_at.astimezone(zone).utcoffset()
    )
