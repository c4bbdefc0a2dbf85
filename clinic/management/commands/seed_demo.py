"""Fills the database with a small, entirely fictional clinic to explore the portal with.

Safe to run again: every row is found by a natural key and updated, never duplicated; the
appointment history is made once (while the walk-in patients have no past appointments).
"""

import datetime
import random
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Patient, User
from accounts.roles import Role
from billing import services as billing_services
from billing.models import Charge, Payment, ReceiptSequence
from billing.money import gst_on, share_of, to_money
from bookings.models import (
    Appointment,
    AppointmentSeries,
    AppointmentType,
    ContactChannel,
    PaymentMode,
    SeriesUnit,
    Status,
)
from bookings.scheduling import BookingRules, at, free_slots
from bookings.selectors import availability_for, open_slots
from bookings.series import SeriesRule, book_series, plan_series
from bookings.services import (
    BookingError,
    book_appointment,
    cancel_appointment,
    confirm_attendance,
)
from doctors.models import (
    Clinic,
    Department,
    Doctor,
    Holiday,
    TimeOff,
    VisitType,
    Weekday,
    WorkingHours,
)
from intake import demo as intake_demo
from waitlist import links as waitlist_links
from waitlist import services as waitlist_services
from waitlist.models import OfferState, WaitlistEntry, WaitlistOffer

DEMO_PASSWORD = "demo-clinic-2026"

t = datetime.time


@dataclass(frozen=True)
class DemoLogin:
    email: str
    full_name: str
    role: Role
    is_staff: bool = False
    language: str = ""  # the login's saved language (accounts.languages); "": the browser's


DEMO_LOGINS = [
    DemoLogin("patient@example.com", "Priya Raman", Role.PATIENT),
    DemoLogin("patient2@example.com", "Tom Fairweather", Role.PATIENT),
    # Reads Hindi: her pages and messages are in Hindi (README, "Languages").
    DemoLogin("patient3@example.com", "Rekha Sharma", Role.PATIENT, language="hi"),
    DemoLogin("doctor@example.com", "Dr Asha Varadan", Role.DOCTOR),
    DemoLogin("frontdesk@example.com", "Meena Joseph", Role.FRONT_DESK, is_staff=True),
    DemoLogin("admin@example.com", "Arjun Kapoor", Role.CLINIC_ADMIN, is_staff=True),
]

DEPARTMENTS = [
    ("General Medicine", t(8), t(20), "Everyday illness, check-ups and referrals."),
    ("Paediatrics", t(9), t(18), "Care for babies, children and teenagers."),
    ("Cardiology", t(9), t(17), "Heart and blood-pressure care."),
    ("Dermatology", t(10), t(18), "Skin, hair and nail conditions."),
    ("Orthopaedics", t(9), t(17), "Bones, joints and sports injuries."),
    ("ENT", t(9), t(16), "Ear, nose and throat."),
]

# Fictional places; the London clinic's time zone observes daylight saving, Bengaluru's does not.
CLINICS = [
    (
        "Lakeview Clinic",
        "12 Lakeview Road\nBengaluru 560001\nIndia",
        "Asia/Kolkata",
        "+447700900100",
    ),
    (
        "Riverside Clinic",
        "5 Riverside Walk\nLondon SE1 9ZZ\nUnited Kingdom",
        "Europe/London",
        "+447700900200",
    ),
]

WEEKDAYS = [Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]
MORNING_AND_AFTERNOON = [(t(9), t(13)), (t(14), t(17))]  # a lunch break between


@dataclass(frozen=True)
class DemoDoctor:
    full_name: str
    department: str
    registration_number: str
    fee: str
    slot_minutes: int
    qualifications: str
    # {clinic name: {weekday: [(start, end), ...]}}
    week: dict
    login_email: str = ""
    registration_expired: bool = False
    is_active: bool = True


def weekdays_at(clinic, days=WEEKDAYS, hours=MORNING_AND_AFTERNOON):
    return {clinic: dict.fromkeys(days, hours)}


LAKEVIEW, RIVERSIDE = CLINICS[0][0], CLINICS[1][0]

