"""The staff back office: who gets in, that every page loads, and that bad input saves nothing."""

import datetime
from html import unescape

import pytest
from auditlog.models import LogEntry
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from accounts.models import Patient, User
from accounts.roles import Role
from accounts.tests.factories import PatientFactory, UserFactory
from billing.tests.factories import ChargeFactory, PaymentFactory
from bookings.tests.factories import (
    AppointmentFactory,
    AppointmentSeriesFactory,
    SlotHoldFactory,
)
from doctors.models import Clinic, Department, Doctor, WorkingHours
from doctors.tests.factories import (
    ClinicFactory,
    DepartmentFactory,
    DoctorFactory,
    HolidayFactory,
    TimeOffFactory,
    VisitTypeFactory,
    WorkingHoursFactory,
)
from intake.tests.factories import QuestionFactory
from notifications.tests.factories import (
    NotificationFactory,
    WebhookDeliveryFactory,
    WebhookEndpointFactory,
)
from waitlist.tests.factories import (
    FreedTimeFactory,
    WaitlistEntryFactory,
    WaitlistOfferFactory,
)

pytestmark = pytest.mark.django_db

REGISTERED = sorted(model._meta.label for model in admin.site._registry)

# Roles are made in migrations; a clinic admin may look at them but not create or edit them.
CLINIC_ADMIN_CAN_ADD = {
    "accounts.User",
    "accounts.Patient",
    "doctors.Department",
    "doctors.Clinic",
    "doctors.Doctor",
    "doctors.WorkingHours",
    "doctors.Holiday",
    "doctors.TimeOff",
    "doctors.VisitType",
    # API tokens for integrations (the token is shown once, on the page that answers the form).
    "knox.AuthToken",
    # Webhook receivers (their deliveries are written by the portal, never by hand).
    "notifications.WebhookEndpoint",
    # Intake questions per visit type (answers are given on the patient's and the desk's pages).
    "intake.Question",
}


def model_by_label(label):
    return next(model for model in admin.site._registry if model._meta.label == label)


def admin_url(label, view, *args):
    opts = model_by_label(label)._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def listed_text(obj):
    """What a changelist shows of an object: its name, or for the third-party admins (login
    records, the audit trail) a column of theirs."""
    if isinstance(obj, (AccessAttempt, AccessLog)):
        return obj.username
    if isinstance(obj, LogEntry):
        return obj.object_repr
    if isinstance(obj, AuthToken):
        return f"{obj.token_key}…"  # only the first characters: the token is never shown again
    return str(obj)


def text_of(response):
    return unescape(response.content.decode())


@pytest.fixture
def as_clinic_admin(client, clinic_admin_user):
    client.force_login(clinic_admin_user)
    return client


@pytest.fixture
def sample_objects(db):
    """One object of every registered model (two holidays: one clinic, all clinics)."""
    doctor = DoctorFactory(with_account=True, qualifications="MBBS")
    HolidayFactory(clinic=None, name="National holiday")
    return {
        "auth.Group": Group.objects.get(name=Role.FRONT_DESK),
        "accounts.User": UserFactory(phone="+919800000001"),
        "accounts.Patient": PatientFactory(with_account=True),
        "doctors.Department": doctor.department,
        "doctors.Clinic": ClinicFactory(),
        "doctors.Doctor": doctor,
        "doctors.WorkingHours": WorkingHoursFactory(doctor=doctor),
        "doctors.Holiday": HolidayFactory(),
        "doctors.TimeOff": TimeOffFactory(doctor=doctor),
        "doctors.VisitType": VisitTypeFactory(department=doctor.department),
        "bookings.Appointment": AppointmentFactory(doctor=doctor),
        "bookings.SlotHold": SlotHoldFactory(doctor=doctor),
        "bookings.AppointmentSeries": AppointmentSeriesFactory(doctor=doctor),
        "billing.Charge": ChargeFactory(),
        "billing.Payment": PaymentFactory(),
        "notifications.Notification": NotificationFactory(),
        "notifications.WebhookEndpoint": WebhookEndpointFactory(),
        "notifications.WebhookDelivery": WebhookDeliveryFactory(),
        "axes.AccessAttempt": AccessAttempt.objects.create(
            username="someone@example.com", ip_address="192.0.2.1", failures_since_start=3
        ),
        "axes.AccessLog": AccessLog.objects.create(
            username="someone@example.com", ip_address="192.0.2.1"
        ),
        # Saving the doctor above wrote audit entries; any one of them will do.
        "auditlog.LogEntry": LogEntry.objects.first(),
        "knox.AuthToken": AuthToken.objects.create(user=doctor.user)[0],
        "intake.Question": QuestionFactory(),
        "waitlist.WaitlistEntry": WaitlistEntryFactory(doctor=doctor),
        "waitlist.WaitlistOffer": WaitlistOfferFactory(),
        "waitlist.FreedTime": FreedTimeFactory(doctor=doctor),
    }


