"""Settings for the clinic portal.

Everything that differs between machines comes from the environment (or a `.env` file beside
manage.py, which `make run` creates for development). The README lists every variable.
"""

import datetime as dt
import ipaddress
import os
from pathlib import Path

import environ
from django.conf.locale import LANG_INFO
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Real environment variables win over the file: CI and production set them directly.
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Off unless asked for: a forgotten variable must never expose tracebacks with patient data.
DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

CLINIC_NAME = env.str("CLINIC_NAME", default="Clinic Portal")
# The portal's public address (e.g. https://clinic.example.org), for the links that messages carry
# (bookings.links): a message is sent by a worker, with no request to take the host from. Empty:
# messages carry no links. In development, the address `make run` serves.
PORTAL_URL = env.str("PORTAL_URL", default="http://127.0.0.1:8000" if DEBUG else "")
if PORTAL_URL and not PORTAL_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("PORTAL_URL must be an address such as https://clinic.example.org.")
CURRENCY = env.str("CURRENCY", default="INR")

INSTALLED_APPS = [
    "clinic.apps.ClinicAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Trigram indexes for the patient search (accounts migration 0006); on SQLite it does nothing.
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "anymail",
    "axes",
    "auditlog",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "clinic.apps.ClinicConfig",
    "accounts",
    "doctors",
    "bookings",
    "intake",
    "billing",
    "waitlist",
    "notifications",
    "api",
    "fhir",
]

MIDDLEWARE = [
    # First: every answer carries its request id, and every log line of the request names it.
    "clinic.request_ids.RequestIdMiddleware",
    # Times the whole answer and counts its database statements (clinic.metrics).
    "clinic.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads the database: a NUL in a query would break it there.
    "clinic.http_guards.RefuseNulCharactersMiddleware",
    # Before anything opens a connection, which then gets the web requests' statement timeout.
    "clinic.database_timeouts.DatabaseTimeoutsMiddleware",
    # /healthz and /readyz, answered before sessions, logins and the rest (clinic.health).
    "clinic.health.HealthProbeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: the browser's (Accept-Language) or the switcher's cookie; then, once the
    # login is known, the language saved on it (accounts.middleware).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "clinic.http_guards.PrivatePagesMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "clinic.middleware.IdleSessionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.two_factor.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    # Last, as django-axes asks: it turns a locked-out login attempt into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.portal",
            ],
        },
    },
]

WSGI_APPLICATION = "clinic.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Kept connections by default in production: a sync gunicorn worker serves one request at a time,
# so it keeps one connection, and a booking then costs PostgreSQL no new backend (about 60% more
# bookings a second on the benchmark, README "Load figures"). Off with DEBUG: the development
# server runs each request in a thread of its own, which would leave a connection behind per
# request. With connections kept, each request's first query finds out whether the connection
# still works (after a database restart, say) and opens a new one if not.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0 if DEBUG else 60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
# An optional read replica (a PostgreSQL standby of the primary): the admin's reports and their
# CSV read from it (clinic.db_routers); every write, and every other read, stays on the primary.
# Empty: one database, nothing routed. In a test run it stands for the primary (a test mirror).
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **env.db_url_config(DATABASE_REPLICA_URL),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
        "CONN_HEALTH_CHECKS": DATABASES["default"]["CONN_HEALTH_CHECKS"],
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["clinic.db_routers.ReportsReadFromReplica"]
# No wait on PostgreSQL lasts for ever (clinic.database_timeouts): a lock, on every connection;
# a statement, in web requests only; and connecting (else /readyz, asked every few seconds, would
# hang on a database host that drops packets instead of answering 503). Seconds; 0 lifts the
# limit (connecting: libpq waits at least 2 s).
DATABASE_LOCK_TIMEOUT_SECONDS = env.float("DATABASE_LOCK_TIMEOUT_SECONDS", default=5.0)
DATABASE_STATEMENT_TIMEOUT_SECONDS = env.float("DATABASE_STATEMENT_TIMEOUT_SECONDS", default=30.0)
DATABASE_CONNECT_TIMEOUT_SECONDS = env.int("DATABASE_CONNECT_TIMEOUT_SECONDS", default=5)
for _database in DATABASES.values():
    if _database["ENGINE"] != "django.db.backends.postgresql":
        continue
    _options = _database.setdefault("OPTIONS", {})
    if DATABASE_CONNECT_TIMEOUT_SECONDS:
        _options.setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT_SECONDS)
    # In the connection's startup packet: no extra round trip, and set before any statement.
    _options["options"] = " ".join(
        filter(
            None,
            [
                _options.get("options", ""),
                f"-c lock_timeout={int(DATABASE_LOCK_TIMEOUT_SECONDS * 1000)}",
                # Django's own zone for connections when USE_TZ is on: set here, Django finds it
                # already in force and sends no SET TIME ZONE after each connect (one round trip
                # and statement less per request when CONN_MAX_AGE is 0).
                "-c TimeZone=UTC",
            ],
        )
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60 * 3)

AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out login is refused before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes): after this many failures for one email address from one IP
# address, that pair is locked out for the cool-off time (hours).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The login form's field and authenticate()'s keyword are both "username" (axes would otherwise
# look for USERNAME_FIELD, "email", find nothing, and count failures per IP address only while
# never refusing the right password).
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.throttling.login_name"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_ENABLE_ACCESS_FAILURE_LOG = False
# Failures are counted in the database (axes' database handler, its default, named on purpose):
# shared by every app server with or without Redis, kept across a cache restart, and listed in the
# admin, where a clinic admin lifts a lock-out.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# The visitor's address for lock-outs and throttles: REMOTE_ADDR, unless the portal sits behind
# PROXY_COUNT proxies of its own, whose X-Forwarded-For entries are then read from the right.
AXES_CLIENT_IP_CALLABLE = "accounts.throttling.client_address"
CLIENT_ADDRESS_PROXY_COUNT = (
    env.int("PROXY_COUNT", default=1) if env.bool("BEHIND_TLS_PROXY", default=False) else 0
)

# Two-factor codes (django-otp TOTP): optional for staff; required for clinic admins when on.
OTP_REQUIRED_FOR_CLINIC_ADMINS = env.bool("OTP_REQUIRED_FOR_CLINIC_ADMINS", default=False)
OTP_TOTP_ISSUER = CLINIC_NAME

# Throttling of sign-up, password reset and the two-factor code prompt (django-ratelimit, counted
# in the cache): tries (POSTs) allowed per period, as "count/period" (s, m, h or d, e.g. "5/h",
# "10/15m"), per email address typed, per client IP address, and per login at the code prompt.
THROTTLE_FORMS_PER_ADDRESS = env.str("THROTTLE_FORMS_PER_ADDRESS", default="5/h")
THROTTLE_FORMS_PER_IP = env.str("THROTTLE_FORMS_PER_IP", default="30/h")
THROTTLE_TWO_FACTOR_PER_LOGIN = env.str("THROTTLE_TWO_FACTOR_PER_LOGIN", default="10/h")
RATELIMIT_IP_META_KEY = "accounts.ratelimits.client_ip"
RATELIMIT_ENABLE = env.bool("THROTTLE_ENABLED", default=True)

