"""Fills the database with a small, entirely fictional clinic to explore the portal with.

Safe to run again: every row is found by a natural key and updated, never duplicated.
"""

import datetime
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
from billing.models import Payment
from bookings.models import Appointment, AppointmentType, PaymentMode, Status
from bookings.selectors import open_slots
from bookings.services import book_appointment
from doctors.models import Clinic, Department, Doctor, Holiday, TimeOff, Weekday, WorkingHours

DEMO_PASSWORD = "demo-clinic-2026"

t = datetime.time


@dataclass(frozen=True)
class DemoLogin:
    email: str
    full_name: str
    role: Role
    is_staff: bool = False


DEMO_LOGINS = [
    DemoLogin("patient@example.com", "Priya Raman", Role.PATIENT),
    DemoLogin("patient2@example.com", "Tom Fairweather", Role.PATIENT),
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
    return {clinic: {day: hours for day in days}}


LAKEVIEW, RIVERSIDE = CLINICS[0][0], CLINICS[1][0]

DOCTORS = [
    DemoDoctor(
        "Dr Asha Varadan", "General Medicine", "KMC-100231", "500.00", 15, "MBBS, MD",
        {
            LAKEVIEW: {d: MORNING_AND_AFTERNOON for d in WEEKDAYS}
            | {Weekday.SATURDAY: [(t(9), t(13))]},
        },
        login_email="doctor@example.com",
    ),
    DemoDoctor(
        "Dr Rohan Mehta", "General Medicine", "KMC-100232", "450.00", 15, "MBBS",
        weekdays_at(LAKEVIEW, hours=[(t(8), t(12)), (t(16), t(20))]),
    ),
    DemoDoctor(
        "Dr Helen Ashworth", "General Medicine", "GMC-7712345", "650.00", 20, "MBBS, MRCGP",
        weekdays_at(RIVERSIDE, hours=[(t(9), t(12, 30)), (t(13, 30), t(17, 30))]),
    ),
    DemoDoctor(
        "Dr Kavya Nair", "Paediatrics", "KMC-100240", "600.00", 20, "MBBS, DCH",
        weekdays_at(LAKEVIEW, hours=[(t(9), t(13)), (t(14), t(18))]),
    ),
    DemoDoctor(
        "Dr Samuel Okafor", "Paediatrics", "GMC-7712399", "700.00", 20, "MBBS, MRCPCH",
        weekdays_at(RIVERSIDE, days=[Weekday.MONDAY, Weekday.WEDNESDAY, Weekday.FRIDAY]),
    ),
    DemoDoctor(
        "Dr Vikram Iyer", "Cardiology", "KMC-100251", "1200.00", 30, "MBBS, MD, DM (Cardiology)",
        {
            LAKEVIEW: {d: MORNING_AND_AFTERNOON for d in [Weekday.MONDAY, Weekday.TUESDAY]},
            RIVERSIDE: {d: MORNING_AND_AFTERNOON for d in [Weekday.THURSDAY, Weekday.FRIDAY]},
        },
    ),
    DemoDoctor(
        "Dr Leela Menon", "Cardiology", "KMC-100252", "1100.00", 30, "MBBS, MD, DM",
        weekdays_at(LAKEVIEW, days=[Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]),
    ),
    DemoDoctor(
        "Dr Nisha Kulkarni", "Dermatology", "KMC-100261", "800.00", 15, "MBBS, MD (Dermatology)",
        weekdays_at(LAKEVIEW, hours=[(t(10), t(13)), (t(14), t(18))]),
    ),
    DemoDoctor(
        "Dr Imran Sheikh", "Orthopaedics", "KMC-100271", "900.00", 20, "MBBS, MS (Ortho)",
        weekdays_at(LAKEVIEW),
    ),
    DemoDoctor(
        "Dr Claire Whitlock", "Orthopaedics", "GMC-7712455", "950.00", 30, "MBBS, FRCS (Orth)",
        weekdays_at(RIVERSIDE, days=[Weekday.TUESDAY, Weekday.THURSDAY]),
    ),
    DemoDoctor(
        "Dr Farah Qureshi", "ENT", "KMC-100281", "700.00", 15, "MBBS, MS (ENT)",
        weekdays_at(LAKEVIEW, hours=[(t(9), t(12)), (t(13), t(16))]),
    ),
    DemoDoctor(
        "Dr George Pinto", "ENT", "KMC-100282", "650.00", 15, "MBBS, DLO",
        weekdays_at(LAKEVIEW, days=[Weekday.SATURDAY], hours=[(t(9), t(13))]),
        registration_expired=True,
    ),
    DemoDoctor(
        "Dr Anita Desai", "Dermatology", "KMC-100262", "750.00", 15, "MBBS, DDVL",
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
]

LOGIN_PATIENT_DETAILS = {
    "patient@example.com": (datetime.date(1990, 5, 12), Patient.Sex.FEMALE, "+447700900301"),
    "patient2@example.com": (datetime.date(1979, 8, 23), Patient.Sex.MALE, "+447700900302"),
}


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
        with transaction.atomic():
            users = self.seed_logins()
            departments = self.seed_departments()
            clinics = self.seed_clinics()
            self.seed_doctors(departments, clinics, users)
            self.seed_holidays(clinics)
            self.seed_time_off()
            self.seed_patients(users)
            self.seed_appointments(users)
        self.print_logins()

    def seed_logins(self):
        users = {}
        for login in DEMO_LOGINS:
            user, _ = User.objects.update_or_create(
                email=login.email,
                defaults={
                    "full_name": login.full_name,
                    "is_staff": login.is_staff,
                    "is_active": True,
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
            slots = open_slots(
                doctor=doctor, clinic=clinic, now=now + datetime.timedelta(days=2)
            )
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

    def seed_past_visit(self, patient, doctor, clinic, now, front_desk):
        """A completed visit about three weeks ago, at the doctor's first hour that day."""
        day = (now - datetime.timedelta(days=21)).astimezone(clinic.zone).date()
        hours = doctor.working_hours.filter(clinic=clinic).order_by("weekday", "starts_at")
        first = hours.first()
        day -= datetime.timedelta(days=(day.weekday() - first.weekday) % 7)
        start = datetime.datetime.combine(day, first.starts_at, tzinfo=clinic.zone)
        end = start + datetime.timedelta(minutes=doctor.slot_minutes)
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
        # Paid at the desk after the visit, with a receipt like any other.
        charge = billing_services.open_charge(appointment=visit)
        billing_services.record_payment(
            charge=charge,
            amount=charge.total,
            mode=Payment.Mode.CARD,
            reference="DEMO-SLIP-0001",
            by=front_desk,
            now=end + datetime.timedelta(minutes=5),
        )

    def print_logins(self):
        self.stdout.write(self.style.SUCCESS("Demo clinic ready. Log in at /accounts/login/ with:"))
        width = max(len(login.email) for login in DEMO_LOGINS)
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.role:<13} {login.email:<{width}}  {DEMO_PASSWORD}")
        self.stdout.write("Clinic admins and front desk also reach the admin at /admin/.")
