"""Who may open which page: every URL the resolver knows, as each kind of visitor, against POLICY.

The URLs come from walking get_resolver(), so a new view cannot slip past: a pattern without an
entry in POLICY fails `test_every_url_pattern_has_a_policy`. Arguments are objects owned by "the
patient" and "the doctor" (their appointment, its charge and payment, the doctor's time off and
calendar feed...), so "another patient" and "another doctor" ask for someone else's things.

Each spec lists one expected outcome per role, in the order of ROLES:
  200 403 404 405   that status
  login             302 to the portal's login page (accounts:login)
  admin-login       302 to the admin's login page
  302               302 anywhere else
  to-login          302 to accounts:login after an action that was done (logging out)
  ok                200, or 302 anywhere but a login page (the admin's own forms and actions)
A POST spec (views that change things) is tried with an empty body and with GARBAGE; "a/b" means
a for the empty body and b for garbage. A refused POST, and any POST not answered by a redirect,
must not write to the WATCHED tables (seen in the SQL it runs); no GET may write to them at all.

The data is made, and each role logged in, once for the module; every request runs in a savepoint
that is rolled back, so each role meets the same data.
Time is frozen at Tuesday 1 December 2026, 09:30 in Bengaluru.
"""

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from auditlog.models import LogEntry
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.audit import record_event
from accounts.models import Patient, User
from accounts.roles import Role
from accounts.tests.factories import PatientFactory, UserFactory
from api.tests.factories import integration_user, token_for
from billing.models import Charge, Payment
from billing.tests.factories import ChargeFactory, PaymentFactory
from bookings.forms import slot_token
from bookings.models import Appointment, AppointmentSeries, SeriesLink, Status
from bookings.tests.factories import AppointmentFactory, SlotHoldFactory
from clinic.reporting import REPORTS
from doctors import services as doctor_services
from doctors.models import Clinic, Department, Doctor, Holiday, TimeOff, WorkingHours
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
from notifications.models import Notification, WebhookDelivery, WebhookEndpoint
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

KOLKATA = ZoneInfo("Asia/Kolkata")
NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=KOLKATA)  # a Tuesday
VISIT_DAY = dt.date(2026, 12, 3)  # Thursday: the patient's appointment at 10:00
TIME_OFF_DAY = dt.date(2026, 12, 4)  # Friday afternoon: the doctor's time off

ROLES = ("anon", "patient", "other_patient", "doctor", "other_doctor", "desk", "admin")
# The API is also called by integrations: a login of its own with the Front desk role.
API_ROLES = (*ROLES, "integration")

# Tables whose rows a refused request, an invalid form or a GET must leave exactly as they were.
# (The audit trail, axes' attempts and sessions are written by reads and logins by design.)
WATCHED = [
    User,
    Group,
    Patient,
    Department,
    Clinic,
    Doctor,
    WorkingHours,
    Holiday,
    TimeOff,
    Appointment,
    Notification,
    WebhookEndpoint,
    WebhookDelivery,
    Charge,
    Payment,
]

# One body of junk for every form: a bad value under the names the portal's forms use, and more.
GARBAGE = {
    "start": "2026-13-45T25:61Z",
    "reason": "x" * 5000,
    "amount": "NaN",
    "mode": "barter",
    "reference": "\u202e",
    "email": "not an email",
    "username": "💥" * 300,
    "password": "\t",
    "old_password": "",
    "new_password1": "a",
    "new_password2": "b",
    "full_name": "",
    "date_of_birth": "31/31/31",
    "sex": "?",
    "phone": "+" + "9" * 40,
    "patient": "-1",
    "query": "",
    "action": "nonsense",
    "confirm": "maybe",
    "starts_at": "tomorrow",
    "ends_at": "yesterday",
    "appointment_type": "surgery",
    "payment_mode": "bitcoin",
    "post": "yes",
    "index": "0",
    "_selected_action": ["-1", "x"],
    "unexpected": ["a", "b"],
}


# A NUL character, which PostgreSQL refuses in any text: every view answers 400 before reading it.
NUL_BODY = {**GARBAGE, "reference": "\x00", "password": "\x00"}


def local(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=KOLKATA)


# The data -----------------------------------------------------------------------------------------


@dataclass(repr=False)
class World:
    users: dict  # role -> User (None for anon)
    department: Department
    clinic: Clinic
    doctor: Doctor
    other_doctor: Doctor
    hours: WorkingHours
    patient: Patient
    other_patient: Patient
    walk_in: Patient  # a directory patient with no login, whom the desk may edit
    appointment: Appointment
    unpaid: Appointment  # the other patient's past visit, charged and not yet paid
    charge: Charge
    payment: Payment
    time_off: TimeOff
    holiday: Holiday
    notification: Notification
    log_entry: LogEntry
    access_attempt: AccessAttempt
    access_log: AccessLog
    superuser: User  # the set-up login, which clinic admins must not take over
    waitlist_offer: object = None  # the patient's open offer of a freed time
    slot: str = ""  # a free time on the visit day, as a slot token
    new_slot: str = ""  # another free time, to move the appointment to
    objects: dict = field(default_factory=dict)  # admin model label -> an instance
    sessions: dict = field(default_factory=lambda: dict.fromkeys(ROLES))  # role -> session key
    tokens: dict = field(default_factory=lambda: dict.fromkeys(API_ROLES))  # role -> API token

    def __repr__(self):
        return "World(the patient, the doctor, their appointment, ...)"

    def _repr_pretty_(self, printer, cycle):  # how Hypothesis prints a falsifying example
        printer.text(repr(self))


def works_mon_to_sat(doctor, clinic):
    rows = []
    for weekday in range(6):
        for starts_at, ends_at in ((dt.time(9), dt.time(13)), (dt.time(14), dt.time(17))):
            rows.append(
                WorkingHoursFactory(
                    doctor=doctor,
                    clinic=clinic,
                    weekday=weekday,
                    starts_at=starts_at,
                    ends_at=ends_at,
                )
            )
    return rows


