"""A patient's own data: download all of it, or close the account.

Here in the project package because it gathers from every app (accounts, bookings, billing).
Closing keeps the appointment and payment history the clinic must keep, and anonymises the
personal details; both are recorded in the audit trail.
"""

import json
import re

from auditlog.context import disable_auditlog
from auditlog.models import LogEntry
from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.audit import record_event
from accounts.models import Patient, User
from api.idempotency import forget_answers_about
from billing.models import Charge, Payment
from bookings.models import Appointment
from bookings.views import patient_required
from intake.models import Answer
from notifications.models import Notification
from notifications.webhook_retention import withdraw_patient_deliveries
from waitlist.models import WaitlistEntry, WaitlistOffer
from waitlist.services import withdraw_entry


def patient_data(patient):
    """Everything the portal holds about a patient, as plain JSON-ready data."""
    user = patient.user
    appointments = (
        Appointment.objects.filter(patient=patient)
        .select_related("doctor__department", "clinic")
        .order_by("start")
    )
    return {
        "exported_at": timezone.now(),
        "account": {
            "email": user.email,
            "full_name": user.full_name,
            "phone": user.phone,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
        }
        if user
        else None,
        "patient_record": {
            "full_name": patient.full_name,
            "date_of_birth": patient.date_of_birth,
            "sex": patient.get_sex_display(),
            "phone": patient.phone,
            "email": patient.email,
            "email_reminders": patient.email_reminders,
            "sms_reminders": patient.sms_reminders,
            "created_at": patient.created_at,
            "updated_at": patient.updated_at,
        },
        "appointments": [
            {
                "id": appointment.pk,
                "start": appointment.start,
                "end": appointment.end,
                "clinic_time_zone": appointment.clinic.timezone,
                "doctor": appointment.doctor.full_name,
                "department": appointment.doctor.department.name,
                "clinic": appointment.clinic.name,
                "type": appointment.get_appointment_type_display(),
                "payment_mode": appointment.get_payment_mode_display(),
                "reason": appointment.reason,
                "status": appointment.get_status_display(),
                "booked_at": appointment.created_at,
                "checked_in_at": appointment.checked_in_at,
                "completed_at": appointment.completed_at,
                "cancelled_at": appointment.cancelled_at,
                "cancellation_reason": appointment.cancellation_reason,
                "moved_from": appointment.rescheduled_from_id,
            }
            for appointment in appointments
        ],
        "intake_answers": [
            {
                "appointment_id": answer.appointment_id,
                "question": answer.question_text,
                "answer": answer.display_value,
                "answered_at": answer.answered_at,
            }
            for answer in Answer.objects.filter(appointment__patient=patient).order_by(
                "appointment_id", "position", "pk"
            )
        ],
        "charges": list(
            Charge.objects.filter(appointment__patient=patient)
            .order_by("created_at")
            .values("appointment_id", "fee", "gst", "total", "currency", "created_at")
        ),
        "payments_and_refunds": list(
            Payment.objects.filter(charge__appointment__patient=patient)
            .order_by("recorded_at")
            .values(
                "kind",
                "mode",
                "fee",
                "gst",
                "total",
                "reference",
                "reason",
                "receipt_number",
                "recorded_at",
                appointment_id=F("charge__appointment_id"),
            )
        ),
        "waitlist": [
            {
                "waiting_for": entry.wanted(),
                "clinic": entry.clinic.name if entry.clinic else None,
                "from": entry.earliest,
                "until": entry.latest,
                "state": entry.get_state_display(),
                "joined_at": entry.created_at,
                "times_offered": [
                    {
                        "start": offer.start,
                        "doctor": offer.doctor.full_name,
                        "clinic": offer.clinic.name,
                        "offered_at": offer.made_at,
                        "state": offer.get_state_display(),
                    }
                    for offer in entry.offers.all()
                ],
            }
            for entry in WaitlistEntry.objects.filter(patient=patient)
            .select_related("doctor", "department", "clinic")
            .prefetch_related(
                Prefetch(
                    "offers",
                    queryset=WaitlistOffer.objects.select_related("doctor", "clinic").order_by(
                        "made_at", "pk"
                    ),
                )
            )
            .order_by("created_at", "pk")
        ],
        "messages": list(
            _patients_notices(patient)
            .filter(audience="patient")
            .order_by("created_at")
            .values("appointment_id", "kind", "channel", "address", "state", "sent_at")
        ),
    }


