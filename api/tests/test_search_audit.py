"""Looking patients up is recorded: each record a search lists enters the audit trail as viewed,
by whom, on the desk's directory page, the desk's booking page and the JSON API alike."""

import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from accounts.models import Patient
from accounts.selectors import SEARCH_LIMIT
from accounts.tests.factories import PatientFactory
from api.tests.factories import client_for
from bookings.forms import slot_token
from bookings.scheduling import at
from doctors.tests.factories import ClinicFactory, DoctorFactory, WorkingHoursFactory

pytestmark = pytest.mark.django_db


def viewed(patients):
    return set(
        LogEntry.objects.filter(
            action=LogEntry.Action.ACCESS,
            content_type__model="patient",
            object_pk__in=[str(patient.pk) for patient in patients],
        ).values_list("object_pk", "actor_id")
    )


@pytest.fixture
def directory():
    return {
        "ravi": PatientFactory(full_name="Ravi Kumar"),
        "ravinder": PatientFactory(full_name="Ravinder Singh"),
        "asha": PatientFactory(full_name="Asha Raman"),
    }


def test_the_directory_search_records_each_patient_it_lists(client, front_desk_user, directory):
    client.force_login(front_desk_user)
    client.post(reverse("desk:patients"), {"query": "ravi"})

    listed = [directory["ravi"], directory["ravinder"]]
    assert viewed(listed) == {(str(p.pk), front_desk_user.pk) for p in listed}
    assert viewed([directory["asha"]]) == set()


def test_a_refused_search_records_nothing(client, front_desk_user, directory):
    client.force_login(front_desk_user)
    client.post(reverse("desk:patients"), {"query": "r"})
    assert not LogEntry.objects.filter(action=LogEntry.Action.ACCESS).exists()


def test_only_the_listed_patients_are_recorded_in_one_statement(
    client, front_desk_user, django_assert_max_num_queries
):
    PatientFactory.create_batch(SEARCH_LIMIT + 3, full_name="Neha Sharma")
    client.force_login(front_desk_user)
    client.post(reverse("desk:patients"), {"query": "sharma"})

    assert LogEntry.objects.filter(action=LogEntry.Action.ACCESS).count() == SEARCH_LIMIT
    # However many are listed, one INSERT: the page's count does not grow with the results.
    with django_assert_max_num_queries(12) as captured:
        client.post(reverse("desk:patients"), {"query": "sharma"})
    inserts = [
        q for q in captured.captured_queries if 'INSERT INTO "auditlog_logentry"' in q["sql"]
    ]
    assert len(inserts) == 1


def test_the_booking_page_search_records_each_patient_it_lists(client, front_desk_user, directory):
    clinic = ClinicFactory(timezone="Asia/Kolkata")
    doctor = DoctorFactory(slot_minutes=15)
    for weekday in range(7):
        WorkingHoursFactory(doctor=doctor, clinic=clinic, weekday=weekday)
    start = at(timezone.localdate() + dt.timedelta(days=2), dt.time(10), clinic.zone)
    page = reverse("desk:confirm", kwargs={"doctor_id": doctor.pk, "clinic_id": clinic.pk})
    client.force_login(front_desk_user)
    response = client.post(
        f"{page}?start={slot_token(start)}", {"action": "search", "query": "asha"}
    )

    assert response.status_code == 200

    assert viewed([directory["asha"]]) == {(str(directory["asha"].pk), front_desk_user.pk)}


def test_the_api_search_records_each_patient_it_lists(front_desk_user, directory):
    response = client_for(front_desk_user).post(
        reverse("api:patient_search"), {"query": "ravinder"}, format="json"
    )

    assert response.status_code == 200
    assert viewed([directory["ravinder"]]) == {(str(directory["ravinder"].pk), front_desk_user.pk)}
    assert Patient.objects.count() == 3