def build_world():
    department = DepartmentFactory(name="General medicine")
    clinic = ClinicFactory(name="Lakeview", timezone="Asia/Kolkata")
    doctor = DoctorFactory(with_account=True, department=department, full_name="Dr Meera Nair")
    other_doctor = DoctorFactory(with_account=True, department=department, full_name="Dr Ravi Rao")
    hours = works_mon_to_sat(doctor, clinic)[0]
    works_mon_to_sat(other_doctor, clinic)
    patient = PatientFactory(with_account=True, full_name="Asha Patient")
    other_patient = PatientFactory(with_account=True, full_name="Bina Otherpatient")
    walk_in = PatientFactory(full_name="Chandra Walkin")
    desk_user = UserFactory(roles=[Role.FRONT_DESK], is_staff=True, full_name="Deepa Desk")
    admin_user = UserFactory(roles=[Role.CLINIC_ADMIN], is_staff=True, full_name="Esha Admin")
    appointment = AppointmentFactory(
        patient=patient,
        doctor=doctor,
        clinic=clinic,
        start=local(VISIT_DAY, 10),
        created_by=patient.user,
    )
    charge = ChargeFactory(appointment=appointment)
    # The patient's appointment is the first of a weekly series (bookings.series).
    SeriesLink.objects.create(
        appointment=appointment,
        series=AppointmentSeries.objects.create(
            patient=patient,
            doctor=doctor,
            clinic=clinic,
            every=1,
            unit="weeks",
            count=2,
            created_at=NOW,
        ),
    )
    unpaid = AppointmentFactory(
        patient=other_patient,
        doctor=other_doctor,
        clinic=clinic,
        start=local(NOW.date() - dt.timedelta(days=1), 10),
        status=Status.COMPLETED,
        created_by=desk_user,
    )
    ChargeFactory(appointment=unpaid)
    payment = PaymentFactory(charge=charge, recorded_by=desk_user)
    time_off = TimeOffFactory(
        doctor=doctor, starts_at=local(TIME_OFF_DAY, 14), ends_at=local(TIME_OFF_DAY, 17)
    )
    holiday = HolidayFactory(clinic=clinic, date=dt.date(2026, 12, 25))
    notification = NotificationFactory(appointment=appointment, address=patient.email)
    # An EHR told of bookings, and the test event the admin sent it.
    webhook = WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(events=["appointment.booked"]))
    doctor = doctor_services.issue_calendar_token(doctor=doctor)
    log_entry = record_event(patient, "seen by the access policy test")
    access_attempt = AccessAttempt.objects.create(
        username="someone@example.com",
        ip_address="127.0.0.1",
        user_agent="test",
        http_accept="*/*",
        path_info="/accounts/login/",
        get_data="",
        post_data="",
        failures_since_start=1,
    )
    access_log = AccessLog.objects.create(
        username=patient.user.email,
        ip_address="127.0.0.1",
        user_agent="test",
        http_accept="*/*",
        path_info="/accounts/login/",
    )
    # The patient waits for the doctor, and a time freed on the visit day is offered to them.
    waitlist_offer = WaitlistOfferFactory(
        entry=WaitlistEntryFactory(
            patient=patient, doctor=doctor, created_at=NOW, state_changed_at=NOW, state="offered"
        ),
        freed_time=FreedTimeFactory(
            doctor=doctor, clinic=clinic, start=local(VISIT_DAY, 16), freed_at=NOW, state="offered"
        ),
        made_at=NOW,
    )
    world = World(
        users={
            "anon": None,
            "patient": patient.user,
            "other_patient": other_patient.user,
            "doctor": doctor.user,
            "other_doctor": other_doctor.user,
            "desk": desk_user,
            "admin": admin_user,
        },
        department=department,
        clinic=clinic,
        doctor=doctor,
        other_doctor=other_doctor,
        hours=hours,
        patient=patient,
        other_patient=other_patient,
        walk_in=walk_in,
        appointment=appointment,
        unpaid=unpaid,
        charge=charge,
        payment=payment,
        time_off=time_off,
        holiday=holiday,
        notification=notification,
        log_entry=log_entry,
        access_attempt=access_attempt,
        access_log=access_log,
        superuser=UserFactory(is_superuser=True, is_staff=True, full_name="Set Up"),
        slot=slot_token(local(VISIT_DAY, 11)),
        new_slot=slot_token(local(VISIT_DAY, 11, 30)),
    )
    world.objects = {
        "auth.group": Group.objects.get(name=Role.FRONT_DESK),
        "axes.accessattempt": access_attempt,
        "axes.accesslog": access_log,
        "accounts.user": patient.user,
        "accounts.patient": patient,
        "doctors.department": department,
        "doctors.clinic": clinic,
        "doctors.doctor": doctor,
        "doctors.workinghours": hours,
        "doctors.holiday": holiday,
        "doctors.timeoff": time_off,
        # Patients may book it as a series: the patient's series page opens for them.
        "doctors.visittype": VisitTypeFactory(department=department, patients_may_book_series=True),
        "bookings.appointment": appointment,
        "bookings.appointmentseries": appointment.series_link.series,
        # The walk-in's time kept by the desk at noon on the visit day, clear of the times below.
        "bookings.slothold": SlotHoldFactory(
            doctor=doctor,
            clinic=clinic,
            start=local(VISIT_DAY, 12),
            created_at=NOW,
            held_by=desk_user,
            patient=walk_in,
        ),
        "notifications.notification": notification,
        "notifications.webhookendpoint": webhook.endpoint,
        "notifications.webhookdelivery": webhook,
        "billing.charge": charge,
        "billing.payment": payment,
        "auditlog.logentry": log_entry,
        "knox.authtoken": AuthToken.objects.create(user=admin_user)[0],
        "intake.question": QuestionFactory(),
        "waitlist.waitlistentry": waitlist_offer.entry,
        "waitlist.waitlistoffer": waitlist_offer,
        "waitlist.freedtime": waitlist_offer.freed_time,
    }
    world.waitlist_offer = waitlist_offer
    return world


# The policy ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    get: str
    post: str | None = None  # views that change things: what an empty and a garbage POST get
    args: Callable = lambda w: {}
    query: Callable = lambda w: {}
    path: Callable | None = None  # for patterns without a name

    def url(self, key, world):
        url = self.path(world) if self.path else reverse(key, kwargs=self.args(world))
        query = self.query(world)
        return f"{url}?{urlencode(query)}" if query else url


#                  anon    patient other_p doctor  other_d desk    admin
PUBLIC = "         200     200     200     200     200     200     200"
LOGGED_IN = "      login   200     200     200     200     200     200"
NOT_LOGGED_IN = "  200     302     302     302     302     302     302"
PATIENTS = "       login   200     200     403     403     403     403"
OWN_PATIENT = "    login   200     404     403     403     403     403"
DOCTORS = "        login   404     404     200     200     404     404"
OWN_DOCTOR = "     login   404     404     200     404     404     404"
DESK = "           login   404     404     404     404     200     200"
POST_ONLY = "      405     405     405     405     405     405     405"
ALL_302 = "        302     302     302     302     302     302     302"


def redirected(spec):
    """The spec with each 200 turned into a 302: those allowed in are sent on elsewhere."""
    return spec.replace("200", "302")


def pk(attribute):
    return lambda w: {"pk": getattr(w, attribute).pk}


appointment_pk = pk("appointment")


def doctor_at_clinic(w):
    return {"doctor_id": w.doctor.pk, "clinic_id": w.clinic.pk}


def reset_link(w):
    user = User.objects.get(pk=w.patient.user_id)  # as stored: the token covers the last login
    return {
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }


PORTAL = {
    "home": Rule(PUBLIC),
    # Browsers ask for it by themselves; it points at the static icon.
    "favicon": Rule(ALL_302),
    # The load balancer's probes: open to all, logged in or not (clinic.health).
    "healthz": Rule(PUBLIC),
    "readyz": Rule(PUBLIC),
    # Operators only, by address or token (clinic.metrics_endpoint); here neither is set.
    "metrics": Rule("404 404 404 404 404 404 404"),
    # Accounts
    "accounts:signup": Rule(NOT_LOGGED_IN, post="200 302 302 302 302 302 302"),
    "accounts:signup_sent": Rule(PUBLIC),
    # A link that is not (or no longer) good shows the expired page and confirms nothing.
    "accounts:signup_confirm": Rule(
        PUBLIC, post=PUBLIC, args=lambda w: {"uidb64": "Mg", "token": "1-wrong"}
    ),
    # A one-click link from a message: the token alone decides, whoever is logged in. One that
    # does not work (here a made-up one) gets the same 404 page for everyone, and does nothing.
    "links:open": Rule(
        "404 404 404 404 404 404 404",
        post="404 404 404 404 404 404 404",
        args=lambda w: {"token": "not-a-real-link-token"},
    ),
    "accounts:login": Rule(NOT_LOGGED_IN, post="200 302 302 302 302 302 302"),
    # Twilio's calls: only a request it signed is heard, whoever else is logged in.
    "notifications:sms_status": Rule(POST_ONLY, post="403 403 403 403 403 403 403"),
    "notifications:sms_inbound": Rule(POST_ONLY, post="403 403 403 403 403 403 403"),
    "accounts:logout": Rule(POST_ONLY, post=ALL_302),
    # The language switcher: anyone, back to the page (an empty post changes nothing).
    "set_language": Rule(POST_ONLY, post=ALL_302),
    # Logged out on every device, so back to the login page (not a refusal: it is done).
    "accounts:logout_everywhere": Rule(
        POST_ONLY, post="login to-login to-login to-login to-login to-login to-login"
    ),
    "accounts:profile": Rule(LOGGED_IN, post="login 200 200 200 200 200 200"),
    "accounts:password_change": Rule(LOGGED_IN, post="login 200 200 200 200 200 200"),
    "accounts:password_reset": Rule(PUBLIC, post=PUBLIC),
    "accounts:password_reset_done": Rule(PUBLIC),
    "accounts:password_reset_confirm": [
        # A good link moves its token into the session and redirects to the set-password form.
        Rule(ALL_302, post=ALL_302, args=reset_link),
        Rule(PUBLIC, post=PUBLIC, args=lambda w: {**reset_link(w), "token": "1-wrong"}),
    ],
    "accounts:password_reset_complete": Rule(PUBLIC),
    # Two-factor codes are for staff; with no authenticator set up, verifying just moves on.
    "accounts:two_factor": Rule(
        "login 404 404 404 404 200 200", post="login 404 404 404 404 200 200"
    ),
    # New backup codes come with an authenticator, which no login here has set up.
    "accounts:two_factor_backup_codes": Rule(POST_ONLY, post="login 404 404 404 404 404 404"),
    "accounts:two_factor_verify": Rule(
        "login 302 302 302 302 302 302", post="login 302 302 302 302 302 302"
    ),
    # Public pages and picking a time: nothing personal, open to all
    "doctors:departments": Rule(PUBLIC),
    "doctors:list": Rule(PUBLIC),
    "doctors:detail": Rule(PUBLIC, args=pk("doctor")),
    "bookings:start": Rule(PUBLIC),
    "bookings:doctors": Rule(PUBLIC, args=lambda w: {"department_id": w.department.pk}),
    # The doctor works at one clinic, so choosing one skips to its calendar.
    "bookings:clinics": Rule(ALL_302, args=lambda w: {"doctor_id": w.doctor.pk}),
    "bookings:calendar": Rule(PUBLIC, args=doctor_at_clinic),
    "bookings:day": Rule(PUBLIC, args=lambda w: {**doctor_at_clinic(w), "day": VISIT_DAY}),
    # Booking needs a patient's login; any patient books for themselves.
    "bookings:confirm": Rule(
        PATIENTS,
        post="login 302 302 403 403 403 403",
        args=doctor_at_clinic,
        query=lambda w: {"start": w.slot},
    ),
    "bookings:book_series": Rule(
        PATIENTS,
        post=PATIENTS,
        args=doctor_at_clinic,
        query=lambda w: {"start": w.slot},
    ),
    # The patient's own appointment
    "bookings:mine": Rule(PATIENTS),
    "bookings:detail": Rule(OWN_PATIENT, args=appointment_pk),
    "bookings:booked": Rule(OWN_PATIENT, args=appointment_pk),
    "bookings:calendar_file": Rule(OWN_PATIENT, args=appointment_pk),
    # The reason is optional, but an empty body is no submission at all (`request.POST or None`).
    "bookings:cancel": Rule(OWN_PATIENT, post=OWN_PATIENT, args=appointment_pk),
    "bookings:cancel_series": Rule(OWN_PATIENT, post=OWN_PATIENT, args=appointment_pk),
    "bookings:reschedule": Rule(OWN_PATIENT, args=appointment_pk),
    "bookings:reschedule_day": Rule(
        OWN_PATIENT, args=lambda w: {"pk": w.appointment.pk, "day": VISIT_DAY}
    ),
    "bookings:reschedule_confirm": Rule(
        OWN_PATIENT,
        post="login 302 404 403 403 403 403",
        args=appointment_pk,
        query=lambda w: {"start": w.new_slot},
    ),
    # The doctor's pages: any doctor their own schedule, nobody else's appointments
    "schedule:today": Rule(DOCTORS),
    "schedule:day": Rule(DOCTORS, args=lambda w: {"day": VISIT_DAY}),
    "schedule:week": Rule(DOCTORS),
    "schedule:week_of": Rule(DOCTORS, args=lambda w: {"day": VISIT_DAY}),
    "schedule:appointment": Rule(OWN_DOCTOR, args=appointment_pk),
    "schedule:transition": [
        Rule(
            POST_ONLY,
            post=redirected(OWN_DOCTOR),
            args=lambda w, action=action: {"pk": w.appointment.pk, "action": action},
        )
        for action in ("check-in", "complete", "no-show")
    ]
    + [
        Rule(
            POST_ONLY,
            post="login 404 404 404 404 404 404",
            args=lambda w: {"pk": w.appointment.pk, "action": "delete"},
        )
    ],
    "schedule:time_off": Rule(DOCTORS, post="login 404 404 200 200 404 404"),
    "schedule:remove_time_off": Rule(
        POST_ONLY, post="login 404 404 302 404 404 404", args=pk("time_off")
    ),
    "schedule:hours": Rule(DOCTORS),
    "schedule:calendar_feed": Rule(DOCTORS, post="login 404 404 302 302 404 404"),
    # The token is the feed's only credential, whoever is logged in.
    "schedule:feed": [
        Rule(PUBLIC, args=lambda w: {"token": w.doctor.calendar_token}),
        Rule(
            "404 404 404 404 404 404 404", args=lambda w: {"token": w.doctor.calendar_token + "x"}
        ),
    ],
    # The front desk (and clinic admins)
    "desk:queue": Rule(DESK),
    "desk:patients": Rule(DESK, post=DESK),
    "desk:patient_new": Rule(DESK, post=DESK),
    "desk:patient": Rule(DESK, args=pk("patient")),
    "desk:patient_edit": [
        Rule(DESK, post=DESK, args=pk("walk_in")),
        # A patient with a login keeps their own details.
        Rule(redirected(DESK), post=redirected(DESK), args=pk("patient")),
    ],
    "desk:book": Rule(DESK),
    "desk:first_available": Rule(DESK, args=lambda w: {"doctor_id": w.doctor.pk}),
    "desk:calendar": Rule(DESK, args=doctor_at_clinic),
    "desk:day": Rule(DESK, args=lambda w: {**doctor_at_clinic(w), "day": VISIT_DAY}),
    "desk:confirm": Rule(
        DESK,
        post=DESK,
        args=doctor_at_clinic,
        query=lambda w: {"start": w.slot, "patient": w.walk_in.pk},
    ),
    "desk:book_series": Rule(
        DESK,
        post=DESK,
        args=doctor_at_clinic,
        query=lambda w: {"start": w.slot, "patient": w.walk_in.pk},
    ),
    "desk:series": Rule(DESK, args=lambda w: {"pk": w.appointment.series_link.series_id}),
    "desk:cancel_series": Rule(DESK, post=DESK, args=appointment_pk),
    "desk:appointment": Rule(DESK, args=appointment_pk),
    "desk:check_in": Rule(POST_ONLY, post=redirected(DESK), args=appointment_pk),
    "desk:confirm_attendance": Rule(POST_ONLY, post=redirected(DESK), args=appointment_pk),
    "desk:cancel": Rule(DESK, post=DESK, args=appointment_pk),
    "desk:reschedule": Rule(DESK, args=appointment_pk),
    "desk:reschedule_day": Rule(DESK, args=lambda w: {"pk": w.appointment.pk, "day": VISIT_DAY}),
    "desk:reschedule_confirm": Rule(
        DESK,
        post=redirected(DESK),
        args=appointment_pk,
        query=lambda w: {"start": w.new_slot},
    ),
    # Billing: patients their own receipts; the desk records payments, clinic admins refund.
    "billing:mine": Rule(PATIENTS),
    "billing:receipt": Rule("login 200 404 404 404 200 200", args=pk("payment")),
    "billing:record": Rule(DESK, post=DESK, args=lambda w: {"appointment_pk": w.appointment.pk}),
    "billing:refund": Rule(
        "login 404 404 404 404 404 200", post="login 404 404 404 404 404 200", args=pk("payment")
    ),
    # No PAYMENT_PROVIDER: paying online says so and redirects; its return page does not exist.
    "billing:pay_online": Rule(
        POST_ONLY,
        post=redirected(OWN_PATIENT),
        args=lambda w: {"appointment_pk": w.appointment.pk},
    ),
    "billing:online_return": Rule("login 404 404 403 403 403 403"),
    # Intake questions: the patient for their own appointment, the desk for anyone's. The
    # appointment here has no visit type with questions: both pages send back to its details.
    "intake:answer": Rule(
        redirected(OWN_PATIENT), post=redirected(OWN_PATIENT), args=appointment_pk
    ),
    "intake:desk_answer": Rule(redirected(DESK), post=redirected(DESK), args=appointment_pk),
    # A patient's own data
    "privacy:my_data": Rule(LOGGED_IN),
    "privacy:export": Rule(POST_ONLY, post=PATIENTS),
    "privacy:close": Rule(POST_ONLY, post=PATIENTS),
    # The waitlist: patients their own entries and offers; the desk the whole list; doctors
    # theirs. An offer link asks a visitor to log in first; a wrong one is one 404 for everyone.
    "waitlist:mine": Rule(PATIENTS),
    "waitlist:join": Rule(PATIENTS, post=PATIENTS),
    "waitlist:withdraw": Rule(
        "login 405 405 403 403 403 403",
        post="login 302 404 403 403 403 403",
        args=lambda w: {"pk": w.waitlist_offer.entry_id},
    ),
    "waitlist:offer": Rule(
        "login 404 404 404 404 404 404",
        post="login 404 404 404 404 404 404",
        args=lambda w: {"token": "not-a-real-offer-token"},
    ),
    "waitlist:my_offer": Rule(OWN_PATIENT, post=OWN_PATIENT, args=pk("waitlist_offer")),
    "waitlist:desk": Rule(DESK),
    "waitlist:desk_add": Rule(DESK, post=DESK),
    "waitlist:desk_withdraw": Rule(
        "login 404 404 404 404 405 405",
        post=redirected(DESK),
        args=lambda w: {"pk": w.waitlist_offer.entry_id},
    ),
    "waitlist:doctor": Rule(DOCTORS),
}


