"""Dead letters, listed and dealt with: ``crm dlq list|show|retry|purge``.

A worker's consumer that cannot apply a record after its attempts sends it to the service's
dead-letter topic (``crm.dlq.<service>.v1``) with headers naming the consumer, the record's
topic, partition and offset, and the error. Kafka keeps those records as they are, so what
happened to one is said by appending to the same topic: a marker record (no value) whose
``dlq_resolves`` header names the dead letter (``partition:offset``) and ``dlq_action`` says
``retried`` or ``purged``. A dead letter with no marker is pending. The topic thus stays
the audit trail: what failed, why, and who dealt with it how.

A retry runs the record through the consumer's own handler in one transaction on the service's
database, with its dedupe (an event applied before is not applied again), exactly as the
worker would have; only a success is marked. Purging marks without applying.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from crm.registry import worker_of
from shared.consumer import ConsumerSpec, Delivery, apply_once, delivery_of
from shared.db import make_engine, make_sessions, unit_of_work
from shared.topics import dead_letter_topic

RESOLVES, ACTION = "dlq_resolves", "dlq_action"


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered record: where it sits in the dead-letter topic, and what the consumer said of it."""

    partition: int
    offset: int
    at: datetime
    key: str
    value: bytes | None
    consumer: str
    topic: str
    source: str  # partition@offset in the record's own topic
    error: str
    headers: dict[str, str]

    @property
    def ref(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def event_type(self) -> str:
        """The event's type as its envelope says, or empty when the value is not a readable event."""
        try:
            found = json.loads(self.value or b"").get("type", "")
        except (ValueError, AttributeError):
            return ""
        return found if isinstance(found, str) else ""


@dataclass(frozen=True)
class Outcome:
    ref: str
    ok: bool
    detail: str


def read(bootstrap_servers: str, service: str) -> tuple[list[DeadLetter], dict[str, str]]:
    """Every dead letter of the service, oldest first, and what happened to each one dealt with (ref -> action)."""
    topic = dead_letter_topic(service)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return [], {}
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        letters: list[DeadLetter] = []
        resolved: dict[str, str] = {}
        deadline = time.monotonic() + 60
        while any(consumer.position(p) < end[p] for p in partitions) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                for record in batch:
                    headers = _headers(record)
                    if RESOLVES in headers:
                        resolved[headers[RESOLVES]] = headers.get(ACTION, "resolved")
                    else:
                        letters.append(_letter(record, headers))
        return letters, resolved
    finally:
        consumer.close()


def pending(bootstrap_servers: str, service: str) -> list[DeadLetter]:
    letters, resolved = read(bootstrap_servers, service)
    return [letter for letter in letters if letter.ref not in resolved]


def retry(bootstrap_servers: str, service: str, database_url: str, letters: list[DeadLetter]) -> list[Outcome]:
    """Each letter through its consumer's handler, with its dedupe, one transaction each; successes are marked."""
    specs = {spec.name: spec for spec in worker_of(service).CONSUMERS}
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    outcomes: list[Outcome] = []
    try:
        for letter in letters:
            spec = specs.get(letter.consumer)
            if spec is None:
                outcomes.append(Outcome(letter.ref, False, f"the service has no consumer {letter.consumer!r}"))
                continue
            try:
                with unit_of_work(sessions) as session:
                    delivery = _delivery(spec, letter)
                    applied = delivery is not None and apply_once(session, spec.name, delivery, spec.handle,
                                                                  spec.prepare, dedupe=spec.dedupe)
            except Exception as exc:  # noqa: BLE001 - reported per letter; the letter stays pending
                outcomes.append(Outcome(letter.ref, False, f"{type(exc).__name__}: {exc}"[:500]))
                continue
            outcomes.append(Outcome(letter.ref, True, "applied" if applied else "applied before (dedupe): nothing done"))
    finally:
        engine.dispose()
    mark(bootstrap_servers, service, [o.ref for o in outcomes if o.ok], "retried")
    return outcomes


def mark(bootstrap_servers: str, service: str, refs: list[str], action: str) -> None:
    """Say in the dead-letter topic that these letters were dealt with (``retried`` or ``purged``)."""
    if not refs:
        return
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=True)
    try:
        for ref in refs:
            producer.send(dead_letter_topic(service), key=ref.encode(), value=None, headers=[
                (RESOLVES, ref.encode()), (ACTION, action.encode()),
                ("dlq_at", datetime.now(timezone.utc).isoformat().encode())]).get(timeout=30)
    finally:
        producer.close()


def select(letters: list[DeadLetter], refs: list[str]) -> list[DeadLetter]:
    """The pending letters named (``partition:offset``); an unknown or already dealt-with one is an error."""
    by_ref = {letter.ref: letter for letter in letters}
    missing = [ref for ref in refs if ref not in by_ref]
    if missing:
        raise KeyError(", ".join(missing))
    return [by_ref[ref] for ref in refs]


def describe(letter: DeadLetter) -> dict[str, Any]:
    return {"ref": letter.ref, "at": letter.at.isoformat(), "consumer": letter.consumer, "topic": letter.topic,
            "source": letter.source, "key": letter.key, "type": letter.event_type, "error": letter.error,
            "headers": letter.headers,
            "value": letter.value.decode(errors="replace") if letter.value is not None else None}


def _headers(record: ConsumerRecord) -> dict[str, str]:
    return {name: (value or b"").decode(errors="replace") for name, value in record.headers or ()}


def _letter(record: ConsumerRecord, headers: dict[str, str]) -> DeadLetter:
    return DeadLetter(
        partition=record.partition, offset=record.offset,
        at=datetime.fromtimestamp(record.timestamp / 1000, tz=timezone.utc),
        key=record.key.decode(errors="replace") if isinstance(record.key, bytes) else (record.key or ""),
        value=record.value, consumer=headers.get("dlq_consumer", ""), topic=headers.get("dlq_topic", ""),
        source=f"{headers.get('dlq_partition', '?')}@{headers.get('dlq_offset', '?')}",
        error=headers.get("dlq_error", ""), headers=headers)


def _delivery(spec: ConsumerSpec, letter: DeadLetter) -> Delivery | None:
    """The record as the consumer received it from its own topic (an unreadable one fails here again)."""
    record = ConsumerRecord(topic=letter.topic, partition=0, leader_epoch=None, offset=0, timestamp=0,
                            timestamp_type=0, key=letter.key.encode(), value=letter.value, headers=[],
                            checksum=None, serialized_key_size=-1, serialized_value_size=-1, serialized_header_size=-1)
    return delivery_of(record, accepts_tombstones=spec.accepts_tombstones)
