"""The bench server's settings: the production settings with the load run's URLs
(bench/load_urls.py: the portal's own and the floor page). Only the load run's gunicorn is started
with DJANGO_SETTINGS_MODULE=bench.load_settings."""

from clinic.settings import *  # noqa: F403

ROOT_URLCONF = "bench.load_urls"