# The admin ---------------------------------------------------------------------------------------

# Everyone without staff rights is sent to the admin's login page.
#            anon        patient     other_p     doctor      other_d
NON_STAFF = "admin-login admin-login admin-login admin-login admin-login"

# What each role may do with each registered model in the admin: v(iew) a(dd) c(hange) d(elete).
# (Front desk, clinic admin); anything else answers 403. From the README's "Roles" table:
# neither deletes patients, logins or ledger rows, edits roles or adds appointments (bookings go
# through the booking pages and their rules).
ADMIN_RIGHTS = {
    "auth.group": ("", "v"),
    # Login records: clinic admins lift a lockout by deleting its attempt.
    "axes.accessattempt": ("", "vd"),
    "axes.accesslog": ("", "v"),
    "accounts.user": ("", "vac"),
    "accounts.patient": ("vac", "vac"),
    "doctors.department": ("v", "vacd"),
    "doctors.clinic": ("v", "vacd"),
    "doctors.doctor": ("v", "vacd"),
    "doctors.workinghours": ("v", "vacd"),
    "doctors.holiday": ("v", "vacd"),
    "doctors.timeoff": ("v", "vacd"),
    # Visit types: clinic admins set them up; the desk sees them (doctors too, outside the admin).
    "doctors.visittype": ("v", "vacd"),
    "bookings.appointment": ("vc", "vc"),
    # Holds: seen by the desk and clinic admins, let go by an action; only the services make them.
    "bookings.slothold": ("v", "v"),
    # Series: read in the admin; booked and cancelled on the desk's pages.
    "bookings.appointmentseries": ("v", "v"),
    "notifications.notification": ("v", "vc"),
    # Webhooks: clinic admins register endpoints and send deliveries again; the desk sees neither.
    "notifications.webhookendpoint": ("", "vacd"),
    "notifications.webhookdelivery": ("", "vc"),
    "billing.charge": ("v", "v"),
    "billing.payment": ("v", "v"),
    "auditlog.logentry": ("", "v"),
    # Intake questions are set up by clinic admins; answers are given on the pages.
    "intake.question": ("", "vacd"),
    # API tokens: clinic admins make them for integrations (shown once) and revoke them.
    "knox.authtoken": ("", "vad"),
    # The waitlist is read-only in the admin (its pages and worker change it); freed times are
    # for clinic admins' eyes.
    "waitlist.waitlistentry": ("v", "v"),
    "waitlist.waitlistoffer": ("v", "v"),
    "waitlist.freedtime": ("", "v"),
}


def staff(desk, admin):
    return f"{NON_STAFF} {desk} {admin}"


def by_rights(letters, rights, allowed="200"):
    """`allowed` for the staff role holding one of the rights in `letters`, 403 for the other."""
    desk, admin = (allowed if set(letters) & set(held) else "403" for held in rights)
    return staff(desk, admin)


def admin_model_rules():
    rules = {}
    for label, rights in ADMIN_RIGHTS.items():
        app, model = label.split(".")
        prefix = f"admin:{app}_{model}"

        def object_id(w, label=label):
            return {"object_id": w.objects[label].pk}

        def object_path(w, prefix=prefix, label=label):
            change = reverse(f"{prefix}_change", args=[w.objects[label].pk])
            return change.removesuffix("change/")

        # A change page shows read-only to those who may only view; saving needs "c".
        rules[f"{prefix}_changelist"] = Rule(
            by_rights("vc", rights), post=by_rights("vc", rights, "ok")
        )
        rules[f"{prefix}_add"] = Rule(by_rights("a", rights), post=by_rights("a", rights, "ok"))
        rules[f"{prefix}_change"] = Rule(
            by_rights("vc", rights), post=by_rights("c", rights, "ok"), args=object_id
        )
        rules[f"{prefix}_history"] = Rule(by_rights("vc", rights), args=object_id)
        rules[f"{prefix}_delete"] = Rule(
            by_rights("d", rights), post=by_rights("d", rights, "ok"), args=object_id
        )
        # The bare object URL redirects to its change page (for staff only).
        rules[f"admin/{app}/{model}/<path:object_id>/"] = Rule(
            staff("302", "302"), path=object_path
        )
    return rules


