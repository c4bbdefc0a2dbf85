"""Builds, or reuses, a large fictional clinic in a dedicated PostgreSQL database for `make bench`.

About 200 doctors in ten departments at two clinics (Asia/Kolkata and Europe/London), weekly hours
with lunch breaks, holidays, time off, 15,000 patients (9,000 with a login) and a year of
appointments around now: the past eleven months (mostly completed, some cancelled or no-show) and
the coming month (booked, thinning out with distance, leaving free slots). Every completed visit
has its charge (the doctor's fee plus GST) and a payment at the desk, and a few payments are
refunded. About a million rows. Every appointment lies on the slot engine's own grid
(bookings.scheduling.free_slots) and no two active ones share a doctor and a start, as the model's
unique constraint demands.

    python -m bench.build             # reuse the data if already built at this size, recently
    python -m bench.build --rebuild   # build afresh

The database is DATABASE_URL, else postgres://postgres@127.0.0.1:5432/clinic_bench; it is created
if missing and migrated. The builder writes only into an empty database or one it built itself.
"""

import argparse
import datetime as dt
import random
import sys
import time
from contextlib import contextmanager
from decimal import Decimal

import psycopg2
from psycopg2 import sql

from bench.environment import configure_django, database_config, describe_database

configure_django()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Patient, User  # noqa: E402
from accounts.roles import Role  # noqa: E402
from billing.models import Charge, Payment, ReceiptSequence  # noqa: E402
from billing.money import gst_on, share_of, to_money  # noqa: E402
from billing.services import RECEIPTS, gst_rate  # noqa: E402
from bookings.models import Appointment, AppointmentType, PaymentMode, Status  # noqa: E402
from bookings.scheduling import (  # noqa: E402
    Availability,
    BookingRules,
    WeeklyStretch,
    at,
    free_slots,
)
from doctors.models import (  # noqa: E402
    Clinic,
    Department,
    Doctor,
    Holiday,
    TimeOff,
    WorkingHours,
)

# Bump when the shape of the data changes, so that old benchmark data is rebuilt, not reused.
BUILDER_VERSION = 2  # 2: charges, payments and refunds for the revenue report
BENCH_MARK = "Benchmark data, bench/build.py"  # on each clinic's address: what the builder owns
MARKER = f"{BENCH_MARK} v{BUILDER_VERSION}"
SEED = 2026

DOCTORS = 200
PATIENTS = 15_000
PATIENTS_WITH_LOGIN = 9_000
PAST_DAYS = 335  # about eleven months
FUTURE_DAYS = 32  # the booking window (30 days) and a little more
# Upcoming bookings per patient stay below the portal's cap (4), so any patient can still book.
UPCOMING_PER_PATIENT = 3
# The data is "around now": older than this, its coming month has drifted and it is rebuilt.
MAX_AGE = dt.timedelta(days=3)
MIN_APPOINTMENTS = 400_000
BATCH = 5_000