# --- Every registered model's pages load for a clinic admin ---------------------------------


def test_sample_objects_cover_every_registered_model(sample_objects):
    # A newly registered model needs a sample here, or the page tests below would skip it.
    assert set(sample_objects) == set(REGISTERED)


def test_clinic_admin_may_add_exactly_the_expected_models(clinic_admin_user):
    request = RequestFactory().get("/admin/")
    request.user = clinic_admin_user
    can_add = {
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if model_admin.has_add_permission(request)
    }
    assert can_add == CLINIC_ADMIN_CAN_ADD


def test_admin_index_lists_every_registered_model_for_clinic_admin(as_clinic_admin):
    response = as_clinic_admin.get(reverse("admin:index"))
    assert response.status_code == 200
    for label in REGISTERED:
        assert admin_url(label, "changelist") in text_of(response), label


@pytest.mark.parametrize("label", REGISTERED)
def test_changelist_loads_for_clinic_admin(as_clinic_admin, sample_objects, label):
    response = as_clinic_admin.get(admin_url(label, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1
    assert listed_text(sample_objects[label]) in text_of(response)


@pytest.mark.parametrize("query", ["x", "50%_' OR 1=1 --"])
@pytest.mark.parametrize("label", REGISTERED)
def test_changelist_search_loads_for_clinic_admin(as_clinic_admin, sample_objects, label, query):
    response = as_clinic_admin.get(admin_url(label, "changelist"), {"q": query})
    assert response.status_code == 200


@pytest.mark.parametrize("label", REGISTERED)
def test_add_page_loads_only_where_clinic_admin_may_add(as_clinic_admin, label):
    response = as_clinic_admin.get(admin_url(label, "add"))
    assert response.status_code == (200 if label in CLINIC_ADMIN_CAN_ADD else 403)


@pytest.mark.parametrize("label", REGISTERED)
def test_change_page_loads_for_factory_object(as_clinic_admin, sample_objects, label):
    obj = sample_objects[label]
    response = as_clinic_admin.get(admin_url(label, "change", obj.pk))
    assert response.status_code == 200
    assert response.context["original"] == obj


def test_changelist_searches_find_the_matching_object(as_clinic_admin, sample_objects):
    doctor = sample_objects["doctors.Doctor"]
    other = DoctorFactory(full_name="Zed Unrelated")
    response = as_clinic_admin.get(
        admin_url("doctors.Doctor", "changelist"), {"q": doctor.registration_number}
    )
    assert list(response.context["cl"].result_list) == [doctor]
    assert other.full_name not in text_of(response)


def test_doctor_changelist_filters_expired_registrations(as_clinic_admin):
    DoctorFactory(full_name="Valid Vora")
    expired = DoctorFactory(
        full_name="Expired Eapen",
        registration_expires_on=timezone.localdate() - datetime.timedelta(days=1),
    )
    response = as_clinic_admin.get(
        admin_url("doctors.Doctor", "changelist"), {"registration": "expired"}
    )
    assert list(response.context["cl"].result_list) == [expired]


def test_clinic_admin_cannot_edit_roles(as_clinic_admin):
    group = Group.objects.get(name=Role.FRONT_DESK)
    permissions_before = set(group.permissions.values_list("pk", flat=True))
    response = as_clinic_admin.post(
        admin_url("auth.Group", "change", group.pk),
        {"name": "Renamed", "permissions": [p.pk for p in Permission.objects.all()]},
    )
    assert response.status_code == 403
    group.refresh_from_db()
    assert group.name == Role.FRONT_DESK
    assert set(group.permissions.values_list("pk", flat=True)) == permissions_before


def test_clinic_admin_cannot_create_roles(as_clinic_admin):
    response = as_clinic_admin.post(admin_url("auth.Group", "add"), {"name": "Super staff"})
    assert response.status_code == 403
    assert not Group.objects.filter(name="Super staff").exists()


# --- Who is let in ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "visitor", [None, "patient_user", "doctor_user"], ids=lambda v: v or "anonymous"
)
@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:index"),
        reverse("admin:doctors_doctor_changelist"),
        reverse("admin:accounts_patient_add"),
    ],
)
def test_non_staff_are_sent_to_the_admin_login(client, request, visitor, url):
    if visitor:
        client.force_login(request.getfixturevalue(visitor))
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("visitor", ["patient_user", "doctor_user"])
def test_non_staff_cannot_add_through_the_admin(client, request, visitor):
    client.force_login(request.getfixturevalue(visitor))
    response = client.post(
        reverse("admin:doctors_department_add"),
        {"name": "Sneaky", "opens_at": "09:00", "closes_at": "17:00"},
    )
    assert response.status_code == 302
    assert not Department.objects.filter(name="Sneaky").exists()