DOCTORS = [
    DemoDoctor(
        "Dr Asha Varadan",
        "General Medicine",
        "KMC-100231",
        "500.00",
        15,
        "MBBS, MD",
        {
            LAKEVIEW: dict.fromkeys(WEEKDAYS, MORNING_AND_AFTERNOON)
            | {Weekday.SATURDAY: [(t(9), t(13))]},
        },
        login_email="doctor@example.com",
    ),
    DemoDoctor(
        "Dr Rohan Mehta",
        "General Medicine",
        "KMC-100232",
        "450.00",
        15,
        "MBBS",
        weekdays_at(LAKEVIEW, hours=[(t(8), t(12)), (t(16), t(20))]),
    ),
    DemoDoctor(
        "Dr Helen Ashworth",
        "General Medicine",
        "GMC-7712345",
        "650.00",
        20,
        "MBBS, MRCGP",
        weekdays_at(RIVERSIDE, hours=[(t(9), t(12, 30)), (t(13, 30), t(17, 30))]),
    ),
    DemoDoctor(
        "Dr Kavya Nair",
        "Paediatrics",
        "KMC-100240",
        "600.00",
        20,
        "MBBS, DCH",
        weekdays_at(LAKEVIEW, hours=[(t(9), t(13)), (t(14), t(18))]),
    ),
    DemoDoctor(
        "Dr Samuel Okafor",
        "Paediatrics",
        "GMC-7712399",
        "700.00",
        20,
        "MBBS, MRCPCH",
        weekdays_at(RIVERSIDE, days=[Weekday.MONDAY, Weekday.WEDNESDAY, Weekday.FRIDAY]),
    ),
    DemoDoctor(
        "Dr Vikram Iyer",
        "Cardiology",
        "KMC-100251",
        "1200.00",
        30,
        "MBBS, MD, DM (Cardiology)",
        {
            LAKEVIEW: dict.fromkeys([Weekday.MONDAY, Weekday.TUESDAY], MORNING_AND_AFTERNOON),
            RIVERSIDE: dict.fromkeys([Weekday.THURSDAY, Weekday.FRIDAY], MORNING_AND_AFTERNOON),
        },
    ),
    DemoDoctor(
        "Dr Leela Menon",
        "Cardiology",
        "KMC-100252",
        "1100.00",
        30,
        "MBBS, MD, DM",
        weekdays_at(LAKEVIEW, days=[Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]),
    ),
    DemoDoctor(
        "Dr Nisha Kulkarni",
        "Dermatology",
        "KMC-100261",
        "800.00",
        15,
        "MBBS, MD (Dermatology)",
        weekdays_at(LAKEVIEW, hours=[(t(10), t(13)), (t(14), t(18))]),
    ),
    DemoDoctor(
        "Dr Imran Sheikh",
        "Orthopaedics",
        "KMC-100271",
        "900.00",
        20,
        "MBBS, MS (Ortho)",
        weekdays_at(LAKEVIEW),
    ),
    DemoDoctor(
        "Dr Claire Whitlock",
        "Orthopaedics",
        "GMC-7712455",
        "950.00",
        30,
        "MBBS, FRCS (Orth)",
        weekdays_at(RIVERSIDE, days=[Weekday.TUESDAY, Weekday.THURSDAY]),
    ),
    DemoDoctor(
        "Dr Farah Qureshi",
        "ENT",
        "KMC-100281",
        "700.00",
        15,
        "MBBS, MS (ENT)",
        weekdays_at(LAKEVIEW, hours=[(t(9), t(12)), (t(13), t(16))]),
    ),
    DemoDoctor(
        "Dr George Pinto",
        "ENT",
        "KMC-100282",
        "650.00",
        15,
        "MBBS, DLO",
        weekdays_at(LAKEVIEW, days=[Weekday.SATURDAY], hours=[(t(9), t(13))]),
        registration_expired=True,
    ),
    DemoDoctor(
        "Dr Anita Desai",
        "Dermatology",
        "KMC-100262",
        "750.00",
        15,
        "MBBS, DDVL",
        weekdays_at(LAKEVIEW, days=[Weekday.MONDAY]),
        is_active=False,
    ),
]

# Walk-in and phone patients: directory entries with no login.
WALK_IN_PATIENTS = [
    ("Lakshmi Srinivasan", datetime.date(1958, 3, 14), Patient.Sex.FEMALE),
    ("Arun Prakash", datetime.date(1985, 11, 2), Patient.Sex.MALE),
    ("Zoya Khan", datetime.date(2016, 6, 21), Patient.Sex.FEMALE),
    ("Daniel Brooks", datetime.date(1972, 1, 30), Patient.Sex.MALE),
    ("Sana Iqbal", datetime.date(1993, 9, 9), Patient.Sex.FEMALE),
    ("Ravi Shankar", datetime.date(1948, 12, 5), Patient.Sex.MALE),
    ("Alex Morgan", datetime.date(2001, 4, 17), Patient.Sex.OTHER),
    ("Meera Pillai", datetime.date(2019, 2, 28), Patient.Sex.FEMALE),
    ("Kiran Bhatia", datetime.date(1964, 7, 8), Patient.Sex.MALE),
    ("Fatima Ansari", datetime.date(1988, 2, 19), Patient.Sex.FEMALE),
    ("Oliver Pennington", datetime.date(1999, 10, 3), Patient.Sex.MALE),
    ("Harriet Lowe", datetime.date(1941, 5, 27), Patient.Sex.FEMALE),
    ("Devika Ramaswamy", datetime.date(2009, 12, 11), Patient.Sex.FEMALE),
    ("Rahul Chandran", datetime.date(1977, 3, 30), Patient.Sex.MALE),
    ("Nandini Gowda", datetime.date(1996, 8, 14), Patient.Sex.FEMALE),
    ("George Hadley", datetime.date(1953, 1, 9), Patient.Sex.MALE),
    ("Priyanka Sethi", datetime.date(1982, 6, 25), Patient.Sex.FEMALE),
    ("Tariq Mahmood", datetime.date(1969, 9, 17), Patient.Sex.MALE),
    ("Ishaan Kulkarni", datetime.date(2012, 4, 2), Patient.Sex.MALE),
    ("Emily Thornton", datetime.date(1990, 11, 21), Patient.Sex.FEMALE),
    ("Suresh Natarajan", datetime.date(1945, 7, 30), Patient.Sex.MALE),
    ("Ananya Bose", datetime.date(2004, 3, 8), Patient.Sex.FEMALE),
    ("Jamie Fletcher", datetime.date(1986, 12, 1), Patient.Sex.OTHER),
    ("Rekha Menon", datetime.date(1959, 10, 12), Patient.Sex.FEMALE),
    ("Mohammed Rafiq", datetime.date(1974, 2, 6), Patient.Sex.MALE),
    ("Chloe Whitfield", datetime.date(2014, 9, 23), Patient.Sex.FEMALE),
    ("Venkat Subramanian", datetime.date(1938, 4, 15), Patient.Sex.MALE),
    ("Pooja Thakkar", datetime.date(1991, 5, 5), Patient.Sex.FEMALE),
    ("Samuel Adeyemi", datetime.date(1980, 8, 29), Patient.Sex.MALE),
    ("Lalitha Krishnan", datetime.date(1950, 12, 19), Patient.Sex.FEMALE),
    ("Aditya Joshi", datetime.date(2007, 6, 16), Patient.Sex.MALE),
    ("Grace Whitmore", datetime.date(1967, 3, 3), Patient.Sex.FEMALE),
    ("Nikhil Deshpande", datetime.date(1994, 1, 28), Patient.Sex.MALE),
    ("Sunita Reddy", datetime.date(1971, 11, 11), Patient.Sex.FEMALE),
    ("Walter Ainsley", datetime.date(1935, 9, 2), Patient.Sex.MALE),
    ("Kavitha Rao", datetime.date(1984, 4, 20), Patient.Sex.FEMALE),
    ("Rohit Malhotra", datetime.date(1998, 7, 7), Patient.Sex.MALE),
    ("Aisha Patel", datetime.date(2020, 10, 30), Patient.Sex.FEMALE),
    ("Liam O'Donnell", datetime.date(2011, 2, 14), Patient.Sex.MALE),
    ("Shanthi Murugan", datetime.date(1962, 6, 6), Patient.Sex.FEMALE),
    ("Arjun Nambiar", datetime.date(1979, 12, 24), Patient.Sex.MALE),
    ("Robin Ashby", datetime.date(1993, 3, 17), Patient.Sex.UNDISCLOSED),
    ("Farida Begum", datetime.date(1947, 8, 1), Patient.Sex.FEMALE),
    ("Vivek Iyengar", datetime.date(1957, 5, 13), Patient.Sex.MALE),
    ("Isla Carmichael", datetime.date(2017, 1, 19), Patient.Sex.FEMALE),
    ("Manoj Pillai", datetime.date(1966, 10, 10), Patient.Sex.MALE),
    ("Sam Okoro", datetime.date(1989, 9, 9), Patient.Sex.UNDISCLOSED),
    ("Nora Bennett", datetime.date(1955, 2, 22), Patient.Sex.FEMALE),
    ("Yusuf Qadri", datetime.date(2002, 11, 5), Patient.Sex.MALE),
]

