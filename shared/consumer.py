"""The consumer runner: applies events exactly once in effect, then commits the offset.

One ``EventConsumer`` is one thread owning one ``KafkaConsumer`` (they are not
thread-safe), and a worker runs one for all of its service's consumers (``ConsumerSpec``). For each message it opens a database transaction, skips events it
has already applied (the ``processed_events`` table), runs the handler, records the
event id, and commits; only then does it commit the Kafka offset. A handler error is
retried a few times and then the message goes to ``crm.dlq.<service>.v1`` with the
error, so one bad message cannot block a partition. When the database itself is
unreachable nothing is dead-lettered: the consumer rewinds and waits.

Group membership is looked after by ``shared.group``: the consumer waits for its topics'
metadata before joining, finishes every join the Kafka client leaves unfinished (the cause
of the stalls once seen after restarts), and leaves its group on shutdown (``close``), so a
restarted worker never waits for its predecessor's session to expire. As a last resort, a
consumer out of its group for ``stall_seconds`` while the broker answers is closed and
created again, counted in ``crm_consumer_restarts_total{reason="stall"}``; it never fires
in the restart scenarios of ``tests/faults``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.errors import CommitFailedError, KafkaError, RetriableError
from kafka.structs import OffsetAndMetadata
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from shared.db import ProcessedEvent, unit_of_work, utcnow
from shared.envelope import CloudEvent, EnvelopeError, parse_event
from shared.group import StallClock, await_metadata, broker_reachable, finish_orphaned_join, member_stable
from shared.metrics import ServiceMetrics
from shared.outbox import has_appended
from shared.process import seconds_since_process_start
from shared.topics import RECONNECT_BACKOFF_MAX_MS

log = logging.getLogger(__name__)

# A commit waits at most this long for the broker; what it could not commit is tried again later.
COMMIT_TIMEOUT_MS = 2000


@dataclass(frozen=True)
class Delivery:
    """One message as a handler sees it: the event, or ``None`` for a tombstone."""

    topic: str
    key: str
    event: CloudEvent | None


Handler = Callable[[Session, Delivery], None]
# Reads up front, in a few queries, what a batch's handlers will look up one event at a time; what it
# read is valid inside the ``with`` only (the batch's transaction).
Preparer = Callable[[Session, list[CloudEvent]], AbstractContextManager[None]]


@dataclass(frozen=True)
class ConsumerSpec:
    """A consumer a service runs: its name (also its dedupe namespace), topics and handler.

    ``projection``: its state is derived from the topics alone, so ``crm replay`` can rebuild it.
    ``prepare``: optional; reads what a batch will touch before its events are handled one by one.
    ``types``: the event types the handler acts on (None: all). Others are passed over unread, with
    no transaction and no processed-event row: on a busy topic most events are not for this consumer.
    """

    name: str
    topics: list[str]
    handle: Handler
    accepts_tombstones: bool = False
    projection: bool = True
    # False for a handler whose effect is the same however often an event is applied (a version
    # guard): it then needs no processed-event row, which saves two statements per event.
    dedupe: bool = True
    prepare: Preparer | None = None
    types: frozenset[str] | None = None


class Unavailable(Exception):
    """The database or the dead-letter topic cannot be reached: retry later, do not skip."""


def apply_all(session: Session, consumer: str, deliveries: list[Delivery | None], handle: Handler,
              prepare: Preparer | None = None, *, dedupe: bool = True) -> int:
    """Apply a batch inside the caller's transaction, skipping what was applied before; returns how many applied.

    One query finds the batch's already-processed events, instead of one per event. Without
    ``dedupe`` (an idempotent handler) every delivery is applied and nothing is recorded.
    """
    if not dedupe:
        fresh = [d for d in deliveries if d is not None]
        with prepare(session, [d.event for d in fresh if d.event is not None]) if prepare is not None else nullcontext():
            for delivery in fresh:
                handle(session, delivery)
        return len(fresh)
    fresh = _not_yet_applied(session, consumer, deliveries)
    events = [d.event for d in fresh if d.event is not None]
    with prepare(session, events) if prepare is not None and events else nullcontext():
        for delivery in fresh:
            handle(session, delivery)
    if events:
        # One statement for the batch's dedupe rows, not one ORM object each.
        now = utcnow()
        session.execute(insert(ProcessedEvent), [{"consumer": consumer, "event_id": event.id, "processed_at": now}
                                                 for event in events])
    return len(fresh)


def _not_yet_applied(session: Session, consumer: str, deliveries: list[Delivery | None]) -> list[Delivery]:
    ids = [d.event.id for d in deliveries if d is not None and d.event is not None]
    seen = set(session.scalars(select(ProcessedEvent.event_id).where(
        ProcessedEvent.consumer == consumer, ProcessedEvent.event_id.in_(ids)))) if ids else set()
    fresh: list[Delivery] = []
    for delivery in deliveries:
        if delivery is None:
            continue
        if delivery.event is not None:
            if delivery.event.id in seen:
                continue
            seen.add(delivery.event.id)
        fresh.append(delivery)
    return fresh


def apply_once(session: Session, consumer: str, delivery: Delivery, handle: Handler,
               prepare: Preparer | None = None, *, dedupe: bool = True) -> bool:
    """Apply a delivery inside the caller's transaction unless it was applied before."""
    return apply_all(session, consumer, [delivery], handle, prepare, dedupe=dedupe) == 1