ADMIN = {
    "admin:index": Rule(staff("200", "200")),
    # Logged-in staff are sent on to the index; anyone else gets the form (and may log in).
    "admin:login": Rule("200 200 200 200 200 302 302", post=PUBLIC),
    # Logging out is a POST; staff then land on the home page, anyone else on the admin index.
    "admin:logout": Rule("302 302 302 302 302 405 405", post=ALL_302),
    "admin:password_change": Rule(staff("200", "200"), post=staff("200", "200")),
    "admin:password_change_done": Rule(staff("200", "200")),
    "admin:jsi18n": Rule(staff("200", "200")),
    "admin:autocomplete": [
        Rule(
            staff("200", "200"),
            query=lambda w: {
                "app_label": "doctors",
                "model_name": "doctor",
                "field_name": "department",
                "term": "Gen",
            },
        ),
        # A patient record's login is chosen by number, not by autocomplete (what is typed
        # would be in the address): the autocomplete is offered only where an admin shows one.
        Rule(
            staff("403", "403"),
            query=lambda w: {
                "app_label": "accounts",
                "model_name": "patient",
                "field_name": "user",
                "term": "a",
            },
        ),
    ],
    # No model has a public page, so "view on site" finds nothing to show.
    "admin:view_on_site": Rule(
        staff("404", "404"),
        args=lambda w: {
            "content_type_id": ContentType.objects.get_for_model(Doctor).pk,
            "object_id": w.doctor.pk,
        },
    ),
    "admin:app_list": [
        Rule(staff("200", "200"), args=lambda w: {"app_label": "doctors"}),
        Rule(staff("404", "200"), args=lambda w: {"app_label": "auth"}),
        Rule(staff("404", "200"), args=lambda w: {"app_label": "axes"}),
    ],
    "admin/(?P<url>.*)$": Rule(staff("404", "404"), path=lambda w: "/admin/no-such-page/"),
    "admin:auth_user_password_change": [
        Rule(
            staff("403", "200"),
            post=staff("403", "200"),
            args=lambda w: {"id": w.patient.user.pk},
        ),
        # Nobody but a superuser may take over a superuser's login.
        Rule(
            staff("403", "403"),
            post=staff("403", "403"),
            args=lambda w: {"id": w.superuser.pk},
        ),
    ],
    # Finding a login by email address: a POST (so the address stays out of URLs), for those
    # who may see logins; it lands on the login's page, or back on the list when none matches.
    "admin:accounts_user_find": Rule(staff("405", "405"), post=staff("403", "302")),
    # Reports are for clinic admins.
    "admin:reports": Rule(staff("403", "200")),
    "admin:report": [
        Rule(staff("403", "200"), args=lambda w, slug=slug: {"slug": slug}) for slug in REPORTS
    ]
    + [Rule(staff("403", "404"), args=lambda w: {"slug": "no-such-report"})],
    **admin_model_rules(),
}

# A superuser's account is shown to clinic admins, but not for editing.
ADMIN["admin:accounts_user_change"] = [
    ADMIN["admin:accounts_user_change"],
    Rule(
        staff("403", "200"),
        post=staff("403", "403"),
        args=lambda w: {"object_id": w.superuser.pk},
    ),
]

POLICY = {**PORTAL, **ADMIN}


# The API ------------------------------------------------------------------------------------------

# Each role calls the API with a token of its own login (the portal's session works too, and is
# tested in api/tests/test_auth.py); "integration" is an integration's login (Front desk role).
# Every route is tried with every method in API_METHODS; a write with an empty JSON object, with
# GARBAGE and with NUL_BODY as JSON ("a/b/c" for the three; "a/b" uses b for both junk bodies).
# Every refusal must be the API's JSON error shape, and none may write to the WATCHED tables.
API_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class ApiRule:
    methods: dict  # method -> spec of API_ROLES outcomes
    args: Callable = lambda w: {}
    query: Callable = lambda w: {}
    path: Callable | None = None

    def url(self, key, world):
        return Rule.url(self, key, world)


def api_rule(otherwise, **methods):
    """An ApiRule: `methods` for the methods named, `otherwise` for the rest of API_METHODS."""
    extra = {name: methods.pop(name) for name in ("args", "query", "path") if name in methods}
    assert set(methods) <= set(API_METHODS)
    return ApiRule(methods={m: methods.get(m, otherwise) for m in API_METHODS}, **extra)


#                    anon  patient other_p doctor  other_d desk   admin  integration
API_PUBLIC = "       200   200     200     200     200     200    200    200"
API_LOGGED_IN = "    401   200     200     200     200     200    200    200"
API_NO_METHOD = "    405   405     405     405     405     405    405    405"
# A method the endpoint lacks: those not let in hear 401 first.
API_NO_METHOD_IN = " 401   405     405     405     405     405    405    405"
API_NOT_FOUND = "    404   404     404     404     404     404    404    404"


def api_admin_only(outcome):
    """Clinic admins get `outcome`; anyone else is refused by role (401 without a login)."""
    return f"401 403 403 403 403 403 {outcome} 403"


def api_desk_only(outcome):
    """The front desk, clinic admins and the integration (Front desk role) get `outcome`."""
    return f"401 403 403 403 403 {outcome} {outcome} {outcome}"


# The ledger: patients (their own) and staff; doctors may not read it.
API_LEDGER_NO_METHOD = "401 405 405 403 403 405 405 405"
# Sign-up is for visitors without a login.
API_SIGNUP_NO_METHOD = "405 403 403 403 403 403 403 403"