LOGIN_PATIENT_DETAILS = {
    "patient@example.com": (datetime.date(1990, 5, 12), Patient.Sex.FEMALE, "+447700900301"),
    "patient2@example.com": (datetime.date(1979, 8, 23), Patient.Sex.MALE, "+447700900302"),
    "patient3@example.com": (datetime.date(1968, 1, 26), Patient.Sex.FEMALE, "+919876500303"),
}


# The clinic's recent past, for the reports: about three months of the walk-in patients' visits.
HISTORY_SEED = 2026
# Attendance confirmations (a link in a reminder, or the desk by phone) are drawn from a stream of
# their own, so that the rest of the history stays as it was. Chance of one, by what happened.
CONFIRMATION_SEED = 2027
CONFIRMED_SHARE = {Status.COMPLETED: 0.7, Status.NO_SHOW: 0.25}
HISTORY_DAYS = 90
# Share of each doctor's slots booked on a past day, before the no-shows and cancellations.
HISTORY_FILL = (0.08, 0.16)
# How a booked past slot turned out: (outcome, weight). "moved" is a visit moved to a later time
# of the same doctor, which then took place.
HISTORY_OUTCOMES = [("completed", 80), ("no_show", 8), ("cancelled", 9), ("moved", 3)]
PAYMENT_MODES = [(Payment.Mode.CASH, 35), (Payment.Mode.CARD, 35), (Payment.Mode.UPI, 30)]
HISTORY_REASONS = [
    "",
    "",
    "",
    "Fever",
    "Follow-up",
    "Annual check-up",
    "Back pain",
    "Blood test results",
    "Skin rash",
    "Earache",
    "Chest pain",
    "Knee injury",
]
CANCELLATION_REASONS = ["Feeling better", "Clash with work", "Travelling", "Booked by mistake"]
HISTORY_TYPES = [
    (AppointmentType.CONSULTATION, 55),
    (AppointmentType.FOLLOW_UP, 25),
    (AppointmentType.HEALTH_CHECK, 10),
    (AppointmentType.REPORT_REVIEW, 10),
]
# Two refunds by the demo clinic admin: (share of the payment, reason).
DEMO_REFUNDS = [
    (Decimal("1"), "Fee waived: the doctor was called away mid-consultation."),
    (Decimal("0.5"), "Goodwill refund: a long wait past the appointment time."),
]
UPCOMING_BOOKINGS = 24
UPCOMING_DAYS = 14


@contextmanager
def timestamps_as_given(*models):
    """bulk_create stores the created/updated times on the objects, not the present moment: a
    history booked weeks ago says so."""
    fields = [
        field
        for model in models
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    ]
    saved = [(field, field.auto_now, field.auto_now_add) for field in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def weighted(rng, choices):
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights)[0]


def next_occurrence(month, day, today):
    this_year = datetime.date(today.year, month, day)
    return this_year if this_year >= today else datetime.date(today.year + 1, month, day)