def test_front_desk_reaches_the_patient_directory(client, front_desk_user):
    PatientFactory(full_name="Walk In Wanda")
    client.force_login(front_desk_user)
    changelist = client.get(reverse("admin:accounts_patient_changelist"))
    assert changelist.status_code == 200
    assert "Walk In Wanda" in text_of(changelist)
    assert client.get(reverse("admin:accounts_patient_add")).status_code == 200


def test_front_desk_can_add_a_walk_in_patient(client, front_desk_user):
    client.force_login(front_desk_user)
    response = client.post(
        reverse("admin:accounts_patient_add"),
        {
            "full_name": "Walk In Wanda",
            "date_of_birth": "1980-05-17",
            "sex": Patient.Sex.FEMALE,
            "phone": "+91 98000 12345",
            "email": "",
            "user": "",
        },
    )
    assert response.status_code == 302
    patient = Patient.objects.get(full_name="Walk In Wanda")
    assert patient.created_by == front_desk_user
    assert patient.phone == "+919800012345"


def test_front_desk_may_view_but_not_add_doctors(client, front_desk_user):
    client.force_login(front_desk_user)
    assert client.get(reverse("admin:doctors_doctor_changelist")).status_code == 200
    assert client.get(reverse("admin:doctors_doctor_add")).status_code == 403


def test_front_desk_cannot_reach_user_accounts(client, front_desk_user):
    client.force_login(front_desk_user)
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    assert client.get(reverse("admin:accounts_user_add")).status_code == 403


# --- Bad input in admin forms saves nothing --------------------------------------------------


def no_inline_rows(prefix):
    """An inline's management form with no rows."""
    return {
        f"{prefix}-TOTAL_FORMS": "0",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def department_data(**overrides):
    return {
        "name": "Cardiology",
        "description": "",
        "opens_at": "09:00",
        "closes_at": "17:00",
        **no_inline_rows("visit_types"),
        **overrides,
    }


def test_admin_saves_a_valid_department(as_clinic_admin):
    response = as_clinic_admin.post(reverse("admin:doctors_department_add"), department_data())
    assert response.status_code == 302
    department = Department.objects.get(name="Cardiology")
    assert (department.opens_at, department.closes_at) == (
        datetime.time(9, 0),
        datetime.time(17, 0),
    )


@pytest.mark.parametrize("closes_at", ["08:00", "09:00"], ids=["before", "equal"])
def test_admin_refuses_department_closing_before_opening(as_clinic_admin, closes_at):
    response = as_clinic_admin.post(
        reverse("admin:doctors_department_add"), department_data(closes_at=closes_at)
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["closes_at"] == ["The closing time must be after the opening time."]
    assert "The closing time must be after the opening time." in text_of(response)
    assert not Department.objects.exists()


def test_admin_refuses_department_name_taken_in_other_case(as_clinic_admin):
    DepartmentFactory(name="Cardiology")
    response = as_clinic_admin.post(
        reverse("admin:doctors_department_add"), department_data(name="CARDIOLOGY")
    )
    assert response.status_code == 200
    assert "A department with this name already exists." in text_of(response)
    assert Department.objects.count() == 1


def clinic_data(**overrides):
    return {
        "name": "Central Clinic",
        "address": "1 MG Road, Bengaluru",
        "phone": "",
        "email": "",
        "timezone": "Asia/Kolkata",
        **overrides,
    }


def test_admin_saves_a_valid_clinic(as_clinic_admin):
    response = as_clinic_admin.post(reverse("admin:doctors_clinic_add"), clinic_data())
    assert response.status_code == 302
    assert Clinic.objects.get(name="Central Clinic").timezone == "Asia/Kolkata"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "asia/kolkata"])
def test_admin_refuses_clinic_with_bogus_time_zone(as_clinic_admin, zone):
    response = as_clinic_admin.post(reverse("admin:doctors_clinic_add"), clinic_data(timezone=zone))
    assert response.status_code == 200
    assert "timezone" in response.context["adminform"].form.errors
    assert not Clinic.objects.exists()


