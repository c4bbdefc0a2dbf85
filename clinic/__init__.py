"""The project package.

`clinic.celery_app` is the Celery app (clinic/celery.py), loaded on first use only: the portal
itself never asks for it, so an install without Celery (CELERY_BROKER_URL empty) loads neither
Celery nor a broker client. `celery -A clinic` finds the app in clinic/celery.py by itself.
"""


def __getattr__(name):
    if name == "celery_app":
        from clinic.celery import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