API = {
    # Logging in is open to all (a token already held changes nothing); junk is a field error
    # (400) or a wrong email or password (401); revoking needs the token being revoked.
    "api:token": api_rule(
        API_NO_METHOD_IN,
        post="400/401/400 400/401/400 400/401/400 400/401/400 400/401/400 400/401/400 "
        "400/401/400 400/401/400",
        delete="401 204 204 204 204 204 204 204",
    ),
    "api:me": api_rule(API_NO_METHOD_IN, get=API_LOGGED_IN),
    # Junk is a field error; an empty body as well, but the sign-up is for visitors only.
    "api:signup": api_rule(API_SIGNUP_NO_METHOD, post="400 403 403 403 403 403 403 403"),
    # The clinic's structure: public reads; clinic admins add (junk: 400), edit (a PATCH with
    # none of a department's fields changes nothing; a doctor's junk blanks the name: 400), and
    # delete (the department has doctors: 409). Doctors are deactivated, never deleted.
    "api:departments": api_rule(API_NO_METHOD, get=API_PUBLIC, post=api_admin_only(400)),
    "api:department": api_rule(
        API_NO_METHOD,
        get=API_PUBLIC,
        put=api_admin_only(400),
        patch=api_admin_only(200),
        delete=api_admin_only(409),
        args=lambda w: {"pk": w.department.pk},
    ),
    "api:doctors": [
        api_rule(API_NO_METHOD, get=API_PUBLIC, post=api_admin_only(400)),
        api_rule(
            API_NO_METHOD,
            get=API_PUBLIC,
            post=api_admin_only(400),
            query=lambda w: {"department": w.department.pk},
        ),
        api_rule(
            API_NO_METHOD,
            get="400 400 400 400 400 400 400 400",
            post=api_admin_only(400),
            query=lambda w: {"department": "x"},
        ),
    ],
    "api:doctor": api_rule(
        API_NO_METHOD,
        get=API_PUBLIC,
        put=api_admin_only(400),
        patch=api_admin_only("200/400/400"),
        args=lambda w: {"pk": w.doctor.pk},
    ),
    # Public, as the doctor's page; who asks decides which types are listed (api tests).
    "api:doctor_visit_types": [
        api_rule(API_NO_METHOD, get=API_PUBLIC, args=lambda w: {"pk": w.doctor.pk}),
        api_rule(API_NO_METHOD, get=API_NOT_FOUND, args=lambda w: {"pk": 2**31 - 1}),
    ],
    "api:doctor_deactivate": api_rule(
        api_admin_only(405), post=api_admin_only(200), args=lambda w: {"pk": w.doctor.pk}
    ),
    # Transactions: the charge and the payment are the patient's (the other patient's 404);
    # recording one is the desk's, refunding the clinic admin's (junk: the forms' field
    # errors, 400).
    "api:charges": [
        api_rule(API_LEDGER_NO_METHOD, get="401 200 200 403 403 200 200 200"),
        # A filter the role may use narrows the list; a bad one is 400 only once let in.
        api_rule(
            API_LEDGER_NO_METHOD,
            get="401 200 200 403 403 200 200 200",
            query=lambda w: {"patient": w.patient.pk, "status": "due"},
        ),
        api_rule(
            API_LEDGER_NO_METHOD,
            get="401 400 400 403 403 400 400 400",
            query=lambda w: {"status": "owed"},
        ),
    ],
    "api:charge": api_rule(
        API_LEDGER_NO_METHOD,
        get="401 200 404 403 403 200 200 200",
        args=lambda w: {"pk": w.charge.pk},
    ),
    "api:payments": api_rule(API_LEDGER_NO_METHOD, get="401 200 200 403 403 200 200 200"),
    "api:payment": api_rule(
        API_LEDGER_NO_METHOD,
        get="401 200 404 403 403 200 200 200",
        args=lambda w: {"pk": w.payment.pk},
    ),
    "api:payment_refund": api_rule(
        api_admin_only(405), post=api_admin_only(400), args=lambda w: {"pk": w.payment.pk}
    ),
    "api:appointment_payments": [
        api_rule(
            api_desk_only(405),
            post=api_desk_only(400),
            args=lambda w: {"appointment_pk": w.unpaid.pk},
        ),
        # Fully paid already: the form's junk is refused before the service says so.
        api_rule(
            api_desk_only(405),
            post=api_desk_only(400),
            args=lambda w: {"appointment_pk": w.appointment.pk},
        ),
    ],
    # The appointment API. The directory is the desk's (integrations included); a patient reads
    # only their own record. Junk (or nothing) is a field error; searches are POSTed.
    "api:patients": api_rule(api_desk_only(405), post=api_desk_only(400)),
    "api:patient_search": api_rule(api_desk_only(405), post=api_desk_only(400)),
    "api:patient": api_rule(
        "401 405 405 403 403 405 405 405",
        get="401 200 404 403 403 200 200 200",
        args=lambda w: {"pk": w.patient.pk},
    ),
    # Free times are public, as the pages' day page is; without a doctor and clinic: 400.
    "api:slots": [
        api_rule(
            API_NO_METHOD,
            get=API_PUBLIC,
            query=lambda w: {"doctor": w.doctor.pk, "clinic": w.clinic.pk},
        ),
        api_rule(API_NO_METHOD, get="400 400 400 400 400 400 400 400"),
    ],
    # Everyone logged in lists what they may reach; patients and staff book (junk: 400),
    # doctors do not.
    "api:appointments": api_rule(
        API_NO_METHOD_IN,
        get=API_LOGGED_IN,
        post="401 400 400 403 403 400 400 400",
    ),
    "api:appointment": api_rule(
        API_NO_METHOD_IN,
        get="401 200 404 200 404 200 200 200",
        args=lambda w: {"pk": w.appointment.pk},
    ),
    # The patient cancels their own with no reason (200); the desk must give one (400).
    "api:appointment_cancel": api_rule(
        "401 405 405 403 403 405 405 405",
        post="401 200/400 404 403 403 400 400 400",
        args=lambda w: {"pk": w.appointment.pk},
    ),
    "api:appointment_reschedule": api_rule(
        "401 405 405 403 403 405 405 405",
        post="401 400 404 403 403 400 400 400",
        args=lambda w: {"pk": w.appointment.pk},
    ),
    # The visit is on Thursday: checking in on Tuesday is refused by the service (422).
    "api:appointment_check_in": api_rule(
        "401 403 403 405 405 405 405 405",
        post="401 403 403 422 404 422 422 422",
        args=lambda w: {"pk": w.appointment.pk},
    ),
    # The doctor's own: not checked in (409), not started (422).
    "api:appointment_complete": api_rule(
        "401 403 403 405 405 403 403 403",
        post="401 403 403 409 404 403 403 403",
        args=lambda w: {"pk": w.appointment.pk},
    ),
    "api:appointment_no_show": api_rule(
        "401 403 403 405 405 403 403 403",
        post="401 403 403 422 404 403 403 403",
        args=lambda w: {"pk": w.appointment.pk},
    ),
    "api:schema": api_rule(API_NO_METHOD, get=API_PUBLIC),
    "api:docs": api_rule(API_NO_METHOD, get=API_PUBLIC),
    "api:redoc": api_rule(API_NO_METHOD, get=API_PUBLIC),
    "api:not_found": api_rule(API_NOT_FOUND, path=lambda w: "/api/v1/no-such-endpoint/"),
}


# The FHIR interface -------------------------------------------------------------------------------

# Called as the API is (each role with its token, API_ROLES, every method of API_METHODS, the same
# junk bodies), but every refusal must be an OperationOutcome. Reads need a token of any role;
# the CapabilityStatement is public. Patients are read by staff and doctors (their own
# patients); appointments as the JSON API lets each role reach them; creates and updates are
# Appointment's only, any other method is 405.
FHIR_NO_METHOD_IN = API_NO_METHOD_IN
FHIR_READ = API_LOGGED_IN
# POST [type]/_search takes a form: the table's JSON bodies are 415 once the caller is let in.
FHIR_POSTED_SEARCH = "401 415 415 415 415 415 415 415"


def fhir_read(args=lambda w: {}, **extra):
    return api_rule(FHIR_NO_METHOD_IN, get=FHIR_READ, args=args, **extra)


def pair(w):
    return {"resource_id": f"{w.doctor.pk}-{w.clinic.pk}"}


def fhir_posted_search(post=FHIR_POSTED_SEARCH):
    return api_rule(FHIR_NO_METHOD_IN, post=post)


