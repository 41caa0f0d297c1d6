"""How a service's API process wakes the outbox relay in its worker process after a commit.

The relay polls its outbox anyway (``relay_idle_poll_seconds``), so a lost wake-up costs
latency, never an event. The signal only makes the first hop as fast as when the relay
lived in the API process:

- on PostgreSQL, ``NOTIFY crm_outbox_<service>`` (the worker ``LISTEN``s on its own
  connection), which reaches a worker on any host;
- on SQLite, one UDP datagram to the worker on this machine (``<SERVICE>_WORKER_PORT``),
  since an embedded database has no way to notify.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from shared.settings import Settings

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 1.0


def _channel(service: str) -> str:
    return f"crm_outbox_{service}"


def _postgres_conninfo(database_url: str) -> str | None:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class Waker:
    """The API's side: one cheap signal for each commit that appended events.

    A request's unit of work calls ``before_commit`` and ``after_commit``: on PostgreSQL the
    ``NOTIFY`` rides the request's own transaction (delivered at its commit, never for a
    rollback, no connection or lock of its own); on SQLite the datagram follows the commit.
    ``wake`` is for a caller with no transaction at hand (the bulk import's batches).
    """

    def __init__(self, settings: Settings) -> None:
        self._conninfo = _postgres_conninfo(settings.database_url)
        self._channel = _channel(settings.service)
        self._address = (settings.worker_host, settings.worker_port)
        self._lock = threading.Lock()
        self._connection: psycopg.Connection[Any] | None = None
        self._socket: socket.socket | None = None

    def before_commit(self, session: Session) -> None:
        if self._conninfo is not None:
            session.execute(text(f"NOTIFY {self._channel}"))

    def after_commit(self) -> None:
        if self._conninfo is None:
            self.wake()

    def wake(self) -> None:
        try:
            if self._conninfo is not None:
                self._notify()
            elif self._address[1]:
                self._datagram()
        except Exception:  # noqa: BLE001 - the relay's own poll picks the events up anyway
            log.debug("could not wake the relay", exc_info=True)
            self._drop_connection()

    def _notify(self) -> None:
        with self._lock:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=2)
            self._connection.execute(f"NOTIFY {self._channel}")

    def _datagram(self) -> None:
        if self._socket is None:
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._socket.setblocking(False)
        self._socket.sendto(b"wake", self._address)

    def _drop_connection(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def close(self) -> None:
        self._drop_connection()
        if self._socket is not None:
            self._socket.close()


class WakeListener(threading.Thread):
    """The worker's side: calls ``on_wake`` whenever its API signals, until stopped."""

    def __init__(self, settings: Settings, on_wake: Callable[[], None]) -> None:
        super().__init__(name=f"{settings.service}-wake-listener", daemon=True)
        self._conninfo = _postgres_conninfo(settings.database_url)
        self._channel = _channel(settings.service)
        self._address = (settings.worker_host, settings.worker_port)
        self._on_wake = on_wake
        self._stopping = threading.Event()
        self.listening = threading.Event()  # set once signals can arrive (after the bind or the LISTEN)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self._conninfo is not None:
                    self._listen()
                elif self._address[1]:
                    self._receive()
                else:
                    return  # no port to listen on: the relay's poll alone
            except Exception:  # noqa: BLE001 - the database or the port may come back; poll meanwhile
                log.warning("wake-up listener of %s failed; retrying", self._channel, exc_info=True)
                self._stopping.wait(RECONNECT_SECONDS)

    def _listen(self) -> None:
        with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f"LISTEN {self._channel}")
            self.listening.set()
            while not self._stopping.is_set():
                for _ in connection.notifies(timeout=1.0, stop_after=1):
                    self._on_wake()

    def _receive(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener:
            listener.bind(self._address)
            listener.settimeout(1.0)
            self.listening.set()
            while not self._stopping.is_set():
                try:
                    listener.recv(64)
                except TimeoutError:
                    continue
                self._on_wake()
