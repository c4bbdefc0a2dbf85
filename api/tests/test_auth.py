"""POST/DELETE /api/v1/auth/token/ and GET /api/v1/me/, for each kind of login."""

import datetime as dt
import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.sessions.models import Session
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.roles import Role
from accounts.services import end_all_sessions
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.two_factor import new_backup_codes
from api.tests.factories import client_for, client_with_token, token_for

pytestmark = pytest.mark.django_db


def log_in(email, password=DEFAULT_PASSWORD, **extra):
    return APIClient(REMOTE_ADDR="203.0.113.7").post(
        reverse("api:token"), {"email": email, "password": password, **extra}, format="json"
    )


def code_for(device):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def test_a_patient_logs_in_and_gets_a_token_shown_once(patient_user, settings):
    response = log_in(patient_user.email)
    assert response.status_code == 201
    body = response.json()
    token = body["token"]
    stored = AuthToken.objects.get(user=patient_user)
    assert token not in (stored.digest, stored.token_key)  # kept only as a digest
    assert token.startswith(stored.token_key) and body["token_prefix"] == stored.token_key
    expiry = dt.datetime.fromisoformat(body["expiry"])
    expected = timezone.now() + dt.timedelta(hours=settings.API_TOKEN_TTL_HOURS)
    assert abs(expiry - expected) < dt.timedelta(minutes=1)
    assert body["user"]["id"] == patient_user.pk
    me = client_with_token(token).get(reverse("api:me"))
    assert me.status_code == 200 and me.json()["email"] == patient_user.email


def test_the_email_is_matched_as_the_login_page_matches_it(patient_user):
    assert log_in(f"  {patient_user.email}  ").status_code == 201


def test_a_wrong_password_is_401_and_counted_by_axes(patient_user):
    response = log_in(patient_user.email, "wrong password")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert not AuthToken.objects.exists()
    assert AccessAttempt.objects.filter(username=patient_user.email).exists()


def test_an_unknown_login_gets_the_same_answer_as_a_wrong_password(db):
    response = log_in("nobody@example.com")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_an_inactive_login_gets_no_token(patient_user):
    patient_user.is_active = False
    patient_user.save(update_fields=["is_active"])
    assert log_in(patient_user.email).status_code == 401


def test_after_too_many_failures_even_the_right_password_is_locked_out(patient_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        log_in(patient_user.email, "wrong password")
    response = log_in(patient_user.email)
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "locked_out"
    assert int(response["Retry-After"]) > 0
    assert not AuthToken.objects.exists()


def test_a_success_clears_earlier_failures(patient_user):
    log_in(patient_user.email, "wrong password")
    assert log_in(patient_user.email).status_code == 201
    assert not AccessAttempt.objects.filter(username=patient_user.email).exists()


def test_an_integration_login_has_no_password_to_log_in_with(integration):
    assert log_in(integration.email, "").status_code == 400
    assert log_in(integration.email, "anything").status_code == 401


@pytest.fixture
def desk_device(front_desk_user):
    return TOTPDevice.objects.create(user=front_desk_user, name="app", confirmed=True)


def test_staff_with_codes_must_send_one(front_desk_user, desk_device):
    response = log_in(front_desk_user.email)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "two_factor_required"
    assert not AuthToken.objects.exists()


def test_a_wrong_code_is_refused(front_desk_user, desk_device):
    response = log_in(front_desk_user.email, otp_code="000000")
    wrong = "000000" != code_for(desk_device)
    assert response.status_code == (401 if wrong else 201)
    if wrong:
        assert response.json()["error"]["code"] == "two_factor_invalid"


def test_the_current_code_gets_a_token(front_desk_user, desk_device):
    response = log_in(front_desk_user.email, otp_code=code_for(desk_device))
    assert response.status_code == 201
    assert response.json()["user"]["roles"] == [Role.FRONT_DESK]


def test_a_backup_code_works_once(front_desk_user, desk_device):
    code = new_backup_codes(front_desk_user)[0]
    assert log_in(front_desk_user.email, otp_code=code).status_code == 201
    assert log_in(front_desk_user.email, otp_code=code).status_code == 401


def test_a_clinic_admin_without_codes_is_refused_when_codes_are_required(
    clinic_admin_user, settings
):
    settings.OTP_REQUIRED_FOR_CLINIC_ADMINS = True
    response = log_in(clinic_admin_user.email)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "two_factor_setup_required"


def test_a_clinic_admin_without_codes_logs_in_when_codes_are_optional(clinic_admin_user):
    assert log_in(clinic_admin_user.email).status_code == 201


def test_patients_are_never_asked_for_a_code(patient_user):
    assert log_in(patient_user.email, otp_code="junk").status_code == 201


def test_delete_revokes_only_the_token_sent(patient_user):
    kept = token_for(patient_user)
    revoked = token_for(patient_user)
    response = client_with_token(revoked).delete(reverse("api:token"))
    assert response.status_code == 204
    assert client_with_token(revoked).get(reverse("api:me")).status_code == 401
    assert client_with_token(kept).get(reverse("api:me")).status_code == 200


def test_delete_without_a_token_is_401(patient_user):
    client = APIClient()
    client.force_login(patient_user)  # a session mints and revokes no tokens
    response = client.delete(reverse("api:token"))
    assert response.status_code == 401


def test_logging_in_is_throttled_per_address(patient_user, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "api_login": "2/m",
        },
    }
    assert log_in(patient_user.email).status_code == 201
    assert log_in(patient_user.email).status_code == 201
    response = log_in(patient_user.email)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"


