"""The transactional outbox: events are written with the change, then relayed to Kafka.

``append_event`` adds an event to the caller's open transaction, so it commits or
rolls back with the change it describes. ``OutboxRelay`` is a background thread that
publishes committed rows in sequence order with an idempotent producer
(``acks=all``) and marks them published only once Kafka has acknowledged them:
a crash anywhere means a row is sent again, never lost; consumers drop the repeat.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kafka import KafkaProducer
from pydantic import BaseModel
from sqlalchemy import Row, Text, cast, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from shared.contract import EventType
from shared.db import OutboxRecord, utcnow
from shared.envelope import dumps, encode_event
from shared.ids import new_id
from shared.topics import RECONNECT_BACKOFF_MAX_MS

log = logging.getLogger(__name__)

SESSION_KEY = "outbox.appended"
# Set in ``Session.info`` by ``crm replay``: handlers run as live, but append nothing.
REPLAYING = "outbox.replaying"


@dataclass(frozen=True)
class Appended:
    """What a write produced, for the consistency token of its response."""

    sequence: int
    subject: str


def publish(session: Session, event_type: EventType, payload: BaseModel, *, subject: str, tenant: str,
            flush: bool = True) -> OutboxRecord | None:
    """Append one typed event to the open transaction (see ``append_event``).

    The payload must be the model its event type declares, so what goes out is what the
    published schema says.
    """
    if type(payload) is not event_type.payload:
        raise TypeError(f"{event_type.name} carries {event_type.payload.__name__}, not {type(payload).__name__}")
    return append_event(session, topic=event_type.topic.name, event_type=event_type.name, subject=subject,
                        tenant=tenant, data=payload.model_dump(mode="json"), flush=flush, plain_json=True)


def outbox_row(event_type: EventType, data: dict[str, Any], *, subject: str, tenant: str,
               occurred_at: datetime) -> dict[str, Any]:
    """One outbox row as a plain mapping, for a bulk insert that writes many in one statement.

    ``data`` must already be what ``event_type.payload`` dumps to: validating each row on a
    bulk path costs too much, so the caller's tests prove it (see the importer's).
    """
    return {"event_id": new_id(), "tenant_id": tenant, "topic": event_type.topic.name, "key": subject,
            "type": event_type.name, "occurred_at": occurred_at, "data": data}


def append_event(
    session: Session,
    *,
    topic: str,
    event_type: str,
    subject: str,
    tenant: str,
    data: dict[str, Any] | None,
    flush: bool = True,
    plain_json: bool = False,
) -> OutboxRecord | None:
    """Add an event to the open transaction; ``data=None`` appends a tombstone.

    The flush writes the row at once, so code that later expunges the session cannot drop it;
    a consumer appending many events in one batch may defer it to its next flush. In a
    session marked ``REPLAYING`` nothing is appended (None is returned): a rebuild re-derives
    events that the live projection published already. ``plain_json``: the caller vouches
    that ``data`` holds JSON types only (no Decimal, UUID or datetime), which saves a round
    trip through JSON text on a hot path.
    """
    if session.info.get(REPLAYING):
        return None
    record = OutboxRecord(
        event_id=new_id(),
        tenant_id=tenant,
        topic=topic,
        key=subject,
        type=event_type,
        occurred_at=utcnow(),
        data=None if data is None else data if plain_json else _jsonable(data),
    )
    session.add(record)
    if flush:
        session.flush()  # assigns the sequence
    session.info.setdefault(SESSION_KEY, []).append(record)
    return record


def has_appended(session: Session) -> bool:
    """Whether the open transaction appended any event (the relay has something to publish after it)."""
    return bool(session.info.get(SESSION_KEY))


def appended_in(session: Session) -> list[Appended]:
    """The events the open transaction appended, with their sequences."""
    records: list[OutboxRecord] = session.info.get(SESSION_KEY, [])
    if any(r.sequence is None for r in records):
        session.flush()
    return [Appended(r.sequence, r.key) for r in records]


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    # Round-trip through canonical JSON so Decimals, UUIDs and datetimes are stored as text.
    return json.loads(dumps(data))


def wire_value(row: Row[Any], service: str) -> bytes | None:
    """What goes on the topic for a claimed row: the event, or None for a tombstone.

    A tombstone's data is stored as JSON ``null`` (the JSON column's default for None).
    """
    if row.data is None or row.data == "null":
        return None
    return encode_event(event_id=str(row.event_id), service=service, event_type=row.type, subject=row.key,
                        time=row.occurred_at, tenant=row.tenant_id, sequence=row.sequence, data_json=row.data)


def make_producer(bootstrap_servers: str, client_id: str) -> KafkaProducer:
    """The producer every service publishes with: idempotent, acks from all replicas, ordered."""
    return KafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        # Said explicitly: a conflicting setting would otherwise silently disable it.
        enable_idempotence=True,
        acks="all",
        max_in_flight_requests_per_connection=5,
        linger_ms=2,
        batch_size=131072,
        retries=2**31 - 1,
        request_timeout_ms=15000,
        delivery_timeout_ms=60000,
        key_serializer=str.encode,
        reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS,
    )


@dataclass
class _Flight:
    """A claimed batch on its way to Kafka: its transaction (holding the row locks), sequences and sends."""

    session: Session
    sequences: list[int]
    futures: list[Any]

    def abandon(self) -> None:
        # Rolled back: the rows stay unpublished and go out again (consumers drop repeats).
        self.session.close()


class _Landing(threading.Thread):
    """Lands a relay's batches in the order they were sent, beside the thread that claims and sends them.

    After a failure it lands nothing more: the later batches are abandoned, so they are not
    marked published and go out again; ``finish`` raises the failure.
    """

    def __init__(self, land: Callable[[_Flight], int], *, name: str, depth: int = 2) -> None:
        super().__init__(name=name, daemon=True)
        self._land = land
        self._queue: queue.Queue[_Flight | None] = queue.Queue(maxsize=depth)
        self._lock = threading.Lock()
        self._flights: list[_Flight] = []  # sent, not yet landed or abandoned
        self._error: BaseException | None = None
        self.published = 0

    @property
    def failed(self) -> bool:
        return self._error is not None

    def put(self, flight: _Flight) -> None:
        with self._lock:
            self._flights.append(flight)
        self._queue.put(flight)  # waits while ``depth`` batches are queued: memory stays bounded

    def in_flight(self) -> list[int]:
        with self._lock:
            return [sequence for flight in self._flights for sequence in flight.sequences]

    def run(self) -> None:
        while (flight := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self.published += self._land(flight)
                except BaseException as exc:  # noqa: BLE001 - handed to the relay's thread by finish()
                    self._error = exc
            else:
                flight.abandon()
            with self._lock:
                self._flights.remove(flight)

    def finish(self) -> int:
        """Wait until every batch put here is landed or abandoned; raise the failure if there was one."""
        self._queue.put(None)
        self.join()
        if self._error is not None:
            raise self._error
        return self.published


def pending_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxRecord).where(OutboxRecord.published_at.is_(None))) or 0


class OutboxRelay(threading.Thread):
    """Publishes committed outbox rows to Kafka, oldest first, and marks them published."""

    def __init__(
        self,
        *,
        service: str,
        sessions: sessionmaker[Session],
        producer_factory: Callable[[], KafkaProducer],
        batch_size: int = 500,
        idle_poll_seconds: float = 0.5,
        on_published: Callable[[int], None] | None = None,
    ) -> None:
        super().__init__(name=f"{service}-outbox-relay", daemon=True)
        self.service = service
        self._sessions = sessions
        self._producer_factory = producer_factory
        self._producer: KafkaProducer | None = None
        self._batch_size = batch_size
        self._idle_poll_seconds = idle_poll_seconds
        self._on_published = on_published or (lambda n: None)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self.healthy = False

    def wake(self) -> None:
        """Called after a commit that appended events, so they go out without waiting for the poll."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                self.publish_pending()
                self.healthy = True
                backoff = 0.2
            except Exception:  # noqa: BLE001 - the relay must survive any outage and retry
                log.exception("outbox relay of %s failed; retrying", self.service)
                self.healthy = False
                self._drop_producer()
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self._wake.wait(self._idle_poll_seconds)
            self._wake.clear()
        self._drop_producer()

    def publish_pending(self) -> int:
        """Publish until nothing is pending; returns how many were published.

        A backlog is pipelined: this thread claims and sends batch after batch while a second
        one waits for each batch's acknowledgements and marks it published, so neither the
        queries nor Kafka leave the relay idle. A batch is marked published only after all of
        its acknowledgements; if anything fails, the batches not yet marked are sent again
        later (never lost). Two relays of one service can, rarely, lock rows in crossing orders
        (a late-committed row below the batches in flight); PostgreSQL then aborts one of them,
        which starts over.
        """
        first = self._launch(excluding=())
        if first is None:
            return 0
        if len(first.sequences) < self._batch_size:
            return self._land(first)  # a trickle, the usual case: no second thread for it
        landing = _Landing(self._land, name=f"{self.name}-landing")
        landing.start()
        landing.put(first)
        try:
            while not self._stopping.is_set() and not landing.failed:
                flight = self._launch(excluding=landing.in_flight())
                if flight is None:
                    break
                landing.put(flight)
        finally:
            published = landing.finish()
        return published

    def _launch(self, excluding: Sequence[int]) -> _Flight | None:
        """Claim the next batch (none of the batches still in flight) and send it without waiting."""
        session = self._sessions()
        try:
            rows = self._claim(session, excluding=excluding)
            if not rows:
                session.close()
                return None
            producer = self._ensure_producer()
            futures = [
                producer.send(
                    row.topic,
                    key=row.key,
                    value=wire_value(row, self.service),
                    headers=[("ce_type", row.type.encode()), ("ce_tenant", row.tenant_id.encode())],
                )
                for row in rows
            ]
        except BaseException:
            session.close()
            raise
        return _Flight(session, [row.sequence for row in rows], futures)

    def _land(self, flight: _Flight) -> int:
        """Wait for every acknowledgement of a batch, then mark it published."""
        try:
            for future in flight.futures:
                future.get(timeout=60)  # raises if Kafka did not take it
            flight.session.execute(
                update(OutboxRecord).where(OutboxRecord.sequence.in_(flight.sequences)).values(published_at=utcnow())
            )
            flight.session.commit()
        finally:
            flight.session.close()
        self._on_published(len(flight.sequences))
        return len(flight.sequences)

    def _claim(self, session: Session, excluding: Sequence[int] = ()) -> list[Row[Any]]:
        # Plain columns with the data as JSON text: no entity per row, and the data goes out as stored.
        query = (
            select(OutboxRecord.sequence, OutboxRecord.event_id, OutboxRecord.tenant_id, OutboxRecord.topic,
                   OutboxRecord.key, OutboxRecord.type, OutboxRecord.occurred_at,
                   cast(OutboxRecord.data, Text).label("data"))
            .where(OutboxRecord.published_at.is_(None))
            .order_by(OutboxRecord.sequence)
            .limit(self._batch_size)
        )
        if excluding:
            # The batch in flight is this relay's own (its rows are locked by its other transaction).
            query = query.where(OutboxRecord.sequence.not_in(excluding))
        if session.get_bind().dialect.name == "postgresql":
            # Several replicas of a service may run a relay: the row locks make them take turns,
            # which keeps publication in sequence order. The filter above comes before the lock,
            # so the relay does not wait for its own batch in flight.
            query = query.with_for_update()
        return list(session.execute(query))

    def _ensure_producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = self._producer_factory()
        return self._producer

    def _drop_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=5)
            except Exception:  # noqa: BLE001 - closing a broken producer may fail too
                log.debug("closing the producer failed", exc_info=True)
            self._producer = None

