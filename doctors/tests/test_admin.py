"""Doctors in the admin: the clinic filter and the read-only record fields."""

import pytest
from django.urls import reverse

from doctors.tests.factories import ClinicFactory, DoctorFactory, WorkingHoursFactory

pytestmark = pytest.mark.django_db


def test_doctor_list_filters_by_clinic_once_per_doctor(client, clinic_admin_user):
    client.force_login(clinic_admin_user)
    lakeview, riverside = ClinicFactory(), ClinicFactory()
    both = DoctorFactory(full_name="Dr Both Places")
    for weekday in (0, 1, 2):  # several rows at one clinic must not list the doctor thrice
        WorkingHoursFactory(doctor=both, clinic=lakeview, weekday=weekday)
    WorkingHoursFactory(doctor=both, clinic=riverside, weekday=3)
    elsewhere = WorkingHoursFactory(clinic=riverside).doctor
    response = client.get(
        reverse("admin:doctors_doctor_changelist"),
        {"working_hours__clinic__id__exact": lakeview.pk},
    )
    assert list(response.context["cl"].result_list) == [both]
    response = client.get(
        reverse("admin:doctors_doctor_changelist"),
        {"working_hours__clinic__id__exact": riverside.pk},
    )
    assert sorted(response.context["cl"].result_list, key=lambda d: d.pk) == sorted(
        [both, elsewhere], key=lambda d: d.pk
    )


@pytest.mark.parametrize(
    "model, fields",
    [
        ("department", ["created_at", "updated_at"]),
        ("clinic", ["created_at", "updated_at"]),
        ("doctor", ["created_at", "updated_at"]),
    ],
)
def test_record_timestamps_are_read_only(client, clinic_admin_user, model, fields):
    client.force_login(clinic_admin_user)
    doctor = DoctorFactory()
    obj = {"department": doctor.department, "clinic": ClinicFactory(), "doctor": doctor}[model]
    response = client.get(reverse(f"admin:doctors_{model}_change", args=[obj.pk]))
    form = response.context["adminform"].form
    for field in fields:
        assert field not in form.fields
        assert field in response.context["adminform"].readonly_fields