# /me/ -------------------------------------------------------------------------------------------


def test_me_for_a_patient(patient_user):
    body = client_for(patient_user).get(reverse("api:me")).json()
    assert body == {
        "id": patient_user.pk,
        "email": patient_user.email,
        "full_name": patient_user.full_name,
        "roles": [Role.PATIENT],
        "patient_id": patient_user.patient.pk,
        "doctor_id": None,
    }


def test_me_for_a_doctor(doctor_user):
    body = client_for(doctor_user).get(reverse("api:me")).json()
    assert body["roles"] == [Role.DOCTOR]
    assert body["doctor_id"] == doctor_user.doctor.pk
    assert body["patient_id"] is None


@pytest.mark.parametrize(
    "fixture, roles",
    [
        ("front_desk_user", [Role.FRONT_DESK]),
        ("clinic_admin_user", [Role.CLINIC_ADMIN]),
        ("integration", [Role.FRONT_DESK]),
    ],
)
def test_me_for_staff_and_integrations(request, fixture, roles):
    user = request.getfixturevalue(fixture)
    body = client_for(user).get(reverse("api:me")).json()
    assert body["roles"] == roles
    assert body["patient_id"] is None and body["doctor_id"] is None


def test_me_with_several_roles_lists_them_all(db):
    user = UserFactory(roles=[Role.FRONT_DESK, Role.DOCTOR])
    assert client_for(user).get(reverse("api:me")).json()["roles"] == sorted(
        [Role.DOCTOR, Role.FRONT_DESK]
    )


def test_me_answers_in_a_fixed_number_of_queries(patient_user, django_assert_max_num_queries):
    client = client_for(patient_user)
    with django_assert_max_num_queries(5):
        assert client.get(reverse("api:me")).status_code == 200


def test_me_is_not_kept_by_caches(patient_user):
    response = client_for(patient_user).get(reverse("api:me"))
    assert "no-store" in response["Cache-Control"]


# The portal's session -----------------------------------------------------------------------------


def test_the_portals_session_works_for_reads(patient_user):
    client = APIClient()
    client.force_login(patient_user)
    assert client.get(reverse("api:me")).json()["id"] == patient_user.pk