class Stalled(Exception):
    """The consumer has had no partitions, or no coordinator, for too long: start it afresh."""


class EventConsumer(threading.Thread):
    """One worker's Kafka consumer: one client and one group for all of a service's consumers.

    Each ``ConsumerSpec`` keeps its own handler, event types and dedupe namespace (its name
    in ``processed_events``); the client, its fetcher, heartbeat and group membership are
    shared, so the broker answers one member per service instead of one per consumer. A
    partition's batch is applied for every spec that wants it in one transaction; a batch
    that fails falls back to one record and one spec at a time, with retries and the
    dead-letter topic (which names the spec that failed).
    """

    def __init__(
        self,
        *,
        name: str,
        service: str,
        specs: list[ConsumerSpec],
        group_id: str,
        bootstrap_servers: str,
        sessions: sessionmaker[Session],
        producer_factory: Callable[[], KafkaProducer],
        dead_letter_topic: str,
        metrics: ServiceMetrics,
        max_attempts: int = 3,
        session_timeout_ms: int = 10000,
        on_commit: Callable[[], None] | None = None,
        stall_seconds: float = 10.0,
        commit_interval_seconds: float = 1.0,
    ) -> None:
        super().__init__(name=f"{service}-{name}-consumer", daemon=True)
        self._commit_interval = commit_interval_seconds
        self.consumer_name = name
        # Wakes the outbox relay when a handler appended events: they go out now, not at the relay's
        # next poll (a batch that appended nothing does not wake it: a claim query per batch for nothing).
        self._on_commit = on_commit or (lambda: None)
        self._topics = sorted({topic for spec in specs for topic in spec.topics})
        self._specs_of = {topic: [spec for spec in specs if topic in spec.topics] for topic in self._topics}
        self._group_id = group_id
        self._bootstrap_servers = bootstrap_servers
        self._sessions = sessions
        self._producer_factory = producer_factory
        self._producer: KafkaProducer | None = None
        self._dead_letter_topic = dead_letter_topic
        self._metrics = metrics
        self._max_attempts = max_attempts
        self._session_timeout_ms = session_timeout_ms
        self._stall_seconds = stall_seconds
        self._stopping = threading.Event()
        self.healthy = False
        self.assigned = threading.Event()  # set once the consumer first settled in its group
        # As of its last poll: a settled member holding what the group gave it (shared.group.member_stable).
        self.holds_partitions = False
        self.restarts = 0  # times the Kafka consumer was created again (after a crash or a stall)

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the thread to finish its current message and close its consumer."""
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._consume()
            except Stalled as exc:
                log.warning("consumer %s stalled (%s); starting it afresh", self.name, exc)
                self._restarted("stall")
            except Exception:  # noqa: BLE001 - reconnect on any broker trouble
                log.exception("consumer %s crashed; restarting", self.name)
                self._restarted("crash")
                self._stopping.wait(2.0)
        if self._producer is not None:
            self._producer.close(timeout=5)

    def _restarted(self, reason: str) -> None:
        self.healthy = False
        self.holds_partitions = False
        self.restarts += 1
        self._metrics.consumer_restarts.labels(reason).inc()
        self._metrics.consumer_partitions.set(0)

    def _held(self, in_group: bool, partitions: int) -> None:
        """Record the membership after a poll; the first time it settles, how long the process took to get there."""
        self.holds_partitions = in_group
        self._metrics.consumer_partitions.set(partitions if in_group else 0)
        if in_group and not self.assigned.is_set():
            self.assigned.set()
            age = seconds_since_process_start()
            if age is not None:
                self._metrics.consumer_join_seconds.set(age)
                log.info("%s holds %d partitions, %.2f s after its process started", self.name, partitions, age)

    def _consume(self) -> None:
        consumer = KafkaConsumer(
            *self._topics,
            bootstrap_servers=self._bootstrap_servers,
            group_id=self._group_id,
            client_id=self.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            partition_assignment_strategy=(CooperativeStickyAssignor,),
            max_poll_records=500,
            # A fetch returns as soon as one record is there (the latency a write waits for its view),
            # and an idle one waits half a second at the broker: shorter waits only cost the broker
            # more empty fetches. Under load a fetch fills up by itself, so batches grow with the rate.
            fetch_min_bytes=1,
            fetch_max_wait_ms=500,
            session_timeout_ms=self._session_timeout_ms,
            heartbeat_interval_ms=max(self._session_timeout_ms // 4, 500),
            key_deserializer=lambda k: k.decode() if k is not None else "",
            reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS,
        )
        await_metadata(consumer, self._topics)
        clock = StallClock(self._stall_seconds)
        pending: dict[TopicPartition, OffsetAndMetadata] = {}
        try:
            last_commit = last_probe = time.monotonic()
            broker_up = True
            while not self._stopping.is_set():
                batches = self._poll(consumer)
                if finish_orphaned_join(consumer):
                    self._metrics.consumer_orphaned_joins.inc()
                    log.info("%s: the Kafka client left a group join unfinished; finishing it", self.name)
                in_group = member_stable(consumer)
                self._held(in_group, len(consumer.assignment()))
                now = time.monotonic()
                if not in_group and now - last_probe >= 1.0:
                    broker_up, last_probe = broker_reachable(self._bootstrap_servers), now
                if clock.stalled(now, in_group=in_group, broker_up=broker_up):
                    raise Stalled(f"out of its group for {self._stall_seconds:g} s while the broker answers")
                pending |= self._process_batches(consumer, batches)
                # Offsets are committed at most every commit interval, not after every batch: what was
                # applied is recorded in the database (processed events, version checks), so a record
                # delivered again after a crash or a rebalance changes nothing, and at a low rate each
                # event no longer costs every group an offset commit (a write to the broker's log).
                if pending and time.monotonic() - last_commit >= self._commit_interval:
                    last_commit = time.monotonic()
                    if self._commit(consumer, pending):
                        pending = {}
        finally:
            if pending:
                self._commit(consumer, pending)
            # Closed from the thread that owns it, as kafka-python requires.
            consumer.close()

    def _poll(self, consumer: KafkaConsumer) -> dict[TopicPartition, list[ConsumerRecord]]:
        """One poll; nothing while the broker is away.

        kafka-python lets a refused connection escape ``poll`` while it looks for the group's
        coordinator (a failed metadata refresh inside its retry path). Recreating the client
        for that made it a new member, which after the broker's return waited for the old
        one's session to expire (10 s); the same client simply rejoins when the broker is back.
        """
        try:
            batches = consumer.poll(timeout_ms=300)
        except RetriableError as exc:
            log.info("%s: Kafka unavailable (%s); polling again", self.name, exc)
            self.healthy = False
            self._stopping.wait(0.3)
            return {}
        self.healthy = True
        return batches

    def _commit(self, consumer: KafkaConsumer, offsets: dict[TopicPartition, OffsetAndMetadata]) -> bool:
        """Commit what was applied; False (keep them for the next try) while the group's coordinator is away.

        A commit without a coordinator used to block the consumer thread for the whole of a broker
        outage and then fail, restarting the client seconds after the broker was back. Offsets only
        save re-reading (applied events are recorded in the database), so they can wait.
        """
        if not member_stable(consumer):
            return False
        try:
            consumer.commit({tp: offset for tp, offset in offsets.items() if tp in consumer.assignment()},
                            timeout_ms=COMMIT_TIMEOUT_MS)
        except CommitFailedError as exc:
            # The partitions moved to another member meanwhile; it starts from the last commit and
            # passes over what was applied here already.
            log.info("%s: offsets not committed (%s); the new owner re-reads them harmlessly", self.name, exc)
        except KafkaError as exc:
            log.info("%s: offsets not committed (%s); kept for the next commit", self.name, exc)
            return False
        return True

    def _process_batches(
        self, consumer: KafkaConsumer, batches: dict[TopicPartition, list[ConsumerRecord]]
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for partition, records in batches.items():
            if self._stopping.is_set():
                consumer.seek(partition, records[0].offset)
                continue
            plan = [(spec, wanted) for spec in self._specs_of.get(partition.topic, ())
                    if (wanted := [r for r in records if is_wanted(r, spec.types,
                                                                   accepts_tombstones=spec.accepts_tombstones)])]
            try:
                if plan and not self._apply_together(plan):
                    for spec, wanted in plan:
                        for record in wanted:
                            self._process(spec, record)
            except Unavailable as exc:
                log.warning("%s: dependency unavailable (%s), will retry from offset %s", self.name, exc,
                            records[0].offset)
                consumer.seek(partition, records[0].offset)
                self._stopping.wait(1.0)
                continue
            offsets[partition] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
        return offsets

    def _apply_together(self, plan: list[tuple[ConsumerSpec, list[ConsumerRecord]]]) -> bool:
        """The fast path: one transaction for a partition's whole batch and every spec that wants it;
        False if any record needs care alone."""
        try:
            deliveries = _deliveries(plan)
        except EnvelopeError:
            return False
        applied: dict[str, int] = {}
        try:
            with unit_of_work(self._sessions) as session:
                for spec, batch in deliveries:
                    applied[spec.name] = apply_all(session, spec.name, batch, spec.handle, spec.prepare,
                                                  dedupe=spec.dedupe)
                appended = has_appended(session)
        except (OperationalError, DBAPIError) as exc:
            if _is_connection_problem(exc):
                raise Unavailable(str(exc)) from exc
            return False
        except Exception:  # noqa: BLE001 - retried record by record, with dead-lettering
            log.debug("%s: batch failed; applying one by one", self.name, exc_info=True)
            return False
        for name, count in applied.items():
            self._metrics.consumed.labels(name).inc(count)
        if appended:
            self._on_commit()
        return True

    def _process(self, spec: ConsumerSpec, record: ConsumerRecord) -> None:
        try:
            delivery = delivery_of(record, accepts_tombstones=spec.accepts_tombstones)
        except EnvelopeError as exc:
            self._dead_letter(spec, record, f"unreadable event: {exc}")
            return
        if delivery is None:
            return
        error: Exception | None = None
        for attempt in range(1, self._max_attempts + 1):
            try:
                with unit_of_work(self._sessions) as session:
                    applied = apply_once(session, spec.name, delivery, spec.handle, spec.prepare, dedupe=spec.dedupe)
                    appended = has_appended(session)
                if applied:
                    self._metrics.consumed.labels(spec.name).inc()
                if appended:
                    self._on_commit()
                return
            except IntegrityError as exc:
                # Usually a concurrent duplicate of the same event; the next attempt sees it as processed.
                error = exc
            except (OperationalError, DBAPIError) as exc:
                if _is_connection_problem(exc):
                    raise Unavailable(str(exc)) from exc
                error = exc
            except Exception as exc:  # noqa: BLE001 - any handler failure counts as an attempt
                error = exc
            log.warning("%s/%s: attempt %d of %s failed: %s", self.name, spec.name, attempt, _where(record), error)
            time.sleep(0.05 * attempt)
        self._dead_letter(spec, record, f"{type(error).__name__}: {error}")

    def _dead_letter(self, spec: ConsumerSpec, record: ConsumerRecord, error: str) -> None:
        log.error("%s/%s: dead-lettering %s: %s", self.name, spec.name, _where(record), error)
        headers = [
            ("dlq_error", error[:2000].encode()),
            ("dlq_consumer", spec.name.encode()),
            ("dlq_topic", record.topic.encode()),
            ("dlq_partition", str(record.partition).encode()),
            ("dlq_offset", str(record.offset).encode()),
        ]
        try:
            if self._producer is None:
                self._producer = self._producer_factory()
            self._producer.send(
                self._dead_letter_topic,
                key=record.key or "",
                value=record.value,
                headers=headers,
            ).get(timeout=30)
        except Exception as exc:  # noqa: BLE001 - without the DLQ we must not skip the message
            self._producer = None
            raise Unavailable(f"dead-letter topic unreachable: {exc}") from exc
        self._metrics.dead_lettered.labels(spec.name).inc()


def _deliveries(plan: list[tuple[ConsumerSpec, list[ConsumerRecord]]]) -> list[tuple[ConsumerSpec, list[Delivery | None]]]:
    """Each spec's deliveries; a record that several specs want is parsed once."""
    parsed: dict[int, CloudEvent | None] = {}
    out: list[tuple[ConsumerSpec, list[Delivery | None]]] = []
    for spec, records in plan:
        batch: list[Delivery | None] = []
        for record in records:
            if record.value is None:
                batch.append(delivery_of(record, accepts_tombstones=spec.accepts_tombstones))
                continue
            if record.offset not in parsed:
                parsed[record.offset] = parse_event(record.value)
            batch.append(Delivery(topic=record.topic, key=_key_of(record), event=parsed[record.offset]))
        out.append((spec, batch))
    return out