def doctor_data(department, clinic=None, hours=(), **overrides):
    """The doctor add form, with `hours` as (weekday, "HH:MM", "HH:MM") inline rows."""
    data = {
        "full_name": "Dr Asha Rao",
        "department": department.pk,
        "qualifications": "MBBS",
        "bio": "",
        "is_active": "on",
        "registration_number": "KMC-2024-001",
        "registration_expires_on": str(timezone.localdate() + datetime.timedelta(days=365)),
        "consultation_fee": "600.00",
        "slot_minutes": "15",
        "user": "",
        "working_hours-TOTAL_FORMS": str(len(hours)),
        "working_hours-INITIAL_FORMS": "0",
        "working_hours-MIN_NUM_FORMS": "0",
        "working_hours-MAX_NUM_FORMS": "1000",
        **no_inline_rows("visit_types"),
    }
    for index, (weekday, starts_at, ends_at) in enumerate(hours):
        data.update(
            {
                f"working_hours-{index}-id": "",
                f"working_hours-{index}-doctor": "",
                f"working_hours-{index}-clinic": clinic.pk,
                f"working_hours-{index}-weekday": str(weekday),
                f"working_hours-{index}-starts_at": starts_at,
                f"working_hours-{index}-ends_at": ends_at,
            }
        )
    data.update(overrides)
    return data


def test_admin_saves_a_doctor_with_a_break_in_the_day(as_clinic_admin):
    department, clinic = DepartmentFactory(), ClinicFactory()
    hours = [(0, "09:00", "12:00"), (0, "12:00", "14:00"), (0, "15:00", "18:00")]
    data = doctor_data(department, clinic, hours=hours)
    response = as_clinic_admin.post(reverse("admin:doctors_doctor_add"), data)
    assert response.status_code == 302
    doctor = Doctor.objects.get(registration_number="KMC-2024-001")
    assert doctor.working_hours.count() == 3


def test_admin_upper_cases_the_registration_number(as_clinic_admin):
    response = as_clinic_admin.post(
        reverse("admin:doctors_doctor_add"),
        doctor_data(DepartmentFactory(), registration_number="  kmc-2024-001 "),
    )
    assert response.status_code == 302
    assert Doctor.objects.get().registration_number == "KMC-2024-001"


def test_admin_refuses_duplicate_registration_number_in_other_case(as_clinic_admin):
    existing = DoctorFactory(registration_number="KMC-2024-001")
    response = as_clinic_admin.post(
        reverse("admin:doctors_doctor_add"),
        doctor_data(DepartmentFactory(), registration_number="kmc-2024-001"),
    )
    assert response.status_code == 200
    assert "registration_number" in response.context["adminform"].form.errors
    assert list(Doctor.objects.all()) == [existing]


@pytest.mark.parametrize(
    "hours",
    [
        [(2, "09:00", "12:00"), (2, "11:00", "14:00")],
        [(2, "09:00", "17:00"), (2, "12:00", "13:00")],
        [(2, "09:00", "12:00"), (3, "09:00", "12:00"), (2, "09:00", "12:00")],
    ],
    ids=["overlapping", "inside", "same-start"],
)
def test_admin_refuses_doctor_whose_inline_hours_overlap(as_clinic_admin, hours):
    department, clinic = DepartmentFactory(), ClinicFactory()
    response = as_clinic_admin.post(
        reverse("admin:doctors_doctor_add"), doctor_data(department, clinic, hours=hours)
    )
    assert response.status_code == 200
    formset, _visit_types = [inline.formset for inline in response.context["inline_admin_formsets"]]
    assert formset.non_form_errors()
    assert not Doctor.objects.exists()
    assert not WorkingHours.objects.exists()


def test_admin_reports_overlapping_inline_hours_by_weekday(as_clinic_admin):
    department, clinic = DepartmentFactory(), ClinicFactory()
    response = as_clinic_admin.post(
        reverse("admin:doctors_doctor_add"),
        doctor_data(department, clinic, hours=[(2, "09:00", "12:00"), (2, "11:00", "14:00")]),
    )
    assert "Working hours on Wednesday overlap each other." in text_of(response)


def test_admin_refuses_new_hours_overlapping_a_doctors_saved_hours(as_clinic_admin):
    existing = WorkingHoursFactory(weekday=0, starts_at=datetime.time(9), ends_at=datetime.time(13))
    response = as_clinic_admin.post(
        reverse("admin:doctors_workinghours_add"),
        {
            "doctor": existing.doctor.pk,
            "clinic": ClinicFactory().pk,
            "weekday": "0",
            "starts_at": "12:00",
            "ends_at": "15:00",
        },
    )
    assert response.status_code == 200
    assert "overlap other working hours" in text_of(response)
    assert WorkingHours.objects.count() == 1


