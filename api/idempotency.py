"""Safe retries of write requests: the `Idempotency-Key` header.

A client that sends `Idempotency-Key: <any text up to 255 characters>` with a write may send the
same request again (a time-out, a lost connection) and get the first answer back, with the
header `Idempotent-Replayed: true`, while nothing is written a second time. Keys belong to the
login (each login has its own), and are remembered for API_IDEMPOTENCY_HOURS (24 by default).
Stored answers carry personal details (a new patient's name, a booking's patient), so expired
records do not wait for `manage.py prune_idempotency_records`: every keyed write deletes all
expired records, any login's, in the same statement that frees its own key. Closing a patient's
account (clinic.privacy) deletes the login's records and blanks the stored answers that name
the patient (forget_answers_about).

- Same key, same method, path and body: the first answer (its status, body and Location).
- Same key with a different request: 422 "idempotency_key_reused"; nothing runs.
- Same key while the first request is still running: 409 "idempotency_in_progress" with
  Retry-After; nothing runs. The second request does not wait for the first: the first may hold
  the doctor's row lock for its whole booking, and a waiting retry would hold a connection and
  a worker too; answering at once lets the client retry a moment later and get the replay.
- Answers are remembered whatever their status below 500 (a refused booking is refused again
  the same way). A 5xx or an exception before anything was committed forgets the key, so a
  retry runs the request afresh. Once something has been committed (the service returned), the
  key is never forgotten: if building or storing the answer then fails, or the answer is a
  5xx, the record stays "in progress" and retries answer 409 until it expires, because running
  the request again could record a payment or a booking twice.
- Requests without a login cannot use keys (400 "invalid_idempotency_key"), nor can keys that
  are empty or longer than 255 characters.

Why not one transaction for the record and the write: the booking and billing services run in
`transaction.atomic(durable=True)`, which refuses to run inside any outer transaction (so that
their commit is final when they return). So the record is written in three steps:

1. Claim: in a short transaction of its own, the (login, key) row is inserted "in progress"
   (the unique constraint on it decides between two concurrent first requests: the loser's
   insert waits for the winner's commit, then fails, and it reads the winner's row instead).
   Expired rows are deleted first (every login's, see above), so an old key can be used again.
2. The view runs; the service commits its own transaction.
3. Complete: the answer is stored on the row (one UPDATE, committed at once).

A crash or a failure between 2 and 3 (the process killed, a statement time-out or a lost
connection after the service committed) leaves the row "in progress": retries with that key
answer 409 until the row expires, rather than risk writing a second time. The client then
reads the state (GET) instead of retrying. A view whose writes are not in a durable service
can ask for `idempotent(one_transaction=True)`: then the view's work and step 3 commit
together, and a crash leaves nothing half recorded.
"""

import hashlib
import json
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from rest_framework.response import Response

from api.errors import ApiError
from api.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Headers of the first answer that a replay repeats (a created object's address).
KEPT_HEADERS = ("Location",)


def lifetime():
    return timezone.timedelta(hours=settings.API_IDEMPOTENCY_HOURS)


def expired_before(now=None):
    return (now or timezone.now()) - lifetime()


def fingerprint(request):
    """SHA-256 of the method, the full path and the parsed body (keys sorted, so that two
    encodings of one JSON object are one request)."""
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    text = "\n".join([request.method, request.get_full_path(), body])
    return hashlib.sha256(text.encode()).hexdigest()


def _valid_key(key):
    return 0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()


def claim(*, user, key, method, path, digest, now=None):
    """(record, claimed): the new "in progress" row, or the row already there for the key."""
    with transaction.atomic():
        IdempotencyRecord.objects.filter(created_at__lt=expired_before(now)).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=user, key=key, method=method, path=path[:2000], fingerprint=digest
                )
            return record, True
        except IntegrityError:
            return IdempotencyRecord.objects.get(user=user, key=key), False


def complete(record, response):
    """Stores the answer on the claimed row."""
    record.state = IdempotencyRecord.State.COMPLETE
    record.response_status = response.status_code
    record.response_body = response.data
    record.response_headers = {name: response[name] for name in KEPT_HEADERS if name in response}
    record.completed_at = timezone.now()
    record.save(
        update_fields=[
            "state",
            "response_status",
            "response_body",
            "response_headers",
            "completed_at",
        ]
    )


def forget(record):
    IdempotencyRecord.objects.filter(pk=record.pk).delete()


def replay(record):
    response = Response(
        record.response_body, status=record.response_status, headers=record.response_headers
    )
    response[REPLAYED_HEADER] = "true"
    return response


def _refuse_reuse_or_wait(record, digest):
    if record.fingerprint != digest:
        raise ApiError(
            "This Idempotency-Key was used with a different request. Use a new key for a new "
            "request.",
            code="idempotency_key_reused",
            status_code=422,
        )
    if record.state != IdempotencyRecord.State.COMPLETE:
        raise ApiError(
            "A request with this Idempotency-Key is still being processed. Try again shortly.",
            code="idempotency_in_progress",
            status_code=409,
            headers={"Retry-After": "1"},
        )