t = dt.time
CLINICS = [
    ("Bench Lakeview Clinic", "Asia/Kolkata", "12 Lakeview Road, Bengaluru 560001, India"),
    ("Bench Riverside Clinic", "Europe/London", "5 Riverside Walk, London SE1 9ZZ, UK"),
]
# name, opens, closes, share of the doctors
DEPARTMENTS = [
    ("General Medicine", t(8), t(20), 40),
    ("Paediatrics", t(9), t(18), 24),
    ("Cardiology", t(9), t(17), 18),
    ("Dermatology", t(10), t(18), 16),
    ("Orthopaedics", t(9), t(17), 18),
    ("ENT", t(9), t(16), 14),
    ("Gynaecology", t(9), t(18), 22),
    ("Ophthalmology", t(9), t(17), 16),
    ("Neurology", t(9), t(17), 14),
    ("Psychiatry", t(10), t(19), 18),
]
# Weekly patterns as {weekday: [(start, end), ...]}, each with a break between the stretches.
WEEK_PATTERNS = [
    {day: [(t(9), t(13)), (t(14), t(17))] for day in range(5)},
    {**{day: [(t(10), t(13, 30)), (t(14, 30), t(18))] for day in range(5)}, 5: [(t(9), t(13))]},
    {
        **{day: [(t(8, 30), t(12, 30)), (t(13, 30), t(16, 30))] for day in (0, 2, 4)},
        **{day: [(t(12), t(15)), (t(15, 30), t(19))] for day in (1, 3)},
    },
    {day: [(t(9, 30), t(12, 30)), (t(13, 30), t(17, 30))] for day in range(1, 6)},
]
SLOT_MINUTES = [10, 15, 15, 15, 20, 20, 30]
# (month, day, name): fixed-date stand-ins for each clinic's public holidays.
HOLIDAYS = {
    None: [(1, 1, "New Year's Day")],
    "Asia/Kolkata": [
        (1, 26, "Republic Day"),
        (3, 14, "Holi"),
        (5, 1, "Labour Day"),
        (8, 15, "Independence Day"),
        (10, 2, "Gandhi Jayanti"),
        (10, 21, "Diwali"),
        (11, 1, "Karnataka Rajyotsava"),
        (12, 25, "Christmas Day"),
    ],
    "Europe/London": [
        (4, 18, "Good Friday"),
        (4, 21, "Easter Monday"),
        (5, 5, "Early May bank holiday"),
        (5, 26, "Spring bank holiday"),
        (8, 25, "Summer bank holiday"),
        (12, 25, "Christmas Day"),
        (12, 26, "Boxing Day"),
    ],
}
FIRST_NAMES = (
    "Aarav Aditi Akash Ananya Arjun Asha Deepa Devika Farhan Gita Harish Isha Kavya Kiran Lakshmi "
    "Manoj Meera Nikhil Nisha Pooja Rahul Ravi Rohan Sanjay Shreya Sunita Tara Vikram Zara "
    "Alice Amelia Ben Charlotte Daniel Eleanor Emily George Grace Harry Isla James Jack Lucy "
    "Mia Noah Oliver Olivia Oscar Ruby Sophie Thomas William"
).split()
LAST_NAMES = (
    "Agarwal Banerjee Bhat Chatterjee Desai Gupta Iyer Joshi Kapoor Khan Kulkarni Menon Mehta "
    "Nair Patel Pillai Rao Reddy Shah Sharma Singh Varma Verma "
    "Baker Brown Clarke Davies Evans Green Hall Hughes Johnson Jones Lewis Patel Roberts "
    "Robinson Smith Taylor Thomas Walker White Williams Wilson Wood Wright"
).split()
REASONS = [
    "",
    "",
    "",
    "",
    "Follow-up of last visit",
    "Persistent cough",
    "Annual check-up",
    "Back pain",
    "Review of blood test results",
    "Skin rash",
    "Headaches",
]
CANCELLATION_REASONS = ["", "Feeling better", "Clash with work", "Travelling", "Booked by mistake"]
APPOINTMENT_TYPES = [
    AppointmentType.CONSULTATION,
    AppointmentType.CONSULTATION,
    AppointmentType.CONSULTATION,
    AppointmentType.FOLLOW_UP,
    AppointmentType.FOLLOW_UP,
    AppointmentType.HEALTH_CHECK,
    AppointmentType.REPORT_REVIEW,
]
BUSIER_WEEKDAYS = {0: 1.15, 4: 0.95, 5: 1.1}
# How patients pay at the desk after a visit: (mode, weight).
DESK_PAYMENT_MODES = [(Payment.Mode.CASH, 40), (Payment.Mode.CARD, 35), (Payment.Mode.UPI, 25)]
# A few payments in a thousand are refunded, some in full, a few days after they were made.
REFUNDED_SHARE = 0.004
REFUND_REASONS = [
    "Fee waived by the doctor",
    "Charged twice at the desk",
    "Goodwill: long wait",
    "Visit cut short",
]


def weighted(rng, choices):
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights)[0]


