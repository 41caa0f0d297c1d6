"""Projections, rebuilt and checked: ``crm replay`` and ``crm check-consistency``.

A projection is whatever a service builds from events: the unified view in the
customer service, the view replica in the others. Every service's ``worker``
module lists its ``CONSUMERS`` and offers ``digest(session)`` and ``states(session)``.
Replaying runs the same handlers over every record now on their topics, with the
same dedupe, into a fresh database, so the result can be compared hash for hash with
the live projection. What the handlers would append to an outbox (the view topic's
versions) is not written again: the live projection published it already. Checking consistency compares every replica, customer by
customer, with the master view.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from types import ModuleType

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy.orm import Session, sessionmaker

from crm.registry import worker_of
from shared.consumer import ConsumerSpec, Delivery, apply_all, apply_once, delivery_of, is_wanted
from shared.db import make_engine, make_sessions, unit_of_work
from shared.envelope import EnvelopeError
from shared.outbox import REPLAYING

log = logging.getLogger(__name__)

BATCH = 500


@dataclass(frozen=True)
class ReplayResult:
    records: int
    skipped: int
    seconds: float
    digest: str

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


def consumers_of(service: str) -> ModuleType:
    """The service's ``worker`` module: its ``CONSUMERS`` and the ``digest`` / ``states`` of its projections."""
    return worker_of(service)


def digest_of(service: str, database_url: str) -> str:
    engine = make_engine(database_url)
    try:
        with make_sessions(engine)() as session:
            return str(consumers_of(service).digest(session))
    finally:
        engine.dispose()


def replay(service: str, *, bootstrap_servers: str, database_url: str) -> ReplayResult:
    """Apply every record on the service's consumed topics, oldest first per partition, to ``database_url``."""
    module = consumers_of(service)
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    sessions.configure(info={REPLAYING: True})
    started = time.perf_counter()
    records = skipped = 0
    try:
        for spec in (spec for spec in module.CONSUMERS if spec.projection):
            applied, bad = _replay_consumer(spec, bootstrap_servers, sessions)
            records += applied
            skipped += bad
        seconds = time.perf_counter() - started
        with sessions() as session:
            digest = str(module.digest(session))
    finally:
        engine.dispose()
    return ReplayResult(records=records, skipped=skipped, seconds=seconds, digest=digest)


def _replay_consumer(spec: ConsumerSpec, bootstrap_servers: str, sessions: sessionmaker[Session]) -> tuple[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None,
                             max_poll_records=BATCH)
    try:
        partitions = [TopicPartition(topic, p) for topic in spec.topics for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            return 0, 0
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        applied = skipped = 0
        while any(consumer.position(p) < end[p] for p in partitions):
            for tp, batch in consumer.poll(timeout_ms=1000).items():
                # Records past the end offsets arrived after the replay began: the live view has them later too.
                wanted = [r for r in batch if r.offset < end[tp]
                          and is_wanted(r, spec.types, accepts_tombstones=spec.accepts_tombstones)]
                if wanted:
                    skipped += _apply_batch(spec, wanted, sessions)
                    applied += len(wanted)
        return applied - skipped, skipped
    finally:
        consumer.close()


def _apply_batch(spec: ConsumerSpec, records: list[ConsumerRecord], sessions: sessionmaker[Session]) -> int:
    """Apply a batch in one transaction; if any record fails, apply them one by one and skip the failures."""
    try:
        deliveries = [_delivery(spec, record) for record in records]
        with unit_of_work(sessions) as session:
            apply_all(session, spec.name, deliveries, spec.handle, spec.prepare, dedupe=spec.dedupe)
        return 0
    except Exception:  # noqa: BLE001 - fall back to one transaction per record to isolate the bad one
        log.debug("batch failed; retrying record by record", exc_info=True)
    skipped = 0
    for record in records:
        try:
            with unit_of_work(sessions) as session:
                _apply(spec, record, session)
        except Exception as exc:  # noqa: BLE001 - live consumers dead-lettered these too
            log.warning("replay skips %s[%s]@%s: %s", record.topic, record.partition, record.offset, exc)
            skipped += 1
    return skipped


def _apply(spec: ConsumerSpec, record: ConsumerRecord, session: Session) -> None:
    delivery = _delivery(spec, record)
    if delivery is not None:
        apply_once(session, spec.name, delivery, spec.handle, spec.prepare, dedupe=spec.dedupe)


def _delivery(spec: ConsumerSpec, record: ConsumerRecord) -> Delivery | None:
    try:
        return delivery_of(record, accepts_tombstones=spec.accepts_tombstones)
    except EnvelopeError as exc:
        raise ValueError(f"unreadable event: {exc}") from exc


@dataclass(frozen=True)
class Drift:
    """How one replica differs from the master view."""

    service: str
    in_sync: int
    missing: list[str]
    stale: list[str]
    different: list[str]
    unknown: list[str]

    @property
    def clean(self) -> bool:
        return not (self.missing or self.stale or self.different or self.unknown)


def states_of(service: str, database_url: str) -> dict[object, tuple[int, str]]:
    engine = make_engine(database_url)
    try:
        with make_sessions(engine)() as session:
            return dict(consumers_of(service).states(session))
    finally:
        engine.dispose()


def compare(service: str, master: dict[object, tuple[int, str]], replica: dict[object, tuple[int, str]]) -> Drift:
    missing, stale, different, in_sync = [], [], [], 0
    for customer_id, (version, doc_hash) in master.items():
        held = replica.get(customer_id)
        if held is None:
            missing.append(str(customer_id))
        elif held[0] < version:
            stale.append(str(customer_id))
        elif held != (version, doc_hash):
            different.append(str(customer_id))
        else:
            in_sync += 1
    unknown = [str(c) for c in replica if c not in master]
    return Drift(service, in_sync, missing, stale, different, unknown)
