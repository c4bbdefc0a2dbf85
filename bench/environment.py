"""Django set-up shared by the builder and the runner: PostgreSQL, DEBUG off, a throwaway key."""

import os
import sys
from pathlib import Path

import environ

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/clinic_bench"


def database_url():
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def database_config():
    """The target database as Django's settings dict; refuses anything but PostgreSQL."""
    config = environ.Env.db_url_config(database_url())
    if "postgresql" not in config["ENGINE"]:
        sys.exit(f"The benchmark runs on PostgreSQL; DATABASE_URL names {config['ENGINE']}.")
    return config


def describe_database(config=None):
    """host:port/name without credentials, for printouts and result files."""
    config = config or database_config()
    return f"{config.get('HOST') or 'localhost'}:{config.get('PORT') or 5432}/{config['NAME']}"


def configure_django():
    os.environ["DATABASE_URL"] = database_url()
    # Measured as production runs: DEBUG off (CaptureQueriesContext still sees every query).
    os.environ["DEBUG"] = "False"
    # The runner's test client speaks plain HTTP; the HTTPS-only defaults would redirect it.
    os.environ.setdefault("PLAIN_HTTP", "True")
    os.environ.setdefault("SECRET_KEY", "insecure-key-for-the-benchmark-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    import django

    django.setup()