def test_admin_accepts_shortening_hours_and_adding_the_freed_time_in_one_save(as_clinic_admin):
    row = WorkingHoursFactory(weekday=0, starts_at=datetime.time(9), ends_at=datetime.time(13))
    doctor, clinic = row.doctor, row.clinic
    data = doctor_data(
        doctor.department,
        clinic,
        hours=[(0, "09:00", "12:00"), (0, "12:00", "14:00")],
        full_name=doctor.full_name,
        registration_number=doctor.registration_number,
    )
    data.update(
        {"working_hours-INITIAL_FORMS": "1", "working_hours-0-id": row.pk}
        | {f"working_hours-{i}-doctor": doctor.pk for i in (0, 1)}
    )
    response = as_clinic_admin.post(reverse("admin:doctors_doctor_change", args=[doctor.pk]), data)
    assert response.status_code == 302
    assert sorted(doctor.working_hours.values_list("starts_at", "ends_at")) == [
        (datetime.time(9), datetime.time(12)),
        (datetime.time(12), datetime.time(14)),
    ]


# --- Users: a clinic admin cannot hand out superuser status ---------------------------------


def user_change_data(user, **overrides):
    return {
        "email": user.email,
        "full_name": user.full_name,
        "phone": user.phone,
        "is_active": "on",
        "groups": [group.pk for group in user.groups.all()],
        **overrides,
    }


def test_user_change_form_shows_superuser_status_read_only_to_clinic_admin(as_clinic_admin):
    user = UserFactory()
    response = as_clinic_admin.get(reverse("admin:accounts_user_change", args=[user.pk]))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "is_superuser" not in form.fields
    assert "user_permissions" not in form.fields
    assert 'name="is_superuser"' not in response.content.decode()


def test_clinic_admin_cannot_make_anyone_superuser(as_clinic_admin, clinic_admin_user):
    user = UserFactory(full_name="Old Name")
    permission = Permission.objects.get(codename="delete_doctor")
    for target in (user, clinic_admin_user):
        response = as_clinic_admin.post(
            reverse("admin:accounts_user_change", args=[target.pk]),
            user_change_data(
                target,
                full_name="New Name",
                is_staff="on",
                is_superuser="on",
                user_permissions=[permission.pk],
            ),
        )
        # The form was valid and saved, but without the fields a clinic admin may not set.
        assert response.status_code == 302
        target.refresh_from_db()
        assert target.full_name == "New Name"
        assert target.is_superuser is False
        assert not target.user_permissions.exists()


def test_clinic_admin_cannot_change_a_superusers_password_or_details(as_clinic_admin):
    superuser = User.objects.create_superuser(email="owner@example.com", password="old-secret-1")
    password_url = reverse("admin:auth_user_password_change", args=[superuser.pk])
    response = as_clinic_admin.post(
        password_url,
        {"password1": "taken-over-9", "password2": "taken-over-9", "usable_password": "true"},
    )
    assert response.status_code == 403
    response = as_clinic_admin.post(
        reverse("admin:accounts_user_change", args=[superuser.pk]),
        user_change_data(superuser, email="attacker@example.com"),
    )
    assert response.status_code == 403
    superuser.refresh_from_db()
    assert superuser.check_password("old-secret-1")
    assert superuser.email == "owner@example.com"


def test_clinic_admin_creates_a_front_desk_login(as_clinic_admin):
    response = as_clinic_admin.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "Desk@Example.com",
            "full_name": "Desk Person",
            "usable_password": "true",
            "password1": "a-long-unusual-passphrase",
            "password2": "a-long-unusual-passphrase",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email__iexact="desk@example.com")
    assert user.is_superuser is False
    assert user.check_password("a-long-unusual-passphrase")


# --- The site is titled for the clinic -------------------------------------------------------


def test_admin_titles_carry_the_clinic_name(as_clinic_admin):
    assert settings.CLINIC_NAME in admin.site.site_header
    with override_settings(CLINIC_NAME="Sunrise Health"):
        response = as_clinic_admin.get(reverse("admin:index"))
    text = text_of(response)
    assert "<title>" in text
    title = text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "Sunrise Health" in title
    assert "Sunrise Health administration" in text


def test_admin_login_page_carries_the_clinic_name(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 200
    assert settings.CLINIC_NAME in text_of(response)
