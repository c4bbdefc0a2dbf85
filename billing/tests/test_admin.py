"""The ledger in the admin: read-only and undeletable, CSV export of exactly the selected rows,
and the refund action for clinic admins only."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.test import RequestFactory
from django.urls import reverse

from billing import services
from billing.models import Charge, Payment
from billing.tests.factories import ChargeFactory
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import DepartmentFactory, DoctorFactory

pytestmark = pytest.mark.django_db

D = Decimal
CHANGELIST = "admin:billing_payment_changelist"


@pytest.fixture
def ledger(front_desk_user, clinic_admin_user):
    """Two paid appointments with two doctors, one payment part-refunded: four ledger rows."""
    cardiology = DoctorFactory(
        full_name="Dr Meera Nair", department=DepartmentFactory(name="Cardiology")
    )
    skin = DoctorFactory(full_name="Dr Arjun Rao", department=DepartmentFactory(name="Skin"))
    first = ChargeFactory(appointment=AppointmentFactory(doctor=cardiology))
    second = ChargeFactory(appointment=AppointmentFactory(doctor=skin))
    cash = services.record_payment(charge=first, amount="590.00", mode="cash", by=front_desk_user)
    card = services.record_payment(
        charge=second, amount="300.00", mode="card", reference='SLIP, "9"', by=front_desk_user
    )
    refund = services.refund_payment(
        payment=card, amount="100.00", reason="Overcharged", by=clinic_admin_user
    )
    upi = services.record_payment(
        charge=second, amount="290.00", mode="upi", reference="UPI-1", by=front_desk_user
    )
    return {"cash": cash, "card": card, "refund": refund, "upi": upi}


def run_action(client, action, entries):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "index": 0, "_selected_action": [e.pk for e in entries]},
    )


def flashed(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def request_by(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


# --- Read-only ledger -------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["front_desk_user", "clinic_admin_user"])
@pytest.mark.parametrize("model", [Payment, Charge])
def test_ledger_rows_are_read_only_and_undeletable_in_the_admin(request, user, model):
    model_admin = admin.site._registry[model]
    http_request = request_by(request.getfixturevalue(user))
    assert model_admin.has_view_permission(http_request)
    assert not model_admin.has_add_permission(http_request)
    assert not model_admin.has_change_permission(http_request)
    assert not model_admin.has_delete_permission(http_request)
    assert "delete_selected" not in model_admin.get_actions(http_request)


def test_the_payment_pages_change_and_delete_nothing(client, clinic_admin_user, ledger):
    client.force_login(clinic_admin_user)
    cash = ledger["cash"]
    change = reverse("admin:billing_payment_change", args=[cash.pk])

    page = client.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()  # a view-only page

    assert client.post(change, {"total": "1.00", "fee": "1.00", "gst": "0"}).status_code == 403
    assert client.get(reverse("admin:billing_payment_delete", args=[cash.pk])).status_code == 403
    assert (
        client.post(
            reverse("admin:billing_payment_delete", args=[cash.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert client.get(reverse("admin:billing_payment_add")).status_code == 403
    response = run_action(client, "delete_selected", [cash])
    assert response.status_code in (200, 302)

    cash.refresh_from_db()
    assert cash.total == D("590.00")
    assert Payment.objects.count() == 4


def test_the_changelist_lists_the_ledger_for_the_front_desk(client, front_desk_user, ledger):
    client.force_login(front_desk_user)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    text = response.content.decode()
    for entry in ledger.values():
        assert entry.receipt_label in text


# --- CSV export -------------------------------------------------------------------------------


def csv_rows(response):
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="payments-')
    return list(csv.reader(io.StringIO(response.content.decode())))


def expected_row(entry):
    entry = Payment.objects.get(pk=entry.pk)  # as stored
    appointment = entry.charge.appointment
    return [
        entry.receipt_label,
        entry.recorded_at.astimezone(dt.UTC).isoformat(),
        entry.kind,
        entry.mode,
        str(entry.fee),
        str(entry.gst),
        str(entry.total),
        "INR",
        entry.reference,
        entry.refund_of.receipt_label if entry.refund_of else "",
        str(appointment.pk),
        appointment.doctor.full_name,
        appointment.doctor.department.name,
        entry.recorded_by.email,
    ]


@pytest.mark.parametrize("user", ["front_desk_user", "clinic_admin_user"])
def test_csv_export_holds_exactly_the_selected_rows(client, request, user, ledger):
    client.force_login(request.getfixturevalue(user))
    selected = [ledger["upi"], ledger["card"], ledger["refund"]]  # not the cash payment

    rows = csv_rows(run_action(client, "export_csv", selected))

    header, *body = rows
    assert header == [
        "receipt",
        "recorded_at_utc",
        "kind",
        "mode",
        "fee",
        "gst",
        "total",
        "currency",
        "reference",
        "refund_of",
        "appointment_id",
        "doctor",
        "department",
        "recorded_by",
    ]
    # In the order they were recorded, one row each, as stored.
    assert body == [expected_row(e) for e in (ledger["card"], ledger["refund"], ledger["upi"])]
    refund_row = body[1]
    assert refund_row[2:5] == ["refund", "card", "84.75"]  # 100 x 254.24/300, half-up
    assert refund_row[9] == ledger["card"].receipt_label
    assert body[0][8] == 'SLIP, "9"'  # quoted properly, not split
    assert all(row[1].endswith("+00:00") for row in body)


def test_csv_export_of_one_row(client, clinic_admin_user, ledger):
    client.force_login(clinic_admin_user)
    _, *body = csv_rows(run_action(client, "export_csv", [ledger["cash"]]))
    assert body == [expected_row(ledger["cash"])]
    assert body[0][4:7] == ["500.00", "90.00", "590.00"]
    assert body[0][11:13] == ["Dr Meera Nair", "Cardiology"]


# --- The refund action ------------------------------------------------------------------------


def test_the_refund_action_takes_a_clinic_admin_to_the_refund_page_of_the_one_payment(
    client, clinic_admin_user, ledger
):
    client.force_login(clinic_admin_user)
    response = run_action(client, "refund_selected", [ledger["upi"]])
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:refund", kwargs={"pk": ledger["upi"].pk})
    assert Payment.objects.refunds().count() == 1  # the action only leads to the page


@pytest.mark.parametrize("selection", [["cash", "upi"], ["refund"], ["cash", "card", "refund"]])
def test_the_refund_action_wants_exactly_one_payment(client, clinic_admin_user, ledger, selection):
    client.force_login(clinic_admin_user)
    response = run_action(client, "refund_selected", [ledger[name] for name in selection])
    assert response.status_code == 302
    assert response["Location"].startswith(reverse(CHANGELIST))
    assert flashed(response) == ["Select exactly one payment (not a refund) to refund."]
    assert Payment.objects.refunds().count() == 1


def test_the_front_desk_does_not_get_the_refund_action(client, front_desk_user, ledger):
    model_admin = admin.site._registry[Payment]
    actions = model_admin.get_actions(request_by(front_desk_user))
    assert "export_csv" in actions
    assert "refund_selected" not in actions

    client.force_login(front_desk_user)
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert 'value="refund_selected"' not in page
    response = run_action(client, "refund_selected", [ledger["cash"]])
    assert not response.get("Location", "").startswith(
        reverse("billing:refund", kwargs={"pk": ledger["cash"].pk})
    )
    assert Payment.objects.refunds().count() == 1


def test_a_clinic_admin_sees_the_refund_action(client, clinic_admin_user, ledger):
    client.force_login(clinic_admin_user)
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert 'value="refund_selected"' in page
    assert 'value="export_csv"' in page