FHIR = {
    "fhir:metadata": api_rule(API_NO_METHOD, get=API_PUBLIC),
    "fhir:practitioner_search": [
        fhir_read(),
        fhir_read(query=lambda w: {"name": "meera", "active": "true", "_count": 1}),
        # An unknown parameter is refused (strict handling), once the caller is let in.
        api_rule(
            FHIR_NO_METHOD_IN, get="401 400 400 400 400 400 400 400", query=lambda w: {"x": 1}
        ),
    ],
    "fhir:practitioner": fhir_read(args=lambda w: {"resource_id": w.doctor.pk}),
    "fhir:location_search": fhir_read(),
    "fhir:location": fhir_read(args=lambda w: {"resource_id": w.clinic.pk}),
    "fhir:healthcareservice_search": fhir_read(),
    "fhir:healthcareservice": fhir_read(args=lambda w: {"resource_id": w.department.pk}),
    "fhir:practitionerrole_search": fhir_read(query=lambda w: {"location": w.clinic.pk}),
    "fhir:practitionerrole": fhir_read(args=pair),
    "fhir:schedule_search": fhir_read(query=lambda w: {"actor": f"Practitioner/{w.doctor.pk}"}),
    "fhir:schedule": fhir_read(args=pair),
    # Slots are searched by schedule, which is required (400 without it).
    "fhir:slot_search": [
        fhir_read(query=lambda w: {"schedule": f"Schedule/{pair(w)['resource_id']}"}),
        api_rule(FHIR_NO_METHOD_IN, get="401 400 400 400 400 400 400 400"),
    ],
    **{
        f"fhir:{name}_posted_search": fhir_posted_search()
        for name in (
            "practitioner",
            "location",
            "healthcareservice",
            "practitionerrole",
            "schedule",
            "slot",
            "appointment",
        )
    },
    # The clinic's roles only: patients are refused; a doctor reads the patients of their own
    # schedule (the patient has an appointment with the doctor, none with the other doctor). A
    # search names something to find: without, it is 400, never a list of the directory.
    "fhir:patient_search": [
        api_rule(
            FHIR_NO_METHOD_IN,
            get="401 403 403 200 200 200 200 200",
            query=lambda w: {"_id": w.patient.pk},
        ),
        api_rule(FHIR_NO_METHOD_IN, get="401 403 403 400 400 400 400 400"),
    ],
    "fhir:patient_posted_search": fhir_posted_search("401 403 403 415 415 415 415 415"),
    "fhir:patient": api_rule(
        FHIR_NO_METHOD_IN,
        get="401 403 403 200 404 200 200 200",
        args=lambda w: {"resource_id": w.patient.pk},
    ),
    # Every role searches what it reaches; patients and staff book (junk: 400), doctors do not.
    "fhir:appointment_search": api_rule(
        FHIR_NO_METHOD_IN, get=FHIR_READ, post="401 400 400 403 403 400 400 400"
    ),
    # Read and update as the JSON API reaches an appointment (another's: 404); junk: 400.
    "fhir:appointment": api_rule(
        FHIR_NO_METHOD_IN,
        get="401 200 404 200 404 200 200 200",
        put="401 400 404 400 404 400 400 400",
        args=lambda w: {"resource_id": w.appointment.pk},
    ),
    # $find: any login (start and end are required: 400 without them; a JSON body that is no
    # Parameters resource: 400). $hold and $book: as a create (junk: 400), doctors 403.
    "fhir:appointment_find": [
        api_rule(
            FHIR_NO_METHOD_IN,
            get="401 400 400 400 400 400 400 400",
            post="401 400 400 400 400 400 400 400",
        ),
        # A POST takes its parameters in the body only: in the URL they are 400.
        fhir_read(
            query=lambda w: {"start": VISIT_DAY.isoformat(), "end": VISIT_DAY.isoformat()},
            post="401 400 400 400 400 400 400 400",
        ),
    ],
    "fhir:appointment_hold": api_rule(FHIR_NO_METHOD_IN, post="401 400 400 403 403 400 400 400"),
    "fhir:appointment_book": api_rule(FHIR_NO_METHOD_IN, post="401 400 400 403 403 400 400 400"),
    "fhir:not_found": api_rule(API_NOT_FOUND, path=lambda w: "/fhir/R4/Encounter"),
}


# Walking the resolver -----------------------------------------------------------------------------


def resolved_patterns(patterns=None, namespace=None, prefix=""):
    """(key, route) of every pattern: its namespaced name, or its full route when it has none."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from resolved_patterns(entry.url_patterns, inner, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            if entry.name:
                yield (f"{namespace}:{entry.name}" if namespace else entry.name), route
            else:
                yield route, route


def test_every_url_pattern_has_a_policy():
    known = {**POLICY, **API, **FHIR}
    missing = sorted(key for key, _ in resolved_patterns() if key not in known)
    assert not missing, f"URL patterns with no entry in POLICY, API or FHIR: {missing}"


def test_policy_names_no_pattern_that_is_gone():
    keys = {key for key, _ in resolved_patterns()}
    assert not sorted(set(POLICY) - keys)
    assert not sorted(set(API) - keys)
    assert not sorted(set(FHIR) - keys)


def test_every_api_route_is_under_the_api_and_in_the_api_table():
    api_keys = {key for key, route in resolved_patterns() if route.startswith("api/")}
    assert api_keys == set(API)


def test_every_fhir_route_is_under_fhir_and_in_the_fhir_table():
    fhir_keys = {key for key, route in resolved_patterns() if route.startswith("fhir/")}
    assert fhir_keys == set(FHIR)


def test_every_registered_admin_model_has_rights():
    from django.contrib import admin

    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == set(ADMIN_RIGHTS)


# Visiting -----------------------------------------------------------------------------------------

REFUSALS = {"login", "admin-login", "403", "404", "405"}


@pytest.fixture(scope="module", autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(scope="module")
def world(frozen_now, django_db_setup, django_db_blocker):
    """One set of data for the whole module, in a transaction rolled back at its end; each test
    runs in a savepoint inside it, and each request in a savepoint inside that."""
    with django_db_blocker.unblock(), transaction.atomic():
        world = build_world()
        for role, user in world.users.items():
            # Logged in once: each request then brings the session cookie.
            if user is not None:
                client = Client()
                client.force_login(user)
                world.sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
                world.tokens[role] = token_for(user)
        world.tokens["integration"] = token_for(integration_user())
        yield world
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def documented_rules(settings):
    settings.BOOKING_WINDOW_DAYS = 30
    settings.BOOKING_MINIMUM_NOTICE_MINUTES = 60
    settings.BOOKING_MAX_OPEN_PER_PATIENT = 4
    settings.BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = 4
    settings.PAYMENT_PROVIDER = ""
    settings.OTP_REQUIRED_FOR_CLINIC_ADMINS = False
    # Every role posts the same forms here, far more often than a person would; the throttles
    # (accounts/tests/test_ratelimits.py) would answer 429 and hide what the table checks.
    settings.RATELIMIT_ENABLE = False
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(
            settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "100000/m"
        ),
    }


WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


def watched_tables():
    tables = {model._meta.db_table: model._meta.label for model in WATCHED}
    tables[User.groups.through._meta.db_table] = "user groups"
    return tables


def tables_written(queries):
    """The watched tables that the captured SQL inserted into, updated or deleted from."""
    watched = watched_tables()
    written = {watched.get(match.group(1)) for q in queries if (match := WRITE.match(q["sql"]))}
    return sorted(written - {None})


def rolled_back_savepoint():
    """A savepoint for one request, rolled back by the caller. Marked as the test's own (as
    Django's TestCase marks its blocks), so that a service's atomic(durable=True) may run in it:
    the durability the services ask for is against callers in the portal, not the test's undo."""
    block = transaction.atomic()
    block._from_testcase = True
    return block


def visit(world, role, method, url, data=None):
    """The response to one request as `role`, and the watched tables it wrote to; then everything
    it did is rolled back."""
    with rolled_back_savepoint():
        client = Client(raise_request_exception=False)
        if world.sessions[role]:
            client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
        with CaptureQueriesContext(connection) as queries:
            response = getattr(client, method)(url, data or {})
        transaction.set_rollback(True)
    return response, tables_written(queries.captured_queries)


def redirect_path(response):
    return urlsplit(response.get("Location", "")).path