def log(message):
    print(message, flush=True)


# --- the database itself ------------------------------------------------------------------------


def server_connection(config, dbname="postgres"):
    connection = psycopg2.connect(
        dbname=dbname,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
    )
    connection.autocommit = True
    return connection


def ensure_database(config, drop_first=False):
    """Creates the benchmark database if missing; with drop_first, afresh."""
    name = sql.Identifier(config["NAME"])
    server = server_connection(config)
    try:
        with server.cursor() as cursor:
            if drop_first:
                cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(name))
                log(f"Created database {config['NAME']}.")
    finally:
        server.close()


def ownership(config):
    """("empty" | "ours" | "foreign", why), read before migrating: dropping is only for "ours"."""
    database = server_connection(config, config["NAME"])
    try:
        with database.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            )
            if cursor.fetchone()[0] == 0:
                return "empty", "it has no tables yet"
            cursor.execute("SELECT to_regclass('doctors_clinic'), to_regclass('accounts_user')")
            if None in cursor.fetchone():
                return "foreign", "its tables are not the portal's"
            cursor.execute(
                "SELECT count(*) FILTER (WHERE address LIKE %s), count(*) FROM doctors_clinic",
                [f"%{BENCH_MARK}%"],
            )
            marked, clinics = cursor.fetchone()
            if marked and marked == clinics:
                return "ours", "the benchmark built it"
            cursor.execute("SELECT count(*) FROM accounts_user")
            if clinics == 0 and cursor.fetchone()[0] == 0:
                return "empty", "it holds no clinics and no logins"
            return "foreign", "it holds data the benchmark did not build"
    finally:
        database.close()


def state_of_data(now):
    """("empty" | "current" | "stale", why) of a database the benchmark owns, once migrated."""
    ours = Clinic.objects.filter(address__contains=BENCH_MARK)
    if not ours.exists():
        return "empty", "it is empty"
    if ours.exclude(address__endswith=MARKER).exists():
        return "stale", "an older version of the builder made it"
    doctors = Doctor.objects.count()
    appointments = Appointment.objects.count()
    if doctors != DOCTORS or appointments < MIN_APPOINTMENTS:
        return "stale", f"it holds {doctors} doctors and {appointments} appointments"
    built_at = ours.earliest("created_at").created_at
    age = now - built_at
    if age > MAX_AGE:
        return "stale", f"it was built {age.days} days ago and its coming month has drifted"
    return "current", f"built {built_at:%Y-%m-%d %H:%M} UTC at the expected size"


def recreate_database(config):
    """A clean slate, schema included: migrations edited since the last build apply afresh."""
    connection.close()
    ensure_database(config, drop_first=True)
    call_command("migrate", interactive=False, verbosity=0)