# The cache holds the throttles' counts (forms and API) and FHIR's stored searches: memory of one
# process by default. With several app servers it must be shared so that a limit holds across
# them: REDIS_URL (redis://host:6379/0) puts it on Redis, through Django's own backend, and the
# sessions with it. CACHE_URL, when set, names the cache itself and wins over REDIS_URL.
# (django_ratelimit is not in INSTALLED_APPS: its only part there is a system check that calls
# process memory an error, which it is not for one server.)
REDIS_URL = env.str("REDIS_URL", default="")
REDIS_CACHE_BACKEND = "django.core.cache.backends.redis.RedisCache"
if REDIS_URL and not env.str("CACHE_URL", default=""):
    CACHES = {
        "default": {
            "BACKEND": REDIS_CACHE_BACKEND,
            "LOCATION": REDIS_URL,
            # A Redis that stops answering fails a request in seconds instead of hanging every
            # app server's workers with it (redis-py waits for ever by default).
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == REDIS_CACHE_BACKEND:
    # Read from Redis, written to Redis and the database: every app server sees a login or a
    # logout at once, and a Redis restart logs nobody out. Never on a cache of one process, where
    # another process would go on reading a session that was logged out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# A login lasts at most SESSION_COOKIE_AGE, and ends sooner after inactivity (seconds).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 8)
SESSION_IDLE_SECONDS = env.int("SESSION_IDLE_SECONDS", default=60 * 60)
STAFF_SESSION_IDLE_SECONDS = env.int("STAFF_SESSION_IDLE_SECONDS", default=60 * 15)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
# Secure by default: with DEBUG off the portal is served over HTTPS only (redirect, HSTS for a
# year with subdomains, cookies sent over HTTPS only) unless PLAIN_HTTP=True, which is for a test
# host without TLS (and for the test suite, whose client and live server speak plain HTTP). Each
# setting can still be changed on its own.
HTTPS_ONLY = not DEBUG and not env.bool("PLAIN_HTTP", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=HTTPS_ONLY)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=HTTPS_ONLY)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=HTTPS_ONLY)
SECURE_HSTS_SECONDS = env.int(
    "SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365 if HTTPS_ONLY else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=SECURE_HSTS_SECONDS > 0
)
# Only consent to the browsers' preload list; a site joins it when its owner submits it.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS_ONLY)
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The load balancer's and orchestrator's probes (clinic.health) and the metrics scraper ask the
# app servers directly, over plain HTTP on the private network where TLS has already ended:
# exactly these paths are answered there instead of redirected to HTTPS. None of them carries
# patient data; /metrics still wants its allowed address or token (METRICS_*).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content Security Policy (django-csp): scripts only from the portal's own static files, never
# inline; no framing; forms post only to the portal.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The admin's stylesheets set a few inline styles; styles cannot run code.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Audit trail (django-auditlog): changes to these records, plus explicit "viewed" entries from
# the pages that show them (clinic.audit).
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    {"model": "accounts.patient"},
    {"model": "accounts.user", "exclude_fields": ["password", "last_login", "sessions_epoch"]},
    # Not the reverse one-to-ones (the charge, the appointment it was moved to): rows of other
    # tables, each a query to read, that a new appointment never has.
    {
        "model": "bookings.appointment",
        "exclude_fields": ["charge", "rescheduled_to", "series_link"],
    },
    # Intake questions and the answers given (health data: who answered or changed what, when).
    {"model": "intake.question"},
    {"model": "intake.answer"},
    {"model": "billing.charge"},
    {"model": "billing.payment"},
    # Where the clinic's data is sent (URL, events, format, active): never the secret, whose
    # replacement is recorded as an event of its own.
    {
        "model": "notifications.webhookendpoint",
        "exclude_fields": ["secret", "created_at", "updated_at"],
    },
)
AUDITLOG_STORE_JSON_CHANGES = True

LANGUAGE_CODE = "en-gb"
# English, the source language, and every language with a catalogue in locale/ (a translator adds
# a language by adding its folder: README, "Languages"), each named in itself.
# locale-django/ holds our translations of Django's own strings where Django's catalogue for the
# language has none (its Hindi lacks many form errors and admin texts); locale/ comes first.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale-django"]
TRANSLATED_LANGUAGES = sorted(
    (messages.parent.name, LANG_INFO[messages.parent.name]["name_local"])
    for messages in (BASE_DIR / "locale").glob("*/LC_MESSAGES")
    if messages.parent.name in LANG_INFO
)
LANGUAGES = [("en-gb", "English"), *TRANSLATED_LANGUAGES]
LANGUAGE_COOKIE_NAME = "portal_language"
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Kolkata")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Bootstrap's built files straight from the npm package (see package.json), never a copy.
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}

