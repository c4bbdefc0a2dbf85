"""Prometheus metrics (prometheus_client), at /metrics for operators only.

What is measured:
- clinic_http_request_duration_seconds{view, method, status}: each request's time, by the URL
  pattern's name (`bookings:detail`), never the path, which carries ids.
- clinic_http_request_database_queries{view}: how many statements one request ran.
- clinic_database_queries_total{view, database}: statements by view and database alias.
- clinic_outbox_due, clinic_outbox_oldest_due_age_seconds, clinic_outbox_failed{outbox}: the
  notices and webhook deliveries waiting past their time, how late the oldest is, and those that
  failed for good; read from the database at each scrape, so every app server reports the same.

Who may read them: clinic.metrics_access. With several worker processes (gunicorn), each keeps
its own counts; set PROMETHEUS_MULTIPROC_DIR to an empty directory that all of one server's
workers share (emptied at each start), and every scrape adds up all of them (prometheus_client's
multiprocess mode). Without it a scrape shows the one worker that answered it.
"""

import datetime as dt
import os
import time
from collections import Counter as Tally
from contextlib import ExitStack

from django.db import connections
from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from notifications.models import Notification, WebhookDelivery

MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
UNRESOLVED = "unresolved"  # answered before or without a URL pattern (a redirect, a 404)
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

REQUEST_SECONDS = Histogram(
    "clinic_http_request_duration_seconds",
    "Time to answer a request, by the view's URL name, method and status code.",
    ["view", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
QUERIES_PER_REQUEST = Histogram(
    "clinic_http_request_database_queries",
    "Database statements run by one request, by the view's URL name.",
    ["view"],
    buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200),
)
DATABASE_QUERIES = Counter(
    "clinic_database_queries",
    "Database statements run while answering requests, by view and database alias.",
    ["view", "database"],
)


def view_label(request):
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None else UNRESOLVED


def method_label(request):
    # Any word can be sent as a method; only the known ones become label values.
    return request.method if request.method in METHODS else "other"


class QueryTally:
    """Counts the statements each database alias runs while it is installed (execute_wrapper)."""

    def __init__(self):
        self.by_alias = Tally()

    def installed(self):
        stack = ExitStack()
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(self._counter(alias)))
        return stack

    def _counter(self, alias):
        def count(execute, sql, params, many, context):
            self.by_alias[alias] += 1
            return execute(sql, params, many, context)

        return count


class RequestMetricsMiddleware:
    """Near the top of MIDDLEWARE: times the whole answer and counts its statements."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tally = QueryTally()
        started = time.perf_counter()
        status = 500
        try:
            with tally.installed():
                response = self.get_response(request)
            status = response.status_code
            return response
        finally:
            view = view_label(request)
            REQUEST_SECONDS.labels(view, method_label(request), str(status)).observe(
                time.perf_counter() - started
            )
            QUERIES_PER_REQUEST.labels(view).observe(sum(tally.by_alias.values()))
            for alias, count in tally.by_alias.items():
                DATABASE_QUERIES.labels(view, alias).inc(count)


# The outbox, read at each scrape ----------------------------------------------------------------


def _outbox_figures(queryset, *, pending, failed, due_field, due_filter, now):
    due = Q(state=pending, **{f"{due_field}__lte": now}, **due_filter)
    return queryset.aggregate(
        due=Count("pk", filter=due),
        oldest=Min(due_field, filter=due),
        failed=Count("pk", filter=Q(state=failed)),
    )


def outbox_figures(now=None):
    """{outbox: {"due": n, "oldest": datetime or None, "failed": n}}, one query per outbox."""
    now = now or timezone.now()
    return {
        "notifications": _outbox_figures(
            Notification.objects.all(),
            pending=Notification.State.PENDING,
            failed=Notification.State.FAILED,
            due_field="send_after",
            due_filter={},
            now=now,
        ),
        # As the worker claims them: a delivery to a switched-off endpoint waits, it is not due.
        "webhooks": _outbox_figures(
            WebhookDelivery.objects.all(),
            pending=WebhookDelivery.State.PENDING,
            failed=WebhookDelivery.State.FAILED,
            due_field="next_attempt_at",
            due_filter={"endpoint__active": True},
            now=now,
        ),
    }


class OutboxCollector:
    def collect(self):
        now = timezone.now()
        figures = outbox_figures(now)
        due = GaugeMetricFamily(
            "clinic_outbox_due",
            "Notices and webhook deliveries waiting to be sent whose time has come.",
            labels=["outbox"],
        )
        oldest = GaugeMetricFamily(
            "clinic_outbox_oldest_due_age_seconds",
            "How long the oldest of those has been due (0 when none is).",
            labels=["outbox"],
        )
        failed = GaugeMetricFamily(
            "clinic_outbox_failed",
            "Notices and webhook deliveries that failed after their last try.",
            labels=["outbox"],
        )
        for outbox, row in figures.items():
            due.add_metric([outbox], row["due"])
            waited = (now - row["oldest"]) if row["oldest"] else dt.timedelta(0)
            oldest.add_metric([outbox], max(waited.total_seconds(), 0.0))
            failed.add_metric([outbox], row["failed"])
        return [due, oldest, failed]


class _ThisProcess:
    """The metrics this process keeps (its own requests, and Python's process figures)."""

    def collect(self):
        return REGISTRY.collect()


def exposition():
    """(body, content type) of one scrape: every worker's figures and the outbox's."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROCESS_DIRECTORY):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(OutboxCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST
