"""Visit types in the admin: clinic admins set them up (on their own page and inline on a
department or a doctor), the front desk may look, others may not; bad input is refused."""

import pytest
from django.urls import reverse

from doctors.models import VisitType
from doctors.tests.factories import DepartmentFactory, DoctorFactory, VisitTypeFactory

pytestmark = pytest.mark.django_db


def add_data(**overrides):
    data = {
        "name": "Procedure",
        "department": "",
        "doctor": "",
        "position": "0",
        "is_active": "on",
        "minutes": "45",
        "buffer_before_minutes": "0",
        "buffer_after_minutes": "10",
        "fee": "1500.00",
        "bookable_online": "on",
        "mode": "in_person",
    }
    data.update(overrides)
    return data


def with_inlines(client, data):
    """`data` with the management forms of whatever inlines other apps add to the page (intake's
    questions), with no rows."""
    page = client.get(reverse("admin:doctors_visittype_add"))
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update(
            {
                management.add_prefix(name): value
                for name, value in management.initial.items()
                if value is not None
            }
        )
        data[management.add_prefix("TOTAL_FORMS")] = "0"
    return data


def test_a_clinic_admin_adds_a_departments_visit_type(client, clinic_admin_user):
    client.force_login(clinic_admin_user)
    department = DepartmentFactory()

    response = client.post(
        reverse("admin:doctors_visittype_add"),
        with_inlines(client, add_data(department=department.pk)),
    )

    assert response.status_code == 302
    visit_type = VisitType.objects.get()
    assert (visit_type.department, visit_type.minutes, visit_type.buffer_after_minutes) == (
        department,
        45,
        10,
    )
    listing = client.get(reverse("admin:doctors_visittype_changelist"))
    assert "Procedure" in listing.content.decode()


@pytest.mark.parametrize(
    "overrides, error",
    [
        ({}, "Choose a department or a doctor, not both."),
        ({"both": True}, "Choose a department or a doctor, not both."),
        ({"minutes": "500"}, "less than or equal to 480"),
        ({"minutes": "2"}, "greater than or equal to 5"),
        ({"buffer_after_minutes": "300"}, "less than or equal to 240"),
        ({"fee": "-1"}, "greater than or equal to 0"),
    ],
)
def test_bad_visit_types_are_refused_with_a_message(client, clinic_admin_user, overrides, error):
    client.force_login(clinic_admin_user)
    doctor = DoctorFactory()
    data = add_data(department=doctor.department.pk)
    if overrides.pop("both", False):
        data["doctor"] = doctor.pk
    elif not overrides:
        data["department"] = ""
    data.update(overrides)

    response = client.post(reverse("admin:doctors_visittype_add"), with_inlines(client, data))

    assert response.status_code == 200
    assert error in response.content.decode().replace("&#x27;", "'")
    assert not VisitType.objects.exists()


def test_department_and_doctor_pages_list_their_types_inline(client, clinic_admin_user):
    client.force_login(clinic_admin_user)
    doctor = DoctorFactory()
    VisitTypeFactory(name="First consultation", department=doctor.department)
    VisitTypeFactory(name="Own procedure", department=None, doctor=doctor)

    department_page = client.get(
        reverse("admin:doctors_department_change", args=[doctor.department.pk])
    ).content.decode()
    doctor_page = client.get(
        reverse("admin:doctors_doctor_change", args=[doctor.pk])
    ).content.decode()

    assert "First consultation" in department_page and "Own procedure" not in department_page
    assert (
        "Own procedure" in doctor_page and "visit types of this doctor only" in doctor_page.lower()
    )


def test_the_front_desk_may_look_but_not_change(client, front_desk_user):
    client.force_login(front_desk_user)
    visit_type = VisitTypeFactory()

    assert client.get(reverse("admin:doctors_visittype_changelist")).status_code == 200
    assert client.get(reverse("admin:doctors_visittype_add")).status_code == 403
    response = client.post(
        reverse("admin:doctors_visittype_change", args=[visit_type.pk]),
        add_data(department=visit_type.department.pk, name="Renamed"),
    )
    assert response.status_code == 403
    visit_type.refresh_from_db()
    assert visit_type.name != "Renamed"


@pytest.mark.parametrize("role", ["patient_user", "doctor_user", "anonymous"])
def test_patients_doctors_and_visitors_cannot_reach_the_admin_list(client, request, role):
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))

    response = client.get(reverse("admin:doctors_visittype_changelist"))

    assert response.status_code == 302
    assert reverse("admin:login") in response.url