# Billing: GST as a fraction (0.18 is 18%); the payment gateway class for online payments, if any
# (a dotted path to a billing.providers.PaymentProvider subclass; empty: online payment is off).
GST_RATE = env.str("GST_RATE", default="0.18")
PAYMENT_PROVIDER = env.str("PAYMENT_PROVIDER", default="")

# Notifications: reminders this many hours before an appointment; delivery tries a notice this many
# times (with growing pauses) before marking it failed; SMS through this backend class: the
# console in development; with DEBUG off, none until one is named (the console would print
# patients' messages into the logs): notices then fail visibly, and `check` says why.
NOTIFICATION_REMINDER_HOURS = env.list("NOTIFICATION_REMINDER_HOURS", cast=int, default=[24, 2])
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=5)
SMS_BACKEND = env.str(
    "SMS_BACKEND",
    default=(
        "notifications.sms.ConsoleSmsBackend"
        if DEBUG
        else "notifications.sms.NotConfiguredSmsBackend"
    ),
)

# Text messages through Twilio (SMS_BACKEND=notifications.sms_providers.TwilioSmsBackend): the
# account's SID and auth token (which also signs Twilio's callbacks), the sender (a number, or a
# Messaging Service), how long each request waits to connect and then for the answer (a whole
# try at most twice this), and the portal's public address (https://host, no path) that Twilio
# calls back with delivery reports and checks signatures against. TWILIO_API_URL: tests only.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
TWILIO_API_URL = env.str("TWILIO_API_URL", default="https://api.twilio.com")
SMS_TIMEOUT_SECONDS = env.float("SMS_TIMEOUT_SECONDS", default=10.0)
SMS_CALLBACK_BASE_URL = env.str("SMS_CALLBACK_BASE_URL", default="")

# Webhooks (docs/webhooks.md): each POST waits this long to connect and this long for the answer,
# and a whole try at most twice this; a worker's claim on a delivery lasts WEBHOOK_LEASE_SECONDS
# (after that another worker may send it again: at least once; a system check wants it at least
# two timeouts and 5 s); tries before a delivery is marked failed. Receivers must be https://
# on a public address unless WEBHOOK_ALLOW_LOCAL_RECEIVERS (on with DEBUG) lets in http:// and
# this machine's or the local network's addresses. A delivered body (it names the patient) is
# blanked WEBHOOK_BODY_RETENTION_DAYS after delivery.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_LEASE_SECONDS = env.float("WEBHOOK_LEASE_SECONDS", default=120.0)
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=7)
WEBHOOK_ALLOW_LOCAL_RECEIVERS = env.bool("WEBHOOK_ALLOW_LOCAL_RECEIVERS", default=DEBUG)
WEBHOOK_BODY_RETENTION_DAYS = env.int("WEBHOOK_BODY_RETENTION_DAYS", default=30)

# Background work on Celery (clinic/celery.py, notifications/tasks.py), for more than one machine:
# the broker's URL (Redis, e.g. redis://host:6379/1). Empty: no Celery, and `manage.py
# send_notifications --loop` does the work. Every BEAT_INTERVAL_SECONDS, beat asks the workers to
# send the due notices (reminders included) and webhook deliveries and to clear expired holds.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
BEAT_INTERVAL_SECONDS = env.float("BEAT_INTERVAL_SECONDS", default=30.0)

