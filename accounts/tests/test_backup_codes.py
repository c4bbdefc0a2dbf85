"""Two-factor recovery: one-time backup codes for staff (django-otp's static device), and a clinic
admin's reset of a lost authenticator in the admin, recorded in the audit trail."""

import re

import pytest
from auditlog.models import LogEntry
from django.contrib.auth import get_user
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.pages import page_text
from accounts.two_factor import BACKUP_CODE_COUNT, new_backup_codes

pytestmark = pytest.mark.django_db

SETUP = reverse("accounts:two_factor")
VERIFY = reverse("accounts:two_factor_verify")
NEW_CODES = reverse("accounts:two_factor_backup_codes")
USERS = reverse("admin:accounts_user_changelist")
CODE_ITEM = re.compile(r"<li>([a-z2-7]{8})</li>")


def code_for(device):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def log_in(client, user):
    client.post(reverse("accounts:login"), {"username": user.email, "password": DEFAULT_PASSWORD})


def shown_codes(response):
    return CODE_ITEM.findall(response.content.decode())


@pytest.fixture
def staff_with_device(front_desk_user):
    device = TOTPDevice.objects.create(user=front_desk_user, name="app", confirmed=True)
    return front_desk_user, device


def test_turning_codes_on_shows_the_backup_codes_once(client, front_desk_user):
    client.force_login(front_desk_user)
    client.get(SETUP)
    pending = TOTPDevice.objects.get(user=front_desk_user, confirmed=False)

    turned_on = client.post(SETUP, {"token": code_for(pending)})

    codes = shown_codes(turned_on)
    assert len(set(codes)) == BACKUP_CODE_COUNT
    stored = StaticToken.objects.filter(device__user=front_desk_user)
    assert sorted(stored.values_list("token", flat=True)) == sorted(codes)
    later = client.get(SETUP)
    assert shown_codes(later) == []
    assert f"<strong>{BACKUP_CODE_COUNT}</strong> unused backup codes" in page_text(later)


def test_a_backup_code_lets_a_login_in_once(client, staff_with_device):
    user, _ = staff_with_device
    first, second, *_ = new_backup_codes(user)
    log_in(client, user)

    answer = client.post(VERIFY, {"token": first, "next": reverse("desk:queue")})

    assert answer["Location"] == reverse("desk:queue")
    assert client.get(reverse("desk:queue")).status_code == 200
    assert not StaticToken.objects.filter(token=first).exists()

    client.logout()
    log_in(client, user)
    again = client.post(VERIFY, {"token": first})
    assert again.status_code == 200
    assert "That code is not right" in page_text(again)
    assert client.get(reverse("desk:queue"))["Location"].startswith(VERIFY)
    StaticDevice.objects.filter(user=user).get().throttle_reset()  # django-otp's own pause
    # Typed from a printout: capitals and a space are fine.
    spaced = f"{second[:4].upper()} {second[4:].upper()}"
    assert client.post(VERIFY, {"token": spaced})["Location"] == reverse("desk:queue")


def test_another_logins_backup_code_does_not_work(client, staff_with_device):
    user, _ = staff_with_device
    other = UserFactory(is_staff=True)
    [foreign, *_] = new_backup_codes(other)
    log_in(client, user)

    response = client.post(VERIFY, {"token": foreign})

    assert response.status_code == 200
    assert client.get(reverse("desk:queue"))["Location"].startswith(VERIFY)
    assert StaticToken.objects.filter(token=foreign).exists()


def test_new_backup_codes_replace_the_old_ones(client, staff_with_device):
    user, device = staff_with_device
    old = new_backup_codes(user)
    log_in(client, user)
    client.post(VERIFY, {"token": code_for(device)})

    response = client.post(NEW_CODES)

    new = shown_codes(response)
    assert len(new) == BACKUP_CODE_COUNT
    assert not set(new) & set(old)
    assert sorted(StaticToken.objects.values_list("token", flat=True)) == sorted(new)
    assert client.get(NEW_CODES).status_code == 405


def test_new_backup_codes_need_a_session_that_gave_its_code(client, staff_with_device):
    user, _ = staff_with_device
    old = new_backup_codes(user)
    log_in(client, user)

    response = client.post(NEW_CODES)

    assert response["Location"].startswith(VERIFY)
    assert sorted(StaticToken.objects.values_list("token", flat=True)) == sorted(old)


@pytest.mark.parametrize("visitor", ["patient_user", "doctor_user", "front_desk_user"])
def test_logins_without_an_authenticator_get_no_backup_codes(client, request, visitor):
    client.force_login(request.getfixturevalue(visitor))

    assert client.post(NEW_CODES).status_code == 404
    assert not StaticDevice.objects.exists()


def test_turning_codes_off_removes_the_backup_codes(client, staff_with_device):
    user, device = staff_with_device
    new_backup_codes(user)
    log_in(client, user)
    client.post(VERIFY, {"token": code_for(device)})
    device.refresh_from_db()
    device.last_t = -1  # the same 30-second code may be given again in this test
    device.save()

    client.post(SETUP, {"token": code_for(device)})

    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticDevice.objects.filter(user=user).exists()


# --- A clinic admin resets a lost authenticator in the admin ------------------------------------


def reset_in_admin(client, *users):
    return client.post(
        USERS,
        {"action": "reset_lost_two_factor", "_selected_action": [user.pk for user in users]},
    )


def test_a_clinic_admin_resets_a_lost_authenticator_with_an_audit_entry(
    client, staff_with_device, clinic_admin_user
):
    user, _ = staff_with_device
    new_backup_codes(user)
    lost_phone = client.__class__()
    log_in(lost_phone, user)
    client.force_login(clinic_admin_user)

    response = reset_in_admin(client, user)

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticDevice.objects.filter(user=user).exists()
    entry = LogEntry.objects.get(object_pk=str(user.pk), additional_data__isnull=False)
    assert entry.additional_data["event"] == "two-factor codes reset"
    assert entry.actor == clinic_admin_user
    # Sessions open on the lost phone end.
    assert not get_user(lost_phone).is_authenticated
    # The staff member logs in with their password alone, and may set up a new phone.
    client.logout()
    log_in(client, user)
    assert client.get(reverse("desk:queue")).status_code == 200


@pytest.mark.parametrize("visitor", ["front_desk_user", "doctor_user", "patient_user"])
def test_only_clinic_admins_may_reset_two_factor_codes(client, request, staff_with_device, visitor):
    user, _ = staff_with_device
    new_backup_codes(user)
    actor = request.getfixturevalue(visitor)
    if actor == user:
        actor = UserFactory(is_staff=True, roles=["Front desk"])
    client.force_login(actor)

    reset_in_admin(client, user)

    assert TOTPDevice.objects.filter(user=user).exists()
    assert StaticToken.objects.filter(device__user=user).count() == BACKUP_CODE_COUNT
    assert not LogEntry.objects.filter(additional_data__event="two-factor codes reset").exists()
    listing = client.get(USERS)
    assert "reset_lost_two_factor" not in listing.content.decode()


def test_a_clinic_admin_cannot_reset_a_superusers_codes(client, clinic_admin_user):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    TOTPDevice.objects.create(user=superuser, name="app", confirmed=True)
    client.force_login(clinic_admin_user)

    reset_in_admin(client, superuser)

    assert TOTPDevice.objects.filter(user=superuser).exists()


def test_the_admin_offers_no_page_of_anyones_backup_codes(client, clinic_admin_user):
    client.force_login(clinic_admin_user)

    assert client.get("/admin/otp_static/staticdevice/").status_code == 404
