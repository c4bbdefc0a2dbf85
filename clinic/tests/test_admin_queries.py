"""Admin change lists cost a fixed number of queries, however many rows the page shows: every
column they display comes from the page's own query (select_related, prefetches, annotations)."""

from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from accounts.tests.factories import PatientFactory, UserFactory
from billing.tests.factories import ChargeFactory, PaymentFactory
from bookings.tests.factories import AppointmentFactory
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    HolidayFactory,
    TimeOffFactory,
    WorkingHoursFactory,
)
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db


def a_refund():
    payment = PaymentFactory()
    return PaymentFactory(
        charge=payment.charge,
        kind="refund",
        refund_of=payment,
        total="100.00",
        fee="84.75",
        gst="15.25",
    )


# One more row of each model, as unlike the last as the factories make it (new doctor, clinic,
# department...), so that anything fetched per row or per related object would show.
MAKERS = {
    "accounts_user": lambda n: UserFactory(roles=[Role.FRONT_DESK, Role.CLINIC_ADMIN][n % 2 :]),
    "accounts_patient": lambda n: PatientFactory(with_account=n % 2 == 0),
    "doctors_department": lambda n: DoctorFactory(department=DepartmentFactory()).department,
    "doctors_clinic": lambda n: ClinicFactory(),
    "doctors_doctor": lambda n: WorkingHoursFactory(doctor=DoctorFactory(with_account=True)),
    "doctors_workinghours": lambda n: WorkingHoursFactory(),
    "doctors_holiday": lambda n: HolidayFactory(clinic=None if n == 0 else ClinicFactory()),
    "doctors_timeoff": lambda n: TimeOffFactory(),
    "bookings_appointment": lambda n: AppointmentFactory(),
    "notifications_notification": lambda n: NotificationFactory(),
    "billing_charge": lambda n: ChargeFactory(),
    "billing_payment": lambda n: PaymentFactory() if n % 2 else a_refund(),
}


SESSION_SAVE = ("SAVEPOINT", "RELEASE SAVEPOINT", 'UPDATE "django_session"')


def page_queries(captured):
    """The page's own queries: the session is saved (in a savepoint) at most once a minute to
    push its idle expiry on, which depends on the clock, not on the page."""
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].startswith(SESSION_SAVE)
    ]


def changelist_queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(page_queries(captured)), response.context["cl"].result_count


@pytest.mark.parametrize("model", sorted(MAKERS))
def test_changelist_queries_do_not_grow_with_rows(client, clinic_admin_user, model):
    client.force_login(clinic_admin_user)
    url = reverse(f"admin:{model}_changelist")
    MAKERS[model](0)
    few, shown_before = changelist_queries(client, url)
    for n in range(1, 7):
        MAKERS[model](n)
    many, shown_after = changelist_queries(client, url)
    assert shown_after > shown_before
    assert many == few


@pytest.mark.parametrize("model", ["accounts_patient", "bookings_appointment", "billing_payment"])
def test_front_desk_changelists_do_not_grow_with_rows(client, front_desk_user, model):
    client.force_login(front_desk_user)
    url = reverse(f"admin:{model}_changelist")
    MAKERS[model](0)
    few, _ = changelist_queries(client, url)
    for n in range(1, 5):
        MAKERS[model](n)
    many, _ = changelist_queries(client, url)
    assert many == few


def test_filtered_and_searched_appointment_changelist_stays_bounded(client, clinic_admin_user):
    client.force_login(clinic_admin_user)
    url = reverse("admin:bookings_appointment_changelist")
    first = AppointmentFactory()
    url += "?" + urlencode({"status__exact": "booked", "q": first.doctor.full_name})
    few, _ = changelist_queries(client, url)
    AppointmentFactory.create_batch(4, doctor=first.doctor)
    many, count = changelist_queries(client, url)
    assert count >= 5
    assert many == few