def is_wanted(record: ConsumerRecord, types: frozenset[str] | None, *, accepts_tombstones: bool) -> bool:
    """Whether a consumer acting on ``types`` needs the record, judged from its ``ce_type`` header when it has one.

    A record without the header is wanted: the handler reads it and decides, as before the filter.
    """
    if record.value is None:
        return accepts_tombstones
    if types is None:
        return True
    event_type = next((value for name, value in record.headers or () if name == "ce_type"), None)
    return event_type is None or event_type.decode(errors="replace") in types


def delivery_of(record: ConsumerRecord, *, accepts_tombstones: bool) -> Delivery | None:
    """What a handler gets for a record; None for a tombstone it does not want; EnvelopeError if unreadable."""
    if record.value is None:
        return Delivery(topic=record.topic, key=_key_of(record), event=None) if accepts_tombstones else None
    return Delivery(topic=record.topic, key=_key_of(record), event=parse_event(record.value))


def _key_of(record: ConsumerRecord) -> str:
    return record.key.decode() if isinstance(record.key, bytes) else (record.key or "")


def _is_connection_problem(exc: DBAPIError) -> bool:
    return bool(getattr(exc, "connection_invalidated", False)) or isinstance(exc, OperationalError) and (
        "could not connect" in str(exc) or "server closed" in str(exc) or "connection" in str(exc).lower()
    )


def _where(record: ConsumerRecord) -> str:
    return f"{record.topic}[{record.partition}]@{record.offset}"
