"""Closing an account takes the patient's old details out of the audit trail's earlier entries.

The entries themselves stay (what happened, when, and who did it); only the personal values they
recorded at the time (every name, email, phone and birthday the patient ever had) are replaced.
"""

import json
import re

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Patient, User
from clinic import privacy

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-Passphrase-42"
SIGNED_UP = {
    "full_name": "Philippa Ravenscroft",
    "email": "philippa.ravenscroft@example.com",
    "date_of_birth": "1987-06-23",
    "sex": "female",
    "phone": "+919845512376",
}
FIRST_EDIT = {
    "full_name": "Philippa Ravenscroft-Oyelaran",
    "date_of_birth": "1987-06-24",
    "sex": "female",
    "phone": "+919845599021",
    "email_reminders": "on",
}
SECOND_EDIT = {
    "full_name": "Pippa Oyelaran",
    "date_of_birth": "1987-07-24",
    "sex": "female",
    "phone": "+917700934158",
}
NEW_EMAIL = "pippa.oyelaran@example.net"


def old_values():
    """Everything the patient was ever known by, in the forms the trail could hold it."""
    values = {NEW_EMAIL}
    for details in (SIGNED_UP, FIRST_EDIT, SECOND_EDIT):
        values |= {details["full_name"], details["phone"], details["phone"].removeprefix("+")}
        values.add(details["date_of_birth"])
        values |= set(details["full_name"].replace("-", " ").split())
    values.add(SIGNED_UP["email"])
    return values


def entry_text(entry):
    return json.dumps(
        [
            entry.object_repr,
            entry.changes,
            entry.changes_text,
            entry.additional_data,
            entry.serialized_data,
            entry.actor_email,
        ],
        default=str,
    ).lower()


def leaks():
    return {
        (entry.pk, value)
        for entry in LogEntry.objects.all()
        for value in old_values()
        if value.lower() in entry_text(entry)
    }


def snapshot():
    return {
        entry.pk: (entry.action, entry.timestamp, entry.actor_id, entry.object_pk, entry.cid)
        for entry in LogEntry.objects.all()
    }


def sign_up(details):
    """Signs up as a visitor does, confirming by the link in the email; a logged-in client."""
    client = Client()
    mail.outbox.clear()
    response = client.post(
        reverse("accounts:signup"), {**details, "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    (email,) = [message for message in mail.outbox if details["email"] in message.to]
    link = re.search(r"https?://[^/\s]+(/\S*/signup/confirm/\S+)", email.body).group(1)
    response = client.post(link, {"password": PASSWORD})
    assert response.status_code == 302
    return client


@pytest.fixture
def history(clinic_admin_user):
    """A patient signs up, looks at their data, edits their profile twice, and a clinic admin
    corrects their contact email in the admin: each step leaves entries in the audit trail."""
    patient_client = sign_up(SIGNED_UP)
    patient = Patient.objects.get(email=SIGNED_UP["email"])
    patient_client.post(reverse("privacy:export"))
    for edit in (FIRST_EDIT, SECOND_EDIT):
        response = patient_client.post(reverse("accounts:profile"), edit)
        assert response["Location"] == reverse("accounts:profile")  # saved, not sent to log in

    admin = Client()
    admin.force_login(clinic_admin_user)
    change_url = reverse("admin:accounts_patient_change", args=[patient.pk])
    assert admin.get(change_url).status_code == 200
    response = admin.post(change_url, {**SECOND_EDIT, "email": NEW_EMAIL, "user": patient.user_id})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.email == NEW_EMAIL
    return patient, patient_client


def test_the_history_does_record_the_old_details_before_closing(history):
    # Otherwise the test below would prove nothing.
    found = {value for _, value in leaks()}
    assert {SIGNED_UP["full_name"], SIGNED_UP["email"], FIRST_EDIT["phone"], NEW_EMAIL} <= found
    assert SIGNED_UP["date_of_birth"] in found


def test_closing_removes_every_old_detail_from_every_earlier_entry(history):
    _, patient_client = history
    before = snapshot()

    response = patient_client.post(
        reverse("privacy:close"), {"password": PASSWORD, "confirm": "on"}
    )

    assert response.status_code == 302
    assert leaks() == set()
    # The entries stay, with their actions, times and actors; closing adds its own event.
    after = snapshot()
    assert {pk: after[pk] for pk in before} == before
    assert len(after) == len(before) + 1


def test_the_entries_still_say_which_fields_changed(history):
    patient, _ = history
    user = patient.user

    privacy.close_patient_account(patient=patient)

    patient_type = ContentType.objects.get_for_model(Patient)
    edits = LogEntry.objects.filter(
        content_type=patient_type,
        object_pk=str(patient.pk),
        action=LogEntry.Action.UPDATE,
    )
    changed = [set(entry.changes) for entry in edits]
    assert any({"full_name", "phone", "date_of_birth"} <= fields for fields in changed)
    assert any("email" in fields for fields in changed)
    for entry in edits:
        for field in {"full_name", "phone", "date_of_birth", "email"} & set(entry.changes):
            assert entry.changes[field] == [privacy.REDACTED, privacy.REDACTED]
    login_entries = LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_pk=str(user.pk)
    )
    assert login_entries.exists()
    assert {entry.object_repr for entry in login_entries} == {User.objects.get(pk=user.pk).email}


def test_a_close_that_fails_at_the_last_step_redacts_nothing(history, monkeypatch):
    patient, _ = history
    before = {entry.pk: entry_text(entry) for entry in LogEntry.objects.all()}
    redact = LogEntry.objects.bulk_update

    def redact_then_fail(*args, **kwargs):
        redact(*args, **kwargs)
        raise RuntimeError("the database went away")

    monkeypatch.setattr(LogEntry.objects, "bulk_update", redact_then_fail)
    with pytest.raises(RuntimeError):
        privacy.close_patient_account(patient=patient)

    assert {entry.pk: entry_text(entry) for entry in LogEntry.objects.all()} == before
    assert Patient.objects.get(pk=patient.pk).full_name == SECOND_EDIT["full_name"]


def test_other_patients_entries_are_left_alone(history):
    patient, _ = history
    sign_up(
        {
            **SIGNED_UP,
            "full_name": "Cornelius Abernathy",
            "email": "cornelius.abernathy@example.com",
        }
    )
    other_patient = Patient.objects.get(email="cornelius.abernathy@example.com")
    patient_type = ContentType.objects.get_for_model(Patient)
    theirs = LogEntry.objects.filter(content_type=patient_type, object_pk=str(other_patient.pk))
    before = [entry_text(entry) for entry in theirs]

    privacy.close_patient_account(patient=patient)

    assert [entry_text(entry) for entry in theirs] == before
    assert any("cornelius abernathy" in text for text in before)