def _patients_notices(patient):
    """The outbox rows about the patient: their appointments' and their waitlist offers'."""
    return Notification.objects.filter(
        Q(appointment__patient=patient) | Q(offer__entry__patient=patient)
    )


@login_required
def my_data(request):
    patient = Patient.objects.filter(user=request.user).first()
    return render(
        request,
        "accounts/my_data.html",
        {"patient": patient, "form": CloseAccountForm(request.user)},
    )


@require_POST
@patient_required
def export(request, patient):
    record_event(patient, "data exported by the patient")
    body = json.dumps(patient_data(patient), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="my-clinic-data.json"'
    response["Cache-Control"] = "no-store"
    return response


class CloseAccountForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=gettext_lazy("To make sure it is you."),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy(
            "I understand that I cannot log in again and that my details will be removed."
        ),
        error_messages={"required": gettext_lazy("Tick the box to confirm.")},
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(gettext("That is not your password."))
        return password


class AccountStillInUse(Exception):
    pass


ANONYMISED_PATIENT_FIELDS = ["full_name", "date_of_birth", "phone", "email", "user"]

# What the audit trail's earlier entries may have recorded about the patient and their login,
# and what stands in its place once the account is closed.
PERSONAL_FIELDS = {
    Patient: ("full_name", "date_of_birth", "phone", "email"),
    User: ("email", "full_name", "phone"),
}
REDACTED = "[removed: account closed]"
# Shorter recorded values are not looked for inside free text, where they would match ordinary
# words; the fields that held them are redacted whatever their length.
SHORTEST_SCRUBBED_VALUE = 3


def _closed_login_email(user):
    return f"closed-{user.pk}@closed.invalid"


def _closed_patient_name(patient):
    return f"Closed account {patient.pk}"


def _personal_values(*, patient, user):
    values = {getattr(patient, name) for name in PERSONAL_FIELDS[Patient]}
    if user is not None:
        values |= {getattr(user, name) for name in PERSONAL_FIELDS[User]}
    return values


def _redact_audit_trail(*, patient, user, known):
    """Replaces every personal value in the entries about this patient and their login (kept for
    what happened, when and by whom). The known values are those before closing; an entry made
    before an edit holds the name of that time, so the values are gathered from the entries too."""
    closed_repr = {(Patient, patient.pk): _closed_patient_name(patient)}
    if user is not None:
        closed_repr[(User, user.pk)] = _closed_login_email(user)
    model_of = {ContentType.objects.get_for_model(model).pk: model for model in PERSONAL_FIELDS}
    type_of = {model: pk for pk, model in model_of.items()}
    about_them = Q()
    for model, pk in closed_repr:
        about_them |= Q(content_type_id=type_of[model], object_pk=str(pk))
    entries = list(LogEntry.objects.select_for_update().filter(about_them).order_by("pk"))

    known = set(known)
    for entry in entries:
        known.add(entry.object_repr)
        for name in PERSONAL_FIELDS[model_of[entry.content_type_id]]:
            recorded = (entry.changes or {}).get(name)
            known |= set(recorded) if isinstance(recorded, list) else {recorded}
            known.add(((entry.serialized_data or {}).get("fields") or {}).get(name))
    scrub = _scrubber(known - set(closed_repr.values()))

    for entry in entries:
        model = model_of[entry.content_type_id]
        fields = PERSONAL_FIELDS[model]
        entry.object_repr = closed_repr[(model, int(entry.object_pk))]
        entry.changes = scrub(_redact_fields(entry.changes, fields))
        entry.changes_text = scrub(entry.changes_text)
        entry.additional_data = scrub(entry.additional_data)
        if isinstance(entry.serialized_data, dict):
            fields_then = entry.serialized_data.get("fields")
            entry.serialized_data = {
                **entry.serialized_data,
                "fields": _redact_fields(fields_then, fields, pairs=False),
            }
        entry.serialized_data = scrub(entry.serialized_data)
        entry.actor_email = scrub(entry.actor_email)
    LogEntry.objects.bulk_update(
        entries,
        [
            "object_repr",
            "changes",
            "changes_text",
            "additional_data",
            "serialized_data",
            "actor_email",
        ],
        batch_size=500,
    )
    if user is not None:
        # Entries about anything else the patient did (bookings, payments) name them as actor.
        LogEntry.objects.filter(actor=user).update(actor_email=_closed_login_email(user))


def _redact_fields(recorded, fields, *, pairs=True):
    """These fields' recorded values replaced; an empty value tells nothing about anyone, so it
    stays (the trail still shows that a phone number was added, say)."""
    if not isinstance(recorded, dict):
        return recorded

    def redacted(value):
        return value if value in (None, "") else REDACTED

    result = dict(recorded)
    for name in set(fields) & set(recorded):
        values = recorded[name]
        if pairs and isinstance(values, list):
            result[name] = [redacted(value) for value in values]
        else:
            result[name] = redacted(values)
    return result


def _scrubber(values):
    """A function that removes these values, in any letter case, from the text in JSON data
    (values only: the keys are the portal's own names)."""
    texts = {str(value) for value in values if value not in (None, "", "None")}
    # Longest first, so that a full name goes as a whole rather than leaving a part behind.
    texts = sorted((text for text in texts if len(text) >= SHORTEST_SCRUBBED_VALUE), key=len)
    if not texts:
        return lambda data: data
    pattern = re.compile("|".join(re.escape(text) for text in reversed(texts)), re.IGNORECASE)

    def scrub(data):
        if isinstance(data, str):
            return pattern.sub(REDACTED, data)
        if isinstance(data, list):
            return [scrub(item) for item in data]
        if isinstance(data, dict):
            return {key: scrub(value) for key, value in data.items()}
        return data

    return scrub


def close_patient_account(*, patient, now=None):
    """Anonymises the patient's personal details and disables their login, keeping the visit and
    payment history (which the clinic must keep) under an anonymous name."""
    now = now or timezone.now()
    with transaction.atomic():
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
        upcoming = Appointment.objects.filter(patient=patient).upcoming(now)
        if upcoming.exists():
            raise AccountStillInUse(
                gettext(
                    "You have upcoming appointments. Please cancel them (or call the clinic) "
                    "before closing your account."
                )
            )
        user = patient.user
        known = _personal_values(patient=patient, user=user)
        # The usual change entries would copy the old name, contact details and birthday into
        # the audit trail, which must not keep what the patient asked to remove: one event
        # naming the fields stands for them.
        with disable_auditlog():
            patient.full_name = _closed_patient_name(patient)
            # The birth year stays for the clinic's age statistics; the day does not.
            patient.date_of_birth = patient.date_of_birth.replace(month=1, day=1)
            patient.phone = ""
            patient.email = ""
            patient.email_reminders = False
            patient.sms_reminders = False
            patient.user = None
            patient.save()
            # Off every waitlist: a time offered to them goes to the next patient.
            for entry in WaitlistEntry.objects.active().filter(patient=patient):
                withdraw_entry(entry=entry, by=user, now=now)
            _patients_notices(patient).exclude(state=Notification.State.SENT).update(
                state=Notification.State.SKIPPED, address=""
            )
            _patients_notices(patient).update(address="")
            withdraw_patient_deliveries(patient=patient, now=now)
            if user is not None:
                user.email = _closed_login_email(user)
                user.full_name = "Closed account"
                user.phone = ""
                user.is_active = False
                user.set_unusable_password()
                user.sessions_epoch = F("sessions_epoch") + 1
                user.save()
                user.groups.clear()
            forget_answers_about(user=user, patient=patient)
        record_event(
            patient,
            "account closed by the patient",
            anonymised=[*ANONYMISED_PATIENT_FIELDS, *(["login"] if user is not None else [])],
        )
        # Last, as the closing event itself names the patient's login (by its old address) as
        # the actor.
        _redact_audit_trail(patient=patient, user=user, known=known)
    return patient


@require_http_methods(["POST"])
@patient_required
def close(request, patient):
    form = CloseAccountForm(request.user, request.POST)
    if form.is_valid():
        try:
            close_patient_account(patient=patient)
        except AccountStillInUse as error:
            form.add_error(None, str(error))
        else:
            logout(request)
            messages.info(
                request, gettext("Your account is closed and your details removed. Goodbye.")
            )
            return redirect("home")
    return render(request, "accounts/my_data.html", {"patient": patient, "form": form}, status=200)