# Booking rules (bookings.rules reads them).
BOOKING_WINDOW_DAYS = env.int("BOOKING_WINDOW_DAYS", default=30)
BOOKING_MINIMUM_NOTICE_MINUTES = env.int("BOOKING_MINIMUM_NOTICE_MINUTES", default=60)
BOOKING_MAX_OPEN_PER_PATIENT = env.int("BOOKING_MAX_OPEN_PER_PATIENT", default=4)
BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS = env.int(
    "BOOKING_PATIENT_CANCELLATION_CUTOFF_HOURS", default=4
)
# The most appointments one recurring series may book (bookings.series).
BOOKING_SERIES_MAX_OCCURRENCES = env.int("BOOKING_SERIES_MAX_OCCURRENCES", default=12)
# How long a slot hold keeps a time for one person (the booking pages' confirm step, FHIR $hold).
SLOT_HOLD_MINUTES = env.int("SLOT_HOLD_MINUTES", default=10)
# How long a time freed by a cancellation is kept for the waitlisted patient it is offered to
# before the next patient in line is offered it.
WAITLIST_OFFER_MINUTES = env.int("WAITLIST_OFFER_MINUTES", default=30)

# Video visits (bookings.video; README, "Video visits"). The provider backend that makes the link
# to join (a dotted path to a bookings.video.VideoBackend subclass); the default names a Jitsi
# room on VIDEO_JITSI_URL by an HMAC under VIDEO_ROOM_SECRET (empty: a key derived from
# SECRET_KEY, so rotating SECRET_KEY moves the rooms of visits already booked). The link is shown
# to the patient and the doctor from VIDEO_LINK_OPENS_MINUTES_BEFORE the start until
# VIDEO_LINK_GRACE_MINUTES after the end.
VIDEO_BACKEND = env.str("VIDEO_BACKEND", default="bookings.video.JitsiBackend")
VIDEO_JITSI_URL = env.str("VIDEO_JITSI_URL", default="https://meet.jit.si")
VIDEO_ROOM_SECRET = env.str("VIDEO_ROOM_SECRET", default="")
VIDEO_LINK_OPENS_MINUTES_BEFORE = env.int("VIDEO_LINK_OPENS_MINUTES_BEFORE", default=15)
VIDEO_LINK_GRACE_MINUTES = env.int("VIDEO_LINK_GRACE_MINUTES", default=30)