def idempotent(handler=None, *, one_transaction=False):
    """Decorates an API view's write method (`post`, `put`, `patch`, `delete`) so that it
    honours the Idempotency-Key header as described above."""

    def decorate(handler):
        @wraps(handler)
        def wrapper(view, request, *args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                return handler(view, request, *args, **kwargs)
            if not _valid_key(key):
                raise ApiError(
                    f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable characters.",
                    code="invalid_idempotency_key",
                    status_code=400,
                )
            if not request.user.is_authenticated:
                raise ApiError(
                    f"An {HEADER} needs a login: keys are kept per login.",
                    code="invalid_idempotency_key",
                    status_code=400,
                )
            digest = fingerprint(request)
            record, claimed = claim(
                user=request.user,
                key=key,
                method=request.method,
                path=request.get_full_path(),
                digest=digest,
            )
            if not claimed:
                _refuse_reuse_or_wait(record, digest)
                return replay(record)
            return _run_and_record(view, request, handler, record, one_transaction, args, kwargs)

        wrapper.idempotent = True
        return wrapper

    return decorate(handler) if handler is not None else decorate


WRITE_STATEMENTS = ("INSERT", "UPDATE", "DELETE", "MERGE")


class _CommitWatch:
    """Whether a write made while watching has been committed (or, inside an outer
    transaction such as a test's, survived the block that made it).

    A write outside any transaction (autocommit) is committed as it runs. A write inside one
    registers an on_commit hook: Django runs it when the transaction commits and drops it when
    the block that registered it rolls back, so a hook still pending at the end sits in a
    block that was kept."""

    def __init__(self):
        self.committed = False

    def _mark(self):
        self.committed = True

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.lstrip().upper().startswith(WRITE_STATEMENTS):
            if connection.in_atomic_block:
                if not self._pending():
                    transaction.on_commit(self._mark)
            else:
                self.committed = True
        return result

    def _pending(self):
        # Django's list of (savepoint ids, callback, robust) for the open transaction.
        return any(callback == self._mark for _, callback, *_ in connection.run_on_commit)

    def something_committed(self):
        return self.committed or self._pending()


def _run_and_record(view, request, handler, record, one_transaction, args, kwargs):
    if one_transaction:
        return _run_in_one_transaction(view, request, handler, record, args, kwargs)
    watch = _CommitWatch()
    try:
        with connection.execute_wrapper(watch):
            response = _answer(view, request, handler, args, kwargs, savepoint=False)
        if response.status_code < 500:
            complete(record, response)
    except BaseException:
        if not watch.something_committed():
            forget(record)
        raise
    if response.status_code >= 500 and not watch.something_committed():
        forget(record)
    return response


def _run_in_one_transaction(view, request, handler, record, args, kwargs):
    try:
        with transaction.atomic():
            response = _answer(view, request, handler, args, kwargs, savepoint=True)
            if response.status_code >= 500:
                transaction.set_rollback(True)
            else:
                complete(record, response)
    except BaseException:
        forget(record)
        raise
    if response.status_code >= 500:
        forget(record)
    return response


def _answer(view, request, handler, args, kwargs, *, savepoint):
    """The view's answer, an error turned into its JSON answer (so that it can be stored).
    With `savepoint`, a refused request's own writes are undone, its answer still kept."""
    try:
        if savepoint:
            with transaction.atomic():
                return handler(view, request, *args, **kwargs)
        return handler(view, request, *args, **kwargs)
    except Exception as exc:
        return view.handle_exception(exc)


# Higher layers (the FHIR interface) store answers of their own shapes through the same decorator;
# each registers how its answers name a patient: matcher(patient) -> Q over IdempotencyRecord.
_patient_matchers = []


def answers_naming_patient(matcher):
    _patient_matchers.append(matcher)
    return matcher


def forget_answers_about(*, user=None, patient=None):
    """For a closed account: the login's own records go (it can no longer send a retry), and
    other logins' stored answers that name the patient (the desk's booking, payment or new
    directory entry) lose their body but keep their status, so that a retry of that write is
    still answered without running it again."""
    if user is not None:
        IdempotencyRecord.objects.filter(user=user).delete()
    if patient is not None:
        # The three shapes that name a patient: an appointment's reference, a ledger entry's
        # appointment, a directory entry's own answer.
        naming = (
            Q(response_body__patient__id=patient.pk)
            | Q(response_body__appointment__patient_id=patient.pk)
            | Q(path__startswith=reverse("api:patients"), response_body__id=patient.pk)
        )
        for matcher in _patient_matchers:
            naming |= matcher(patient)
        IdempotencyRecord.objects.filter(naming).update(response_body=None)


def prune(now=None):
    """Deletes records older than the lifetime; returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=expired_before(now)).delete()
    return deleted
