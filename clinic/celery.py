"""The Celery app, for background work on more than one machine (CELERY_BROKER_URL, Redis):

    celery -A clinic worker --loglevel INFO      # any number, on any machines
    celery -A clinic beat --loglevel INFO        # one: it only says "go" every interval

Only `celery -A clinic` imports this module (clinic/__init__.py offers it lazily): an install
without Celery never loads Celery or a broker client, and `manage.py send_notifications --loop`
does the same work on one machine.

The tasks (notifications/tasks.py) call the command's functions, which claim their own rows in
the database (FOR UPDATE SKIP LOCKED; a lease for webhooks). So a task message carries no work:
it is a trigger, "do what is due now", and running one twice, on two workers at once, or not at
all (the next tick comes) sends nothing twice and loses nothing. The options follow from that:

- Acknowledged when a worker takes it (task_acks_late off, Celery's default, named on purpose).
  A worker killed mid-task loses nothing: the notice in hand was never marked sent, its row lock
  went with its database connection, and the next trigger sends it. A late acknowledgement would
  only make Redis hand the dead worker's trigger to another after its visibility timeout (an
  hour), a second claiming scheme on top of the rows' own, for work the next tick does anyway.
- A trigger expires after one interval (set where it is sent): a worker back from an hour away
  does not find a queue of stale triggers; a trigger Redis gives back after the visibility
  timeout (one a killed worker had fetched but not started) is dropped the same way.
- One message fetched at a time: a busy worker does not sit on triggers an idle one could run.
- No time limit: a hard one kills a worker between the provider's acceptance of a message and
  its "sent" mark, the one moment a repeat can come from; the tasks bound their own time.
- No results kept: nothing reads them.
- Django's logging (LOGGING, LOG_LEVEL) is the workers' and beat's too: Celery would otherwise
  set up handlers of its own, without the filter that keeps patient details out of the logs.
"""

import os

from celery import Celery, signals
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

# The task names beat sends (notifications/tasks.py).
PERIODIC_TASKS = (
    "notifications.send_due_notices",
    "notifications.deliver_due_webhooks",
    "notifications.delete_expired_holds",
    "waitlist.offer_freed_times",
)

if not settings.CELERY_BROKER_URL:
    # Celery would otherwise go looking for RabbitMQ on localhost.
    raise ImproperlyConfigured(
        "CELERY_BROKER_URL is empty: set it (e.g. redis://127.0.0.1:6379/1) to run Celery, or run "
        "`manage.py send_notifications --loop` instead."
    )

app = Celery("clinic")
# The broker and anything else an install sets as CELERY_* in Django's settings.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_acks_late=False,
    worker_prefetch_multiplier=1,
    task_time_limit=None,
    task_soft_time_limit=None,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    beat_schedule={
        name: {
            "task": name,
            "schedule": settings.BEAT_INTERVAL_SECONDS,
            "options": {"expires": settings.BEAT_INTERVAL_SECONDS},
        }
        for name in PERIODIC_TASKS
    },
)
app.autodiscover_tasks()


@signals.setup_logging.connect
def use_djangos_logging(**kwargs):
    # A receiver here means Celery configures no logging at all (and --loglevel is ignored).
    from django.utils.log import configure_logging

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
