"""One webhook try within a hard time limit, whatever the receiver (or its DNS) does.

requests' timeouts are per step: the connect timeout is per address, the read timeout per chunk
read, and the name look-up has none at all. A receiver that trickles its answer a byte at a time,
or a name server that never answers, keeps a try going past its worker's lease, and another
worker then sends the event again while the first is still waiting.

So a try runs in a thread of its own, and the worker waits for it `seconds` at most. When the
time is up the worker records the try as failed and moves on, and the try is stopped where it
stands: the connections it opened are shut down (the thread's blocked read or write ends at
once), it opens no new ones, and code it runs can ask `check()` before a step worth skipping. A
thread blocked in the name look-up cannot be interrupted; it ends when the resolver gives up, and
posts nothing afterwards.

The try must not use the database: its thread has no connection of its own, and needs none.
"""

import contextlib
import socket
import threading

import requests
from requests.adapters import HTTPAdapter


class TookTooLong(Exception):
    """The try did not finish within its time limit."""

    def __init__(self, seconds):
        super().__init__(f"No answer within {seconds:g} s.")
        self.seconds = seconds


class Try:
    """The time limit of one try, and the connections it opened, so that another thread can cut
    them when the time is up."""

    def __init__(self, seconds):
        self.seconds = seconds
        self._over = threading.Event()
        self._lock = threading.Lock()
        self._connections = []

    def check(self):
        """Raises TookTooLong once the worker has given up on this try."""
        if self._over.is_set():
            raise TookTooLong(self.seconds)

    def session(self):
        """A requests session whose connections this try can cut."""
        session = requests.Session()
        adapter = _CuttableAdapter(self)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def run(self, work):
        """work(), in a thread of its own, for `seconds` at most: returns what it returns or
        raises what it raises; raises TookTooLong (and cuts its connections) when time is up."""
        outcome = {}

        def attempt():
            try:
                outcome["result"] = work()
            except BaseException as error:  # handed to the worker, which records it
                outcome["error"] = error

        thread = threading.Thread(target=attempt, name="webhook-try", daemon=True)
        thread.start()
        thread.join(self.seconds)
        if thread.is_alive():
            self.cut()
            raise TookTooLong(self.seconds)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    def cut(self):
        with self._lock:
            self._over.set()
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)

    def _opened(self, connection):
        with self._lock:
            self.check()
            self._connections.append(connection)
        connect = connection.connect

        def connect_unless_over():
            # Given up on while connecting: nothing is sent on the new connection.
            connect()
            if self._over.is_set():
                _shut(connection)
                raise TookTooLong(self.seconds)

        connection.connect = connect_unless_over


def _shut(connection):
    # socket.socket's own shutdown, also for a TLS socket: the other thread may be inside a TLS
    # read, which then ends with an error; the socket is closed by that thread.
    sock = getattr(connection, "sock", None)
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _CuttableAdapter(HTTPAdapter):
    """requests' adapter, whose urllib3 pools tell the try about each connection they open
    (directly or through a proxy)."""

    def __init__(self, attempt):
        self._attempt = attempt
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self._watch(self.poolmanager)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        self._watch(manager)
        return manager

    def _watch(self, manager):
        if getattr(manager, "watched_by", None) is self._attempt:
            return
        manager.watched_by = self._attempt
        manager.pool_classes_by_scheme = {
            scheme: _watched_pool(pool_class, self._attempt)
            for scheme, pool_class in manager.pool_classes_by_scheme.items()
        }


def _watched_pool(pool_class, attempt):
    class WatchedPool(pool_class):
        def _new_conn(self):
            connection = super()._new_conn()
            attempt._opened(connection)
            return connection

    return WatchedPool