def matches(code, response):
    status = response.status_code
    to_login = status == 302 and redirect_path(response) in (
        reverse("accounts:login"),
        reverse("admin:login"),
    )
    if code in ("login", "to-login"):
        return status == 302 and redirect_path(response) == reverse("accounts:login")
    if code == "admin-login":
        return status == 302 and redirect_path(response) == reverse("admin:login")
    if code == "302":
        return status == 302 and not to_login
    if code == "ok":
        return status == 200 or (status == 302 and not to_login)
    return status == int(code)


def described(response):
    if response.status_code in (301, 302):
        return f"{response.status_code}→{redirect_path(response)}"
    return str(response.status_code)


def codes(spec):
    parts = spec.split()
    assert len(parts) == len(ROLES), f"a spec names one outcome per role: {spec!r}"
    return dict(zip(ROLES, parts, strict=True))


def kept_by_caches(role, response):
    """Whether a page shown to a logged-in role may be stored by a browser or a proxy."""
    cache_control = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return (
        role != "anon"
        and response.status_code == 200
        and not ({"no-store", "private"} <= cache_control)
    )


def check_rule(key, rule, world):
    problems = []
    url = rule.url(key, world)
    for role, expected in codes(rule.get).items():
        response, changed = visit(world, role, "get", url)
        if not matches(expected, response):
            problems.append(f"GET {url} as {role}: expected {expected}, got {described(response)}")
        if changed:
            problems.append(f"GET {url} as {role} changed {changed}")
        if kept_by_caches(role, response):
            problems.append(f"GET {url} as {role} may be cached: {response.get('Cache-Control')}")
    if rule.post is None:
        return problems
    for role, expected in codes(rule.post).items():
        for body, data in (("empty", {}), ("garbage", GARBAGE), ("NUL", NUL_BODY)):
            wanted = "400" if body == "NUL" else expected.split("/")[0 if body == "empty" else -1]
            response, changed = visit(world, role, "post", url, data)
            if not matches(wanted, response):
                problems.append(
                    f"POST ({body}) {url} as {role}: expected {wanted}, got {described(response)}"
                )
            refused = wanted in REFUSALS or body == "NUL"
            if changed and (refused or response.status_code not in (301, 302)):
                problems.append(f"POST ({body}) {url} as {role} changed {changed}")
            if kept_by_caches(role, response):
                problems.append(f"POST ({body}) {url} as {role} may be cached")
    return problems


def test_a_write_is_seen(world):
    """The check of "nothing written" is not blind: a cancellation writes its appointment."""
    url = reverse("desk:cancel", kwargs={"pk": world.appointment.pk})
    response, changed = visit(world, "desk", "post", url, {"reason": "Patient called"})
    assert response.status_code == 302
    assert "bookings.Appointment" in changed


@pytest.mark.parametrize("key", sorted(POLICY))
def test_each_role_gets_what_the_policy_says(key, world):
    rules = POLICY[key] if isinstance(POLICY[key], list) else [POLICY[key]]
    problems = [problem for rule in rules for problem in check_rule(key, rule, world)]
    assert not problems, "\n".join(problems)


# Calling the API ----------------------------------------------------------------------------------


def api_visit(world, role, method, url, body=None):
    """As visit(), through an API client with `role`'s token."""
    with rolled_back_savepoint():
        client = APIClient(raise_request_exception=False)
        if world.tokens[role]:
            client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
        with CaptureQueriesContext(connection) as queries:
            if body is None:
                response = getattr(client, method)(url)
            else:
                response = getattr(client, method)(url, body, format="json")
        transaction.set_rollback(True)
    return response, tables_written(queries.captured_queries)


def api_codes(spec):
    parts = spec.split()
    assert len(parts) == len(API_ROLES), f"an API spec names one outcome per role: {spec!r}"
    return dict(zip(API_ROLES, parts, strict=True))


def in_error_shape(response):
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return set(error) == {"code", "message", "fields"}


def check_api_rule(key, rule, world):
    problems = []
    url = rule.url(key, world)
    for method, spec in rule.methods.items():
        bodies = [("none", None)]
        if method != "get":
            bodies = [("empty", {}), ("garbage", GARBAGE), ("NUL", NUL_BODY)]
        for role, expected in api_codes(spec).items():
            outcomes = expected.split("/")
            for index, (name, body) in enumerate(bodies):
                wanted = int(outcomes[min(index, len(outcomes) - 1)])
                response, changed = api_visit(world, role, method, url, body)
                where = f"{method.upper()} ({name}) {url} as {role}"
                if response.status_code != wanted:
                    problems.append(f"{where}: expected {wanted}, got {response.status_code}")
                if response.status_code >= 400 and not in_error_shape(response):
                    problems.append(f"{where}: not the JSON error shape: {response.content[:80]}")
                if changed and response.status_code >= 400:
                    problems.append(f"{where} changed {changed}")
                if method == "get" and changed:
                    problems.append(f"{where} changed {changed}")
                if kept_by_caches(role, response):
                    problems.append(f"{where} may be cached: {response.get('Cache-Control')}")
    return problems


def test_the_api_checks_are_not_blind(world):
    """A refusal is seen in its shape, and a token that was revoked stops working."""
    response, _ = api_visit(world, "anon", "get", reverse("api:me"))
    assert response.status_code == 401 and in_error_shape(response)
    assert not in_error_shape(api_visit(world, "patient", "get", reverse("api:me"))[0])
    with transaction.atomic():
        AuthToken.objects.filter(user=world.users["patient"]).delete()
        assert api_visit(world, "patient", "get", reverse("api:me"))[0].status_code == 401
        transaction.set_rollback(True)


@pytest.mark.parametrize("key", sorted(API))
def test_each_role_gets_what_the_api_policy_says(key, world):
    rules = API[key] if isinstance(API[key], list) else [API[key]]
    problems = [problem for rule in rules for problem in check_api_rule(key, rule, world)]
    assert not problems, "\n".join(problems)


# Calling the FHIR interface -----------------------------------------------------------------------


def is_operation_outcome(response):
    try:
        body = response.json()
    except ValueError:
        return False
    return (
        response["Content-Type"].startswith("application/fhir+json")
        and isinstance(body, dict)
        and body.get("resourceType") == "OperationOutcome"
        and bool(body.get("issue"))
    )


def check_fhir_rule(key, rule, world):
    problems = []
    url = rule.url(key, world)
    for method, spec in rule.methods.items():
        bodies = [("none", None)]
        if method != "get":
            bodies = [("empty", {}), ("garbage", GARBAGE), ("NUL", NUL_BODY)]
        for role, expected in api_codes(spec).items():
            for name, body in bodies:
                response, changed = api_visit(world, role, method, url, body)
                where = f"{method.upper()} ({name}) {url} as {role}"
                if response.status_code != int(expected):
                    problems.append(f"{where}: expected {expected}, got {response.status_code}")
                if response.status_code >= 400 and not is_operation_outcome(response):
                    problems.append(f"{where}: not an OperationOutcome: {response.content[:80]}")
                if changed:
                    problems.append(f"{where} changed {changed}")
                if kept_by_caches(role, response):
                    problems.append(f"{where} may be cached: {response.get('Cache-Control')}")
    return problems


@pytest.mark.parametrize("key", sorted(FHIR))
def test_each_role_gets_what_the_fhir_policy_says(key, world):
    rules = FHIR[key] if isinstance(FHIR[key], list) else [FHIR[key]]
    problems = [problem for rule in rules for problem in check_fhir_rule(key, rule, world)]
    assert not problems, "\n".join(problems)