def test_a_session_write_needs_the_csrf_token(patient_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(patient_user)
    # Any write through a session is checked; the token endpoint takes no session, so the
    # check is seen on a view that does: a refused write never reaches the view.
    response = client.post(reverse("api:departments"), {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert "CSRF" in response.json()["error"]["message"]


# Tokens end with the login's other credentials -----------------------------------------------

NEW_PASSWORD = "Violet-Harbour-2718"
RESET_LINK = re.compile(r"https?://testserver(/accounts/password/reset/[^/\s]+/[^/\s]+/)")


def page_login(user, password=DEFAULT_PASSWORD):
    # Through the login page: django-axes needs the request that client.login() would not pass.
    client = Client()
    client.post(reverse("accounts:login"), {"username": user.email, "password": password})
    return client


def token_works(token):
    return client_with_token(token).get(reverse("api:me")).status_code == 200


@pytest.fixture
def tokens(patient_user, other_patient_user):
    """Two tokens of the patient's (a phone and a tablet) and one of someone else's."""
    return token_for(patient_user), token_for(patient_user), token_for(other_patient_user)


def assert_only_the_other_login_keeps_its_token(tokens):
    phone, tablet, someone_elses = tokens
    assert not token_works(phone) and not token_works(tablet)
    assert token_works(someone_elses)
    assert AuthToken.objects.count() == 1


def test_log_out_everywhere_revokes_the_logins_api_tokens(patient_user, tokens):
    response = page_login(patient_user).post(reverse("accounts:logout_everywhere"))

    assert response.status_code == 302
    assert_only_the_other_login_keeps_its_token(tokens)


def test_a_password_change_revokes_the_logins_api_tokens(patient_user, tokens):
    client = page_login(patient_user)

    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": DEFAULT_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert_only_the_other_login_keeps_its_token(tokens)
    assert client.get(reverse("accounts:profile")).status_code == 200  # this session stays
    assert log_in(patient_user.email, NEW_PASSWORD).status_code == 201


def test_a_refused_password_change_leaves_the_tokens(patient_user, tokens):
    page_login(patient_user).post(
        reverse("accounts:password_change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert all(token_works(token) for token in tokens)


def test_a_password_reset_revokes_the_logins_api_tokens(client, mailoutbox, patient_user, tokens):
    client.post(reverse("accounts:password_reset"), {"email": patient_user.email})
    [link] = RESET_LINK.findall(mailoutbox[0].body)
    set_password_url = client.get(link).url

    response = client.post(
        set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert response["Location"] == reverse("accounts:password_reset_complete")
    assert_only_the_other_login_keeps_its_token(tokens)


def test_a_two_factor_reset_in_the_admin_revokes_the_logins_api_tokens(
    client, clinic_admin_user, front_desk_user, other_patient_user
):
    TOTPDevice.objects.create(user=front_desk_user, name="lost phone", confirmed=True)
    lost_phones = token_for(front_desk_user)
    someone_elses = token_for(other_patient_user)
    client.force_login(clinic_admin_user)

    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_lost_two_factor", "_selected_action": [front_desk_user.pk]},
    )

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=front_desk_user).exists()
    assert not token_works(lost_phones)
    assert token_works(someone_elses)


def test_a_revocation_that_rolls_back_keeps_the_tokens(patient_user, tokens):
    with pytest.raises(RuntimeError), transaction.atomic():
        end_all_sessions(user=patient_user)
        raise RuntimeError("the change around it failed")

    assert all(token_works(token) for token in tokens)


# A token login is not a session login -------------------------------------------------------


def test_a_token_login_sets_no_session_cookie_and_writes_no_session(patient_user):
    response = log_in(patient_user.email)

    assert response.status_code == 201
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert not Session.objects.exists()


def test_a_token_login_still_sets_last_login_and_clears_failures_only_from_that_address(
    patient_user,
):
    elsewhere = APIClient(REMOTE_ADDR="198.51.100.9")
    elsewhere.post(
        reverse("api:token"), {"email": patient_user.email, "password": "wrong"}, format="json"
    )
    log_in(patient_user.email, "wrong password")

    assert log_in(patient_user.email.upper()).status_code == 201

    patient_user.refresh_from_db()
    assert patient_user.last_login is not None
    assert abs(timezone.now() - patient_user.last_login) < dt.timedelta(minutes=1)
    remaining = AccessAttempt.objects.filter(username=patient_user.email)
    assert list(remaining.values_list("ip_address", flat=True)) == ["198.51.100.9"]


def test_a_page_login_still_starts_the_idle_clock(patient_user):
    client = page_login(patient_user)

    assert get_user(client).is_authenticated
    assert Session.objects.count() == 1
    assert "_logged_in_at" in client.session


def test_a_password_set_by_a_clinic_admin_in_the_admin_revokes_the_logins_api_tokens(
    client, clinic_admin_user, patient_user, tokens
):
    client.force_login(clinic_admin_user)

    response = client.post(
        reverse("admin:auth_user_password_change", args=[patient_user.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    assert response.status_code == 302, response.content
    assert_only_the_other_login_keeps_its_token(tokens)