class Command(BaseCommand):
    help = "Creates (or refreshes) a fictional demo clinic with one login per role."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-without-debug",
            action="store_true",
            help="Seed even though DEBUG is off. Demo logins have a published password: "
            "never use this on a real clinic's database.",
        )

    def handle(self, *args, allow_without_debug=False, **options):
        if not settings.DEBUG and not allow_without_debug:
            raise CommandError(
                "seed_demo creates logins with a published password, so it runs only with "
                "DEBUG on (or with --allow-without-debug on a throwaway database)."
            )
        # Bookings and payments go through the services, which refuse to run inside an outer
        # transaction (each commit of theirs is final): the rest is one transaction before them.
        with transaction.atomic():
            users = self.seed_logins()
            departments = self.seed_departments()
            clinics = self.seed_clinics()
            self.seed_doctors(departments, clinics, users)
            self.seed_visit_types()
            self.seed_holidays(clinics)
            self.seed_time_off()
            self.seed_patients(users)
        self.seed_appointments(users)
        self.seed_typed_appointments(users)
        self.seed_video_visit(users)
        self.seed_series(users)
        self.seed_history(users)
        # The visit types' intake questions (first consultations ask one of each kind).
        intake_demo.seed_questions()
        offer_url = self.seed_waitlist(users)
        self.print_logins()
        if offer_url:
            self.stdout.write(
                "Waitlist: patient2@example.com has a freed time offered; open it at "
                f"{offer_url} (or under My waitlist) before it lapses."
            )

    def seed_logins(self):
        users = {}
        for login in DEMO_LOGINS:
            user, _ = User.objects.update_or_create(
                email=login.email,
                defaults={
                    "full_name": login.full_name,
                    "is_staff": login.is_staff,
                    "is_active": True,
                    "language": login.language,
                },
            )
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            user.groups.set([Group.objects.get(name=login.role)])
            users[login.email] = user
        return users

    def seed_departments(self):
        departments = {}
        for name, opens_at, closes_at, description in DEPARTMENTS:
            departments[name], _ = Department.objects.update_or_create(
                name=name,
                defaults={"opens_at": opens_at, "closes_at": closes_at, "description": description},
            )
        return departments

    def seed_clinics(self):
        clinics = {}
        for name, address, zone, phone in CLINICS:
            clinics[name], _ = Clinic.objects.update_or_create(
                name=name,
                defaults={"address": address, "timezone": zone, "phone": phone},
            )
        return clinics

    def seed_doctors(self, departments, clinics, users):
        today = timezone.localdate()
        for demo in DOCTORS:
            expires_on = (
                today - datetime.timedelta(days=30)
                if demo.registration_expired
                else today + datetime.timedelta(days=730)
            )
            doctor, _ = Doctor.objects.update_or_create(
                registration_number=demo.registration_number,
                defaults={
                    "full_name": demo.full_name,
                    "department": departments[demo.department],
                    "qualifications": demo.qualifications,
                    "consultation_fee": Decimal(demo.fee),
                    "slot_minutes": demo.slot_minutes,
                    "registration_expires_on": expires_on,
                    "is_active": demo.is_active,
                    "user": users.get(demo.login_email),
                },
            )
            for clinic_name, days in demo.week.items():
                for weekday, stretches in days.items():
                    for starts_at, ends_at in stretches:
                        WorkingHours.objects.update_or_create(
                            doctor=doctor,
                            weekday=weekday,
                            starts_at=starts_at,
                            defaults={"clinic": clinics[clinic_name], "ends_at": ends_at},
                        )

    def seed_holidays(self, clinics):
        today = timezone.localdate()
        Holiday.objects.get_or_create(
            date=next_occurrence(12, 25, today), clinic=None, defaults={"name": "Christmas Day"}
        )
        Holiday.objects.get_or_create(
            date=next_occurrence(1, 26, today),
            clinic=clinics[LAKEVIEW],
            defaults={"name": "Republic Day"},
        )

    def seed_time_off(self):
        """Next Wednesday morning, one doctor is at a conference (in the clinic's local time)."""
        doctor = Doctor.objects.get(registration_number="KMC-100271")
        zone = Clinic.objects.get(name=LAKEVIEW).zone
        today = timezone.localdate()
        wednesday = today + datetime.timedelta(days=(Weekday.WEDNESDAY - today.weekday()) % 7 or 7)
        TimeOff.objects.update_or_create(
            doctor=doctor,
            reason="Medical conference",
            defaults={
                "starts_at": datetime.datetime.combine(wednesday, t(9), tzinfo=zone),
                "ends_at": datetime.datetime.combine(wednesday, t(13), tzinfo=zone),
            },
        )

    def seed_patients(self, users):
        for email, (born, sex, phone) in LOGIN_PATIENT_DETAILS.items():
            user = users[email]
            user.phone = phone
            user.save(update_fields=["phone"])
            Patient.objects.update_or_create(
                user=user,
                defaults={
                    "full_name": user.full_name,
                    "date_of_birth": born,
                    "sex": sex,
                    "phone": phone,
                    "email": email,
                    "language": user.language,
                },
            )
        for number, (name, born, sex) in enumerate(WALK_IN_PATIENTS, start=1):
            Patient.objects.update_or_create(
                full_name=name,
                date_of_birth=born,
                user=None,
                defaults={"sex": sex, "phone": f"+447700900{400 + number}"},
            )

    def seed_appointments(self, users):
        """Each demo patient with a login has a visit behind them and one ahead, booked through the
        booking service like any other. Patients who already have appointments are left alone."""
        now = timezone.now()
        plans = [
            # The demo doctor's patient, and one at the London clinic to show another time zone.
            ("patient@example.com", DOCTORS[0], AppointmentType.CONSULTATION, "Headaches"),
            ("patient2@example.com", DOCTORS[2], AppointmentType.FOLLOW_UP, ""),
            ("patient3@example.com", DOCTORS[1], AppointmentType.CONSULTATION, ""),
        ]
        for email, demo_doctor, appointment_type, reason in plans:
            patient = Patient.objects.get(user=users[email])
            if Appointment.objects.filter(patient=patient).exists():
                continue
            doctor = Doctor.objects.select_related("department").get(
                registration_number=demo_doctor.registration_number
            )
            clinic = doctor.working_hours.select_related("clinic").first().clinic
            self.seed_past_visit(patient, doctor, clinic, now, users["frontdesk@example.com"])
            # Two days out, so the demo patient can still move or cancel it online.
            slots = open_slots(doctor=doctor, clinic=clinic, now=now + datetime.timedelta(days=2))
            if slots:
                book_appointment(
                    patient=patient,
                    doctor=doctor,
                    clinic=clinic,
                    start=slots[0].start,
                    appointment_type=appointment_type,
                    payment_mode=PaymentMode.AT_CLINIC,
                    reason=reason,
                    by=users[email],
                    now=now,
                )

    def seed_video_visit(self, users):
        """patient@example.com also has a video visit with the demo doctor about three days
        ahead, of a video type the doctor offers (its page says when the link to join opens;
        README, "Video visits"). Made once."""
        patient = Patient.objects.get(user=users["patient@example.com"])
        doctor = Doctor.objects.select_related("department").get(
            registration_number=DOCTORS[0].registration_number
        )
        video_types = (
            VisitType.objects.active().for_doctor(doctor).filter(mode=VisitType.Mode.VIDEO)
        )
        visit_type = video_types.first()
        if visit_type is None or patient.appointments.filter(visit_type__in=video_types).exists():
            return
        clinic = doctor.working_hours.select_related("clinic").first().clinic
        now = timezone.now()
        slots = open_slots(
            doctor=doctor,
            clinic=clinic,
            now=now + datetime.timedelta(days=3),
            visit_type=visit_type,
        )
        if slots:
            book_appointment(
                patient=patient,
                doctor=doctor,
                clinic=clinic,
                start=slots[0].start,
                appointment_type=AppointmentType.FOLLOW_UP,
                payment_mode=PaymentMode.AT_CLINIC,
                by=users["patient@example.com"],
                now=now,
                visit_type=visit_type,
            )

    def seed_series(self, users):
        """A weekly series of three follow-ups with the demo doctor that the front desk booked for
        the walk-in patient Lakshmi Srinivasan, from about a week ahead (README, "Recurring
        series"): planned and booked through bookings.series like the desk's page does, each
        taken time the wanted one or the next free one. Made once."""
        patient = Patient.objects.get(full_name=WALK_IN_PATIENTS[0][0], user=None)
        if AppointmentSeries.objects.filter(patient=patient).exists():
            return
        doctor = Doctor.objects.select_related("department").get(
            registration_number=DOCTORS[0].registration_number
        )
        visit_type = VisitType.objects.for_doctor(doctor).filter(name="Follow-up").first()
        clinic = doctor.working_hours.select_related("clinic").first().clinic
        now = timezone.now()
        slots = open_slots(
            doctor=doctor,
            clinic=clinic,
            now=now + datetime.timedelta(days=7),
            visit_type=visit_type,
        )
        if not slots:
            return
        rule = SeriesRule(every=1, unit=SeriesUnit.WEEKS, count=3)
        plan = plan_series(
            doctor=doctor,
            clinic=clinic,
            first_start=slots[0].start,
            rule=rule,
            patient=patient,
            now=now,
            visit_type=visit_type,
        )
        starts = [occurrence.choices[0] for occurrence in plan.occurrences if occurrence.choices]
        if starts:
            book_series(
                patient=patient,
                doctor=doctor,
                clinic=clinic,
                starts=starts[: plan.room],
                rule=rule,
                appointment_type=AppointmentType.FOLLOW_UP,
                payment_mode=PaymentMode.AT_CLINIC,
                reason="Blood pressure review",
                by=users["frontdesk@example.com"],
                now=now,
                visit_type=visit_type,
            )

    def seed_visit_types(self):
        """Every department's visit types (README, "Visit types"): a 20-minute first
        consultation (the default), a 10-minute follow-up, a 45-minute procedure with 10 minutes
        after it to clean up (booked by the front desk only), and a 10-minute video follow-up.
        Seeding again adds none that are there."""
        kinds = [
            ("First consultation", {"minutes": 20, "position": 1}),
            ("Follow-up", {"minutes": 10, "position": 2, "patients_may_book_series": True}),
            (
                "Procedure",
                {
                    "minutes": 45,
                    "buffer_after_minutes": 10,
                    "position": 3,
                    "bookable_online": False,
                    "fee": Decimal("2500.00"),
                },
            ),
            (
                "Video follow-up",
                {"minutes": 10, "position": 4, "mode": VisitType.Mode.VIDEO},
            ),
        ]
        for department in Department.objects.all():
            for name, fields in kinds:
                VisitType.objects.get_or_create(department=department, name=name, defaults=fields)

    def seed_typed_appointments(self, users):
        """Upcoming visits of the demo doctor's types: a first consultation patient2@example.com
        booked online, and a procedure the front desk booked for patient@example.com (a type
        patients cannot book online). Made once each."""
        doctor = Doctor.objects.select_related("department").get(
            registration_number=DOCTORS[0].registration_number
        )
        clinic = doctor.working_hours.select_related("clinic").first().clinic
        now = timezone.now()
        plans = [
            ("patient2@example.com", "First consultation", "patient2@example.com", 4),
            ("patient@example.com", "Procedure", "frontdesk@example.com", 5),
        ]
        for email, type_name, booked_by, days_ahead in plans:
            patient = Patient.objects.get(user=users[email])
            visit_type = VisitType.objects.for_doctor(doctor).filter(name=type_name).first()
            if visit_type is None or patient.appointments.filter(visit_type=visit_type).exists():
                continue
            slots = open_slots(
                doctor=doctor,
                clinic=clinic,
                now=now + datetime.timedelta(days=days_ahead),
                visit_type=visit_type,
            )
            if slots:
                book_appointment(
                    patient=patient,
                    doctor=doctor,
                    clinic=clinic,
                    start=slots[0].start,
                    appointment_type=AppointmentType.CONSULTATION,
                    payment_mode=PaymentMode.AT_CLINIC,
                    by=users[booked_by],
                    now=now,
                    visit_type=visit_type,
                )

    def seed_past_visit(self, patient, doctor, clinic, now, front_desk):
        """A completed visit about three weeks ago, at the doctor's first hour that day."""
        day = (now - datetime.timedelta(days=21)).astimezone(clinic.zone).date()
        hours = doctor.working_hours.filter(clinic=clinic).order_by("weekday", "starts_at")
        first = hours.first()
        day -= datetime.timedelta(days=(day.weekday() - first.weekday) % 7)
        start = datetime.datetime.combine(day, first.starts_at, tzinfo=clinic.zone)
        end = start + datetime.timedelta(minutes=doctor.slot_minutes)
        with transaction.atomic():
            visit = Appointment.objects.create(
                patient=patient,
                doctor=doctor,
                clinic=clinic,
                start=start,
                end=end,
                appointment_type=AppointmentType.CONSULTATION,
                payment_mode=PaymentMode.AT_CLINIC,
                status=Status.COMPLETED,
                checked_in_at=start - datetime.timedelta(minutes=10),
                completed_at=end,
                created_by=front_desk,
            )
            charge = billing_services.open_charge(appointment=visit)
        # Paid at the desk after the visit, with a receipt like any other.
        billing_services.record_payment(
            charge=charge,
            amount=charge.total,
            mode=Payment.Mode.CARD,
            reference="DEMO-SLIP-0001",
            by=front_desk,
            now=end + datetime.timedelta(minutes=5),
        )

    # The clinic's recent history -------------------------------------------------------------

    def seed_history(self, users):
        """About three months of the walk-in patients' visits across the demo doctors (mostly
        completed and paid, some no-shows, cancellations and moved visits, two refunds), and some
        upcoming bookings. Made once: skipped when the walk-in patients have past appointments."""
        now = timezone.now()
        walk_ins = list(
            Patient.objects.filter(
                user=None, full_name__in=[name for name, _, _ in WALK_IN_PATIENTS]
            ).order_by("pk")
        )
        if Appointment.objects.filter(patient__in=walk_ins, start__lt=now).exists():
            return
        rng = random.Random(HISTORY_SEED)
        desk, admin = users["frontdesk@example.com"], users["admin@example.com"]
        with transaction.atomic():
            visits = self.seed_past_appointments(rng, walk_ins, desk, now)
            self.seed_history_payments(rng, visits, desk, admin, now)
        self.seed_upcoming(rng, walk_ins, desk, now)

    def _history_rows(self, rng, doctor, clinic, walk_ins, desk, now):
        """(rows, moves) for one doctor at one clinic: Appointment objects, and (old, new) pairs
        of a visit moved to a later time. Every start is a free slot of the doctor's own grid."""
        zone = clinic.zone
        first_day = (now - datetime.timedelta(days=HISTORY_DAYS)).astimezone(zone).date()
        last_day = (now - datetime.timedelta(days=1)).astimezone(zone).date()
        availability = availability_for(
            doctor=doctor, clinic=clinic, first_day=first_day, last_day=last_day
        )
        slots = free_slots(
            availability,
            first_day=first_day,
            last_day=last_day,
            now=at(first_day, t(0), zone),
            rules=BookingRules(minimum_notice=datetime.timedelta(0), window_days=HISTORY_DAYS + 2),
        )
        fill = rng.uniform(*HISTORY_FILL)
        taken = [rng.random() < fill for _ in slots]
        rows, moves, moved_into = [], [], set()
        for index, slot in enumerate(slots):
            if not taken[index] or index in moved_into:
                continue
            outcome = weighted(rng, HISTORY_OUTCOMES)
            patient = rng.choice(walk_ins)
            visit = self._past_visit(rng, doctor, clinic, patient, slot, desk, now)
            if outcome == "moved":
                # To a free slot of the same doctor one to ten days on, still in the past.
                later = [
                    i
                    for i in range(index + 1, len(slots))
                    if not taken[i]
                    and datetime.timedelta(days=1)
                    <= slots[i].start - slot.start
                    <= datetime.timedelta(days=10)
                ]
                if later:
                    new_index = rng.choice(later)
                    taken[new_index] = True
                    moved_into.add(new_index)
                    moved_at = visit.created_at + (slot.start - visit.created_at) * rng.random()
                    self._cancel(visit, desk, moved_at, "Moved to a new time")
                    new = self._past_visit(
                        rng, doctor, clinic, patient, slots[new_index], desk, now, booked=moved_at
                    )
                    new.appointment_type, new.reason = visit.appointment_type, visit.reason
                    self._finish(rng, new, "completed")
                    moves.append((visit, new))
                    continue
                outcome = "completed"
            self._finish(rng, visit, outcome)
            rows.append(visit)
        return rows, moves

    def _past_visit(self, rng, doctor, clinic, patient, slot, desk, now, booked=None):
        lead = datetime.timedelta(hours=min(30 * 24, 1 + rng.expovariate(1 / (4 * 24))))
        created = booked or min(slot.start - lead, now)
        return Appointment(
            patient=patient,
            doctor=doctor,
            clinic=clinic,
            start=slot.start,
            end=slot.end,
            appointment_type=weighted(rng, HISTORY_TYPES),
            payment_mode=PaymentMode.AT_CLINIC,
            reason=rng.choice(HISTORY_REASONS),
            status=Status.BOOKED,
            created_by=desk,
            created_at=created,
            updated_at=created,
        )

    def _cancel(self, visit, desk, when, reason):
        visit.status = Status.CANCELLED
        visit.cancelled_at = visit.updated_at = when
        visit.cancelled_by = desk
        visit.cancellation_reason = reason

    def _finish(self, rng, visit, outcome):
        if outcome == "completed":
            visit.status = Status.COMPLETED
            visit.checked_in_at = visit.start - datetime.timedelta(minutes=rng.randint(0, 20))
            visit.completed_at = visit.end + datetime.timedelta(minutes=rng.randint(0, 10))
            visit.updated_at = visit.completed_at
        elif outcome == "no_show":
            visit.status = Status.NO_SHOW
            visit.no_show_at = visit.updated_at = visit.start + datetime.timedelta(minutes=20)
        else:
            when = visit.created_at + (visit.start - visit.created_at) * rng.random()
            self._cancel(visit, visit.created_by, when, rng.choice(CANCELLATION_REASONS))

    def seed_past_appointments(self, rng, walk_ins, desk, now):
        """Bulk-written appointments, each with its charge fixed at booking, as booking does
        (a moved visit's charge went with it to the new time). Returns the completed visits."""
        today = timezone.localdate()
        doctors = (
            Doctor.objects.filter(is_active=True, registration_expires_on__gte=today)
            .select_related("department")
            .prefetch_related("working_hours__clinic")
            .order_by("registration_number")
        )
        rows, moves = [], []
        for doctor in doctors:
            clinics = sorted({hours.clinic for hours in doctor.working_hours.all()}, key=str)
            for clinic in clinics:
                more_rows, more_moves = self._history_rows(rng, doctor, clinic, walk_ins, desk, now)
                rows += more_rows
                moves += more_moves
        self._confirmations(rows + [new for _, new in moves], desk)
        with timestamps_as_given(Appointment, Charge):
            Appointment.objects.bulk_create(rows + [old for old, _ in moves])
            for old, new in moves:
                new.rescheduled_from = old
            Appointment.objects.bulk_create([new for _, new in moves])
            rate = billing_services.gst_rate()
            charged = rows + [new for _, new in moves]
            charges = []
            for visit in charged:
                fee = to_money(visit.doctor.consultation_fee)
                gst = gst_on(fee, rate)
                charges.append(
                    Charge(
                        appointment=visit,
                        fee=fee,
                        gst_rate=rate,
                        gst=gst,
                        total=fee + gst,
                        currency=settings.CURRENCY,
                        created_at=visit.created_at,
                    )
                )
            Charge.objects.bulk_create(charges)
        completed = [charge for charge in charges if charge.appointment.status == Status.COMPLETED]
        return sorted(completed, key=lambda charge: charge.appointment.completed_at)

    def _confirmations(self, visits, desk):
        """Most patients who came had said they would; fewer of those who did not. Four in five
        through the link in a message, the rest to the front desk by phone."""
        rng = random.Random(CONFIRMATION_SEED)
        for visit in visits:
            if rng.random() >= CONFIRMED_SHARE.get(visit.status, 0):
                continue
            visit.attendance_confirmed_at = visit.created_at + (
                visit.start - visit.created_at
            ) * rng.uniform(0.3, 0.9)
            by_link = rng.random() < 0.8
            visit.attendance_confirmed_via = ContactChannel.LINK if by_link else ContactChannel.DESK
            visit.attendance_confirmed_by = None if by_link else desk

    def seed_history_payments(self, rng, charges, desk, admin, now):
        """Each completed visit paid in full at the desk just after it ended; two payments from
        the last month partly or wholly refunded by the clinic admin a few days later.

        Written in bulk as billing.services would write them, one by one (which takes seconds
        for a thousand payments): a full payment carries its charge's own fee and GST, a refund
        the payment's shares of them (billing.money), and receipt numbers continue the gapless
        sequence in the order the money changed hands.
        """
        payments = []
        for number, charge in enumerate(charges, start=1):
            mode = weighted(rng, PAYMENT_MODES)
            reference = "" if mode == Payment.Mode.CASH else f"DEMO-{mode.upper()}-{number:05d}"
            paid_at = charge.appointment.completed_at + datetime.timedelta(
                minutes=rng.randint(1, 15)
            )
            payments.append(
                Payment(
                    charge=charge,
                    kind=Payment.Kind.PAYMENT,
                    mode=mode,
                    fee=charge.fee,
                    gst=charge.gst,
                    total=charge.total,
                    reference=reference,
                    recorded_by=desk,
                    recorded_at=min(paid_at, now),
                    doctor_id=charge.appointment.doctor_id,
                    clinic_id=charge.appointment.clinic_id,
                )
            )
        recent = [p for p in payments if p.recorded_at > now - datetime.timedelta(days=30)]
        refunds = []
        for (share, reason), payment in zip(
            DEMO_REFUNDS, rng.sample(recent, len(DEMO_REFUNDS)), strict=True
        ):
            amount = to_money(payment.total * share)
            fee = share_of(amount, payment.total, payment.fee)
            refunds.append(
                Payment(
                    charge=payment.charge,
                    kind=Payment.Kind.REFUND,
                    mode=payment.mode,
                    fee=fee,
                    gst=amount - fee,
                    total=amount,
                    refund_of=payment,
                    reason=reason,
                    recorded_by=admin,
                    recorded_at=min(
                        payment.recorded_at + datetime.timedelta(days=rng.randint(1, 3)), now
                    ),
                    doctor_id=payment.doctor_id,
                    clinic_id=payment.clinic_id,
                )
            )
        ledger = sorted(payments + refunds, key=lambda entry: entry.recorded_at)
        sequence = ReceiptSequence.objects.select_for_update().get(name=billing_services.RECEIPTS)
        for offset, entry in enumerate(ledger, start=1):
            entry.receipt_number = sequence.last_number + offset
        Payment.objects.bulk_create(payments)
        Payment.objects.bulk_create(refunds)  # after the payments they point at have their ids
        sequence.last_number += len(ledger)
        sequence.save(update_fields=["last_number"])

    def seed_upcoming(self, rng, walk_ins, desk, now):
        """Bookings over the next two weeks, through the booking service, one per patient."""
        today = timezone.localdate()
        doctors = list(
            Doctor.objects.filter(is_active=True, registration_expires_on__gte=today)
            .select_related("department")
            .prefetch_related("working_hours__clinic")
            .order_by("registration_number")
        )
        free = []
        for doctor in doctors:
            for clinic in sorted({hours.clinic for hours in doctor.working_hours.all()}, key=str):
                last_day = (now + datetime.timedelta(days=UPCOMING_DAYS)).astimezone(clinic.zone)
                free += [
                    (doctor, clinic, slot)
                    for slot in open_slots(
                        doctor=doctor, clinic=clinic, now=now, last_day=last_day.date()
                    )
                ]
        patients = rng.sample(walk_ins, min(UPCOMING_BOOKINGS, len(walk_ins)))
        for number, (patient, (doctor, clinic, slot)) in enumerate(
            zip(patients, rng.sample(free, len(patients)), strict=True)
        ):
            try:
                booked = book_appointment(
                    patient=patient,
                    doctor=doctor,
                    clinic=clinic,
                    start=slot.start,
                    appointment_type=weighted(rng, HISTORY_TYPES),
                    payment_mode=PaymentMode.AT_CLINIC,
                    reason=rng.choice(HISTORY_REASONS),
                    by=desk,
                    now=now,
                )
            except BookingError:
                continue  # e.g. a patient already at the cap of upcoming bookings
            if number % 2 == 0:  # every other patient has confirmed with the link in a message
                confirm_attendance(appointment=booked, via=ContactChannel.LINK, now=now)

    def seed_waitlist(self, users):
        """The second demo patient waits for the demo doctor, and a walk-in for any doctor of that
        department; a time of the demo doctor's, booked and cancelled by the front desk, is
        offered to the second patient (first in line). Returns a link to the open offer, made
        anew on each run while the patient has no open offer (an offer lapses after
        WAITLIST_OFFER_MINUTES)."""
        now = timezone.now()
        desk = users["frontdesk@example.com"]
        patient = Patient.objects.get(user=users["patient2@example.com"])
        doctor = Doctor.objects.select_related("department").get(
            registration_number=DOCTORS[0].registration_number
        )
        clinic = doctor.working_hours.select_related("clinic").first().clinic
        today = timezone.localdate(now)
        latest = today + datetime.timedelta(days=14)
        entry = WaitlistEntry.objects.active().filter(patient=patient, doctor=doctor).first()
        if entry is None:
            entry = waitlist_services.join_waitlist(
                patient=patient, doctor=doctor, earliest=today, latest=latest, by=patient.user
            )
        walk_in = Patient.objects.filter(user=None, full_name=WALK_IN_PATIENTS[0][0]).first()
        waiting = WaitlistEntry.objects.active().filter(patient=walk_in)
        if walk_in is not None and not waiting.filter(department=doctor.department).exists():
            waitlist_services.join_waitlist(
                patient=walk_in,
                department=doctor.department,
                earliest=today,
                latest=latest,
                by=desk,
            )
        offer = (
            WaitlistOffer.objects.filter(entry=entry, state=OfferState.OPEN, expires_at__gt=now)
            .select_related("clinic")
            .first()
        )
        if offer is None:
            offer = self._offer_a_freed_time(entry, doctor, clinic, desk, now)
        if offer is None:
            return ""
        return waitlist_links.issue(offer, now=now)

    def _offer_a_freed_time(self, entry, doctor, clinic, desk, now):
        slots = open_slots(doctor=doctor, clinic=clinic, now=now + datetime.timedelta(days=3))
        walk_ins = Patient.objects.filter(user=None).exclude(pk=entry.patient_id).order_by("-pk")
        if not slots:
            return None
        for someone in walk_ins[:5]:  # the first not yet at the cap of upcoming bookings
            try:
                booked = book_appointment(
                    patient=someone,
                    doctor=doctor,
                    clinic=clinic,
                    start=slots[0].start,
                    appointment_type=AppointmentType.CONSULTATION,
                    payment_mode=PaymentMode.AT_CLINIC,
                    by=desk,
                    now=now,
                )
            except BookingError:
                continue
            cancel_appointment(appointment=booked, by=desk, reason="Patient phoned to cancel")
            waitlist_services.offer_freed_times()  # after the cancellation's moment
            return WaitlistOffer.objects.filter(entry=entry, state=OfferState.OPEN).first()
        return None

    def print_logins(self):
        self.stdout.write(self.style.SUCCESS("Demo clinic ready. Log in at /accounts/login/ with:"))
        width = max(len(login.email) for login in DEMO_LOGINS)
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.role:<13} {login.email:<{width}}  {DEMO_PASSWORD}")
        self.stdout.write("Clinic admins and front desk also reach the admin at /admin/.")