@contextmanager
def given_timestamps(model):
    """Lets bulk_create store the created/updated times we give instead of the present moment."""
    fields = [
        f
        for f in model._meta.concrete_fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


# --- the clinic -----------------------------------------------------------------------------------


class Builder:
    def __init__(self, now):
        self.now = now
        self.rng = random.Random(SEED)
        self.unusable_password = make_password(None)
        self.groups = {role: Group.objects.get(name=role) for role in Role}
        self.memberships = []

    def name(self):
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"

    def users(self, emails_and_names, role, is_staff=False):
        users = User.objects.bulk_create(
            [
                User(
                    email=email, full_name=name, password=self.unusable_password, is_staff=is_staff
                )
                for email, name in emails_and_names
            ],
            batch_size=BATCH,
        )
        self.memberships += [
            User.groups.through(user_id=user.pk, group_id=self.groups[role].pk) for user in users
        ]
        return users

    def structure(self):
        rng = self.rng
        self.departments = Department.objects.bulk_create(
            [
                Department(name=name, opens_at=opens, closes_at=closes)
                for name, opens, closes, _ in DEPARTMENTS
            ]
        )
        self.clinics = Clinic.objects.bulk_create(
            [
                Clinic(name=name, timezone=zone, address=f"{address}\n{MARKER}")
                for name, zone, address in CLINICS
            ]
        )
        self.front_desk = {
            clinic.pk: [
                user.pk
                for user in self.users(
                    [
                        (f"desk{n}.clinic{clinic.pk}@bench.example.com", self.name())
                        for n in range(3)
                    ],
                    Role.FRONT_DESK,
                    is_staff=True,
                )
            ]
            for clinic in self.clinics
        }
        # Refunds are for clinic admins only.
        (self.clinic_admin,) = self.users(
            [("admin@bench.example.com", self.name())], Role.CLINIC_ADMIN, is_staff=True
        )

        shares = [share for *_, share in DEPARTMENTS]
        doctor_users = self.users(
            [(f"doctor{n:03d}@bench.example.com", f"Dr {self.name()}") for n in range(DOCTORS)],
            Role.DOCTOR,
        )
        today = self.now.date()
        doctors = []
        for n, user in enumerate(doctor_users):
            department = rng.choices(self.departments, weights=shares)[0]
            clinic = self.clinics[0] if n % 20 < 13 else self.clinics[1]  # 130 and 70
            expired = n in (17, 117)
            doctors.append(
                Doctor(
                    full_name=user.full_name,
                    user=user,
                    department=department,
                    qualifications="MBBS, MD",
                    registration_number=f"BENCH-{n:05d}",
                    registration_expires_on=today
                    + dt.timedelta(days=-20 if expired else rng.randint(200, 1500)),
                    consultation_fee=Decimal(rng.choice([500, 700, 800, 1000, 1200, 1500])),
                    slot_minutes=rng.choice(SLOT_MINUTES),
                    is_active=n not in (42, 142),
                )
            )
            doctors[-1].bench_clinic = clinic
        self.doctors = Doctor.objects.bulk_create(doctors)

        hours = []
        self.weeks = {}
        for doctor in self.doctors:
            week = rng.choice(WEEK_PATTERNS)
            self.weeks[doctor.pk] = week
            hours += [
                WorkingHours(
                    doctor=doctor,
                    clinic=doctor.bench_clinic,
                    weekday=weekday,
                    starts_at=starts_at,
                    ends_at=ends_at,
                )
                for weekday, stretches in week.items()
                for starts_at, ends_at in stretches
            ]
        self.working_hours = WorkingHours.objects.bulk_create(hours)

    def holidays(self):
        first, last = self.first_day, self.last_day
        rows = []
        for zone, days in HOLIDAYS.items():
            clinics = [None] if zone is None else [c for c in self.clinics if c.timezone == zone]
            for month, day, name in days:
                for year in (first.year, last.year):
                    date = dt.date(year, month, day)
                    if first <= date <= last:
                        rows += [Holiday(date=date, name=name, clinic=clinic) for clinic in clinics]
        self.holiday_rows = Holiday.objects.bulk_create(rows)
        self.closed_days = {
            clinic.pk: frozenset(
                h.date for h in self.holiday_rows if h.clinic_id in (None, clinic.pk)
            )
            for clinic in self.clinics
        }

    def time_off(self):
        """Leave in the past year for everyone, some in the coming month, a few afternoons off."""
        rng = self.rng
        rows = []
        for doctor in self.doctors:
            zone = doctor.bench_clinic.zone
            starts = sorted(rng.sample(range(10, PAST_DAYS - 10, 30), rng.randint(1, 3)))
            if rng.random() < 0.2:
                starts.append(PAST_DAYS + rng.randint(3, 28))
            for offset in starts:
                first = self.first_day + dt.timedelta(days=offset)
                days = rng.randint(1, 5)
                rows.append(
                    TimeOff(
                        doctor=doctor,
                        starts_at=at(first, t(0), zone),
                        ends_at=at(first + dt.timedelta(days=days), t(0), zone),
                        reason=rng.choice(["Annual leave", "Conference", "Family event"]),
                    )
                )
            if rng.random() < 0.3:
                day = self.first_day + dt.timedelta(days=rng.randrange(15, PAST_DAYS, 30))
                rows.append(
                    TimeOff(
                        doctor=doctor,
                        starts_at=at(day, t(13), zone),
                        ends_at=at(day, t(20), zone),
                        reason="Training",
                    )
                )
        self.time_off_rows = TimeOff.objects.bulk_create(rows)

    def patients(self):
        rng = self.rng
        today = self.now.date()
        people = [(self.name(), n) for n in range(PATIENTS)]
        users = self.users(
            [
                (f"patient{n:05d}@bench.example.com", name)
                for name, n in people[:PATIENTS_WITH_LOGIN]
            ],
            Role.PATIENT,
        )
        patients = []
        for name, n in people:
            indian = n % 3 != 2
            patients.append(
                Patient(
                    user=users[n] if n < PATIENTS_WITH_LOGIN else None,
                    full_name=name,
                    date_of_birth=today - dt.timedelta(days=rng.randint(365, 90 * 365)),
                    sex=rng.choices(["female", "male", "other", "undisclosed"], [49, 48, 1, 2])[0],
                    phone=f"+9198{n:08d}" if indian else f"+447700{n:06d}",
                    email=f"patient{n:05d}@bench.example.com",
                )
            )
        self.patients_rows = Patient.objects.bulk_create(patients, batch_size=BATCH)
        self.patient_users = {p.pk: p.user_id for p in self.patients_rows}
        # Upcoming bookings go round the patients in a shuffled order, at most a few each.
        self.upcoming_order = [p.pk for p in self.patients_rows]
        rng.shuffle(self.upcoming_order)
        self.upcoming_next = 0
        User.groups.through.objects.bulk_create(self.memberships, batch_size=BATCH)

    # --- appointments ---------------------------------------------------------------------------

    def availability(self, doctor):
        return Availability(
            zone=doctor.bench_clinic.zone,
            slot_length=dt.timedelta(minutes=doctor.slot_minutes),
            weekly_hours=tuple(
                WeeklyStretch(weekday, starts_at, ends_at)
                for weekday, stretches in self.weeks[doctor.pk].items()
                for starts_at, ends_at in stretches
            ),
            opens_at=doctor.department.opens_at,
            closes_at=doctor.department.closes_at,
            closed_days=self.closed_days[doctor.bench_clinic.pk],
            busy=tuple(
                (absence.starts_at, absence.ends_at)
                for absence in self.time_off_rows
                if absence.doctor_id == doctor.pk
            ),
        )

    def upcoming_patient(self):
        """The next patient round the shuffled list: nobody gets more than a few bookings."""
        order = self.upcoming_order
        patient = order[self.upcoming_next % len(order)]
        if self.upcoming_next >= UPCOMING_PER_PATIENT * len(order):
            raise RuntimeError("More upcoming bookings than the patients may hold.")
        self.upcoming_next += 1
        return patient

    def booked_by(self, patient_id, clinic_id):
        user = self.patient_users[patient_id]
        if user is not None and self.rng.random() < 0.6:
            return user
        return self.rng.choice(self.front_desk[clinic_id])

    def appointment(self, doctor, slot, patient_id, status, cancelled_before=None):
        rng, now = self.rng, self.now
        lead = dt.timedelta(hours=min(30 * 24, 1 + rng.expovariate(1 / (6 * 24))))
        created = min(slot.start - lead, now - dt.timedelta(minutes=5))
        if cancelled_before is not None:  # a slot freed by a cancellation, booked again after it
            created = max(created, cancelled_before + dt.timedelta(minutes=rng.randint(1, 600)))
            created = min(created, slot.start - dt.timedelta(minutes=5), now)
        clinic_id = doctor.bench_clinic.pk
        fields = {
            "patient_id": patient_id,
            "doctor_id": doctor.pk,
            "clinic_id": clinic_id,
            "start": slot.start,
            "end": slot.end,
            "appointment_type": rng.choice(APPOINTMENT_TYPES),
            "payment_mode": PaymentMode.AT_CLINIC if rng.random() < 0.7 else PaymentMode.ONLINE,
            "reason": rng.choice(REASONS),
            "status": status,
            "created_by_id": self.booked_by(patient_id, clinic_id),
            "created_at": created,
        }
        updated = created
        if status in (Status.CHECKED_IN, Status.COMPLETED):
            checked_in = slot.start - dt.timedelta(minutes=rng.randint(0, 20))
            updated = fields["checked_in_at"] = checked_in
        if status == Status.COMPLETED:
            updated = fields["completed_at"] = slot.end + dt.timedelta(minutes=rng.randint(0, 15))
        elif status == Status.NO_SHOW:
            updated = fields["no_show_at"] = slot.start + dt.timedelta(minutes=20)
        elif status == Status.CANCELLED:
            latest = min(slot.start, now)
            updated = created + (latest - created) * rng.random()
            fields.update(
                cancelled_at=updated,
                cancelled_by_id=self.booked_by(patient_id, clinic_id),
                cancellation_reason=rng.choice(CANCELLATION_REASONS),
            )
        fields["updated_at"] = updated
        return Appointment(**fields)

    def appointments_on(self, doctor, availability, day, profile):
        """One doctor's appointments on one local date."""
        rng, now = self.rng, self.now
        grid = free_slots(
            availability, first_day=day, last_day=day, now=self.grid_from, rules=self.grid_rules
        )
        ahead = (day - self.today).days
        if ahead >= 0:
            fill = profile["upcoming"] * max(0.15, 1 - ahead / 36)
        else:
            fill = profile["past"] * BUSIER_WEEKDAYS.get(day.weekday(), 1.0)
        rows = []
        for slot in grid:
            if rng.random() >= fill:
                continue
            if slot.start > now:
                if rng.random() < 0.06:
                    cancelled = self.appointment(
                        doctor, slot, self.upcoming_patient(), Status.CANCELLED
                    )
                    rows.append(cancelled)
                    if rng.random() < 0.3:
                        rows.append(
                            self.appointment(
                                doctor,
                                slot,
                                self.upcoming_patient(),
                                Status.BOOKED,
                                cancelled.cancelled_at,
                            )
                        )
                else:
                    rows.append(
                        self.appointment(doctor, slot, self.upcoming_patient(), Status.BOOKED)
                    )
                continue
            patient = rng.randrange(PATIENTS)
            patient_id = self.patients_rows[patient].pk
            if slot.end > now:
                rows.append(self.appointment(doctor, slot, patient_id, Status.CHECKED_IN))
                continue
            roll = rng.random()
            if roll < 0.10:
                cancelled = self.appointment(doctor, slot, patient_id, Status.CANCELLED)
                rows.append(cancelled)
                if rng.random() < 0.35:
                    again = self.patients_rows[rng.randrange(PATIENTS)].pk
                    rows.append(
                        self.appointment(
                            doctor, slot, again, Status.COMPLETED, cancelled.cancelled_at
                        )
                    )
            elif roll < 0.16:
                rows.append(self.appointment(doctor, slot, patient_id, Status.NO_SHOW))
            else:
                rows.append(self.appointment(doctor, slot, patient_id, Status.COMPLETED))
        return rows

    def appointments(self):
        """Day by day across all doctors, so rows land on disk roughly in time order."""
        rng = self.rng
        self.grid_from = at(self.first_day - dt.timedelta(days=2), t(0), dt.UTC)
        self.grid_rules = BookingRules(
            minimum_notice=dt.timedelta(0), window_days=PAST_DAYS + FUTURE_DAYS + 5
        )
        doctors = []
        for doctor in self.doctors:
            taking_bookings = doctor.is_active and doctor.registration_expires_on > self.today
            popular = rng.random() < 0.08
            past = rng.uniform(0.5, 0.65) if popular else rng.uniform(0.22, 0.45)
            doctors.append(
                (
                    doctor,
                    self.availability(doctor),
                    {
                        "past": past,
                        "upcoming": (min(0.92, past + 0.25) if popular else past + 0.1)
                        if taking_bookings
                        else 0.0,
                    },
                )
            )
        pending = []
        total = 0
        with given_timestamps(Appointment):
            for offset in range(PAST_DAYS + FUTURE_DAYS):
                day = self.first_day + dt.timedelta(days=offset)
                todays = []
                for doctor, availability, profile in doctors:
                    todays += self.appointments_on(doctor, availability, day, profile)
                todays.sort(key=lambda a: a.start)
                pending += todays
                if len(pending) >= BATCH:
                    Appointment.objects.bulk_create(pending, batch_size=BATCH)
                    total += len(pending)
                    pending = []
                if offset % 60 == 0:
                    log(
                        f"  appointments: day {offset + 1} of {PAST_DAYS + FUTURE_DAYS}, "
                        f"{total:,} rows so far"
                    )
            Appointment.objects.bulk_create(pending, batch_size=BATCH)

    # --- the ledger -------------------------------------------------------------------------------

    def ledger(self):
        """Each completed visit's charge, fixed at booking as billing.services.open_charge fixes it
        (the doctor's fee, GST at the current rate via billing.money), paid in full at the desk
        shortly after the visit; a few payments refunded, in full or in half, by the clinic admin.
        Receipt numbers run from 1 without gaps in the order the money moved, and the billing
        receipt sequence continues after the last, as billing.services would leave it."""
        rng, now = self.rng, self.now
        rate = gst_rate()
        fees = {doctor.pk: to_money(doctor.consultation_fee) for doctor in self.doctors}
        gst = {pk: gst_on(fee, rate) for pk, fee in fees.items()}
        # Light tuples, not model objects: a few hundred thousand of them.
        paid = []
        completed = (
            Appointment.objects.filter(status=Status.COMPLETED)
            .order_by()
            .values_list("pk", "doctor_id", "clinic_id", "created_at", "completed_at")
        )
        for pk, doctor_id, clinic_id, created_at, completed_at in completed.iterator(BATCH):
            recorded_at = min(completed_at + dt.timedelta(minutes=rng.randint(1, 20)), now)
            paid.append((recorded_at, pk, doctor_id, clinic_id, created_at))
        paid.sort()
        # (when, index into paid, share refunded, reason)
        refunds = []
        for index in sorted(rng.sample(range(len(paid)), int(len(paid) * REFUNDED_SHARE))):
            when = paid[index][0] + dt.timedelta(hours=rng.randint(2, 5 * 24))
            if when < now:
                share = Decimal("1") if rng.random() < 0.4 else Decimal("0.5")
                refunds.append((when, index, share, rng.choice(REFUND_REASONS)))
        # Receipt numbers in the order the money moved, payments and refunds together.
        events = sorted(
            [(entry[0], 0, index) for index, entry in enumerate(paid)]
            + [(when, 1, n) for n, (when, *_) in enumerate(refunds)]
        )
        payment_numbers, refund_numbers = {}, {}
        for number, (_, is_refund, index) in enumerate(events, start=1):
            (refund_numbers if is_refund else payment_numbers)[index] = number

        refunded = {index for _, index, _, _ in refunds}
        payment_ids = {}
        with given_timestamps(Charge):
            for first in range(0, len(paid), BATCH):
                batch = paid[first : first + BATCH]
                charges = Charge.objects.bulk_create(
                    [
                        Charge(
                            appointment_id=pk,
                            fee=fees[doctor_id],
                            gst_rate=rate,
                            gst=gst[doctor_id],
                            total=fees[doctor_id] + gst[doctor_id],
                            currency=settings.CURRENCY,
                            created_at=created_at,
                        )
                        for _, pk, doctor_id, _, created_at in batch
                    ]
                )
                payments = Payment.objects.bulk_create(
                    [
                        Payment(
                            charge=charge,
                            kind=Payment.Kind.PAYMENT,
                            mode=weighted(rng, DESK_PAYMENT_MODES),
                            fee=charge.fee,
                            gst=charge.gst,
                            total=charge.total,
                            reference=f"BENCH-{payment_numbers[first + n]:07d}",
                            receipt_number=payment_numbers[first + n],
                            recorded_by_id=rng.choice(self.front_desk[clinic_id]),
                            recorded_at=recorded_at,
                            doctor_id=doctor_id,
                            clinic_id=clinic_id,
                        )
                        for n, ((recorded_at, _, doctor_id, clinic_id, _), charge) in enumerate(
                            zip(batch, charges, strict=True)
                        )
                    ]
                )
                payment_ids.update(
                    (first + n, payment)
                    for n, payment in enumerate(payments)
                    if first + n in refunded
                )
        refund_rows = []
        for n, (when, index, share, reason) in enumerate(refunds):
            payment = payment_ids[index]
            amount = to_money(payment.total * share)
            fee = share_of(amount, payment.total, payment.fee)  # as refund_payment splits it
            refund_rows.append(
                Payment(
                    charge_id=payment.charge_id,
                    kind=Payment.Kind.REFUND,
                    mode=payment.mode,
                    fee=fee,
                    gst=amount - fee,
                    total=amount,
                    refund_of=payment,
                    reason=reason,
                    receipt_number=refund_numbers[n],
                    recorded_by=self.clinic_admin,
                    recorded_at=when,
                    doctor_id=payment.doctor_id,
                    clinic_id=payment.clinic_id,
                )
            )
        Payment.objects.bulk_create(refund_rows, batch_size=BATCH)
        ReceiptSequence.objects.filter(name=RECEIPTS).update(last_number=len(events))

    def build(self):
        self.today = self.now.date()
        self.first_day = self.today - dt.timedelta(days=PAST_DAYS)
        self.last_day = self.today + dt.timedelta(days=FUTURE_DAYS)
        steps = [
            ("departments, clinics, doctors, working hours", self.structure),
            ("holidays", self.holidays),
            ("time off", self.time_off),
            ("patients and logins", self.patients),
            ("appointments", self.appointments),
            ("charges, payments and refunds", self.ledger),
        ]
        for label, step in steps:
            started = time.perf_counter()
            step()
            log(f"  {label}: {time.perf_counter() - started:.1f} s")


def row_counts():
    models = [
        Department,
        Clinic,
        Doctor,
        WorkingHours,
        Holiday,
        TimeOff,
        User,
        User.groups.through,
        Patient,
        Appointment,
        Charge,
        Payment,
    ]
    return {model._meta.db_table: model.objects.count() for model in models}


def print_counts(counts):
    width = max(map(len, counts))
    for table, count in counts.items():
        log(f"  {table:<{width}}  {count:>9,}")
    log(f"  {'total':<{width}}  {sum(counts.values()):>9,}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="build afresh even if data exists")
    args = parser.parse_args(argv)

    config = database_config()
    where = describe_database(config)
    started = time.perf_counter()
    ensure_database(config)
    owner, why = ownership(config)
    if owner == "foreign":
        sys.exit(
            f"Refusing to build in {where}: {why}. Point DATABASE_URL at a database of its "
            "own (the default is clinic_bench)."
        )
    if owner == "ours" and args.rebuild:
        log(f"Rebuilding {where} from scratch, as asked.")
        recreate_database(config)
    else:
        call_command("migrate", interactive=False, verbosity=0)
    now = timezone.now()
    state, why = state_of_data(now)
    if state == "current":
        log(f"Reusing the benchmark data in {where} ({why}); --rebuild to build afresh.")
        print_counts(row_counts())
        return
    if state == "stale":
        log(f"Rebuilding {where} from scratch: {why}.")
        recreate_database(config)
    log(f"Building the benchmark clinic in {where}.")
    with transaction.atomic():
        Builder(now).build()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    log(
        f"Built in {time.perf_counter() - started:.0f} s (database, migrations, data, "
        "VACUUM ANALYZE):"
    )
    print_counts(row_counts())


if __name__ == "__main__":
    main()