# The JSON API (/api/v1/, api/; docs/api.md). Tokens (django-rest-knox) are kept as digests and
# shown once. One got by logging in lasts API_TOKEN_TTL_HOURS (0: until revoked); one a clinic
# admin makes for an integration offers API_INTEGRATION_TOKEN_DAYS as its lifetime. Throttle
# rates are "count/period" (s, m, h or d), per token (or session, or client address).
API_TOKEN_TTL_HOURS = env.float("API_TOKEN_TTL_HOURS", default=10.0)
API_INTEGRATION_TOKEN_DAYS = env.int("API_INTEGRATION_TOKEN_DAYS", default=365)
# How long a write's Idempotency-Key is remembered (manage.py prune_idempotency_records).
API_IDEMPOTENCY_HOURS = env.float("API_IDEMPOTENCY_HOURS", default=24.0)
REST_KNOX = {
    "TOKEN_TTL": dt.timedelta(hours=API_TOKEN_TTL_HOURS) if API_TOKEN_TTL_HOURS > 0 else None,
    "AUTH_HEADER_PREFIX": "Token",
    # Shown in the admin's token list, so a clinic can tell which token an integration holds.
    "TOKEN_PREFIX": "clinic_",
    "AUTO_REFRESH": False,
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PageNumberPagination",
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ReadThrottle", "api.throttling.WriteThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_read": env.str("API_THROTTLE_READS", default="600/m"),
        "api_write": env.str("API_THROTTLE_WRITES", default="60/m"),
        "api_login": env.str("API_THROTTLE_LOGINS", default="10/m"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# The FHIR R4 interface (/fhir/R4/, fhir/; docs/fhir.md). Identifier and code systems are URIs
# under this base, which should be one the clinic controls: the doctors' registration numbers
# (<base>/doctor-registration), departments (<base>/department), error codes (<base>/error-code).
FHIR_IDENTIFIER_SYSTEM_BASE = env.str(
    "FHIR_IDENTIFIER_SYSTEM_BASE", default="https://clinic.example/fhir"
).rstrip("/")
SPECTACULAR_SETTINGS = {
    "TITLE": f"{CLINIC_NAME} API",
    "DESCRIPTION": "The clinic's JSON API, version 1. See docs/api.md in the repository.",
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two sets of payment modes: the ledger's (online included) and those the desk records.
    "ENUM_NAME_OVERRIDES": {
        "LedgerModeEnum": "billing.models.Payment.Mode",
        "DeskModeEnum": "billing.forms.DESK_MODES",
        # Appointments' and charges' statuses: two choice sets behind fields named "status".
        "AppointmentStatusEnum": "bookings.models.Status",
        "ChargeStatusEnum": "billing.selectors.ChargeStatus",
        "LedgerEntryStatusEnum": "billing.selectors.EntryStatus",
        # A visit type's mode (in person, video) beside the payments' "mode".
        "VisitModeEnum": "doctors.models.VisitType.Mode",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email: the console in development; any django-anymail provider in production by setting
# EMAIL_BACKEND (e.g. anymail.backends.postmark.EmailBackend) and ANYMAIL_* variables. With DEBUG
# off and none named, nothing is sent (notifications.email_backends says why; `check` tells).
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default=(
        "django.core.mail.backends.console.EmailBackend"
        if DEBUG
        else "notifications.email_backends.NotConfiguredEmailBackend"
    ),
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Clinic Portal <no-reply@example.com>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# Who gets the (scrubbed) error email when DEBUG is off: comma-separated addresses.
ADMINS = [(address.strip(), address.strip()) for address in env.list("ADMINS", default=[])]
EMAIL_SUBJECT_PREFIX = f"[{CLINIC_NAME}] "
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in os.environ.items()
    if name.startswith("ANYMAIL_")
}

# Prometheus metrics at /metrics (clinic.metrics, clinic.metrics_endpoint), for operators only:
# from these addresses or networks (comma-separated, e.g. 10.0.5.7,10.0.6.0/24) and/or with this
# token (`Authorization: Bearer ...`); each one set must be met, and with neither set, nobody gets
# them (404). Several worker processes add up their counts when PROMETHEUS_MULTIPROC_DIR names an
# empty directory they share (an environment variable of prometheus_client, not a setting).
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
for _network in METRICS_ALLOWED_IPS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_IPS: {_network!r} is not an IP address or network."
        ) from None

# Log lines as plain text (the default, for development) or, with LOG_FORMAT=json, one JSON object
# per line for a log collector (clinic.json_logs); both name each line's request id.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")

# Logs carry request paths and status codes, never form contents: patient data stays out of them.
# Every handler scrubs the values that exception messages quote (clinic.log_scrubbing), and the
# error email (mail_admins, to ADMINS when DEBUG is off) leaves out posted values. The "django"
# logger is given its handlers here because Django's defaults add a console of their own to it,
# which printed each warning and error a second time (through the root's) when DEBUG was on.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "clinic.json_logs.JsonLogFormatter"},
    },
    "filters": {
        "scrub_submitted_values": {"()": "clinic.log_scrubbing.ScrubSubmittedValues"},
        "request_id": {"()": "clinic.request_ids.AddRequestId"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["scrub_submitted_values", "request_id"],
        },
        "mail_admins": {
            "level": "ERROR",
            "class": "django.utils.log.AdminEmailHandler",
            "filters": ["require_debug_false", "scrub_submitted_values"],
            "reporter_class": "clinic.log_scrubbing.ScrubbedExceptionReporter",
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": ["mail_admins"], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}
