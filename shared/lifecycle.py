"""How a service keeps its records with the right customer as the customer master's life cycle goes on.

The master announces three kinds of event that other services must act on for their
own records (each follower service names the event types and reads their data with
reader models of its own, in its ``contract.py``: ``LifecycleEvents``):

- ``crm.customer.merged.v1`` (subject: the survivor; data: ``merge_id``, ``survivor_id``,
  ``merged_ids``): records of the merged-away customers are re-pointed to the survivor,
  and each re-pointing is remembered;
- ``crm.customer.unmerged.v1`` (subject: the survivor; data: ``merge_id``, ``survivor_id``,
  ``restored_ids``): the remembered records go back to the customer they came from,
  unless they have since been moved elsewhere; records created on the survivor after
  the merge stay there;
- ``crm.customer.erased.v1`` (subject: the erased customer; data: ``customer_id``): personal
  data goes (the service anonymises its records, keeps aggregates), and so do the
  replica row and any stored event or replayable response that names the customer.

The table and the generic re-pointing here serve any table with ``id`` and
``customer_id`` columns; what counts as personal data stays each service's decision.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import String, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.consumer import ConsumerSpec, Delivery
from shared.contract import Reads
from shared.db import IdempotencyRecord, OutboxRecord, utcnow
from shared.replica import ViewReplica

# What free text about an erased customer is replaced with.
ERASED_TEXT = "(erased)"


class RepointingColumns:
    """A record that a merge moved from one customer to another, so the merge can be undone.

    A follower service's table is ``class Repointing(RepointingColumns, Base)``.
    """

    merge_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    entity: Mapped[str] = mapped_column(String(40), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    original_customer_id: Mapped[uuid.UUID]
    survivor_id: Mapped[uuid.UUID]
    moved_at: Mapped[datetime]


class MergeAnnouncement(BaseModel):
    """What following a merge reads of its event (the ``Reads`` of a follower's contract name it)."""

    merge_id: uuid.UUID
    survivor_id: uuid.UUID
    merged_ids: list[uuid.UUID]


class UnmergeAnnouncement(BaseModel):
    merge_id: uuid.UUID
    survivor_id: uuid.UUID
    restored_ids: list[uuid.UUID]


class ErasureAnnouncement(BaseModel):
    customer_id: uuid.UUID


@dataclass(frozen=True)
class LifecycleEvents:
    """The three announcements a follower acts on: its contract names their types and topics,
    read with the models above (the fields this mechanism uses; erasure acts on the subject)."""

    merged: Reads
    unmerged: Reads
    erased: Reads

    @property
    def topics(self) -> list[str]:
        return sorted({self.merged.topic, self.unmerged.topic, self.erased.topic})

    @property
    def types(self) -> frozenset[str]:
        return frozenset({self.merged.name, self.unmerged.name, self.erased.name})


R = TypeVar("R", bound=Any)

Moved = Callable[[Session, str, Any, uuid.UUID], None]


@dataclass(frozen=True)
class Follower:
    """How one kind of record follows its customer: which table, and what to do when it moves or is erased.

    ``moved(session, tenant, record, previous_customer_id)`` publishes the record's change;
    ``anonymise(session, tenant, customer_id)`` removes personal data, keeping aggregates;
    ``movable`` may hold back records that cannot move (e.g. the survivor already has one).
    """

    model: type[Any]
    entity: str
    moved: Moved
    anonymise: Callable[[Session, str, uuid.UUID], None]
    movable: Callable[[Session, list[Any], uuid.UUID], list[Any]] = lambda session, records, survivor: records


def nothing_personal(session: Session, tenant: str, customer_id: uuid.UUID) -> None:
    """``anonymise`` of records holding no personal data (bookkeeping the law makes a business keep: orders,
    invoices, payments): an erasure leaves them as they are, still the customer's by id only."""


def lifecycle_consumer(followers: list[Follower], *, events: LifecycleEvents, repointing: type[Any],
                       replica: ViewReplica[Any]) -> ConsumerSpec:
    """The consumer that keeps a service's records with the right customer."""

    def follow(session: Session, delivery: Delivery) -> None:
        event = delivery.event
        if event is None or event.type not in events.types:
            return
        now = utcnow()
        if event.type == events.merged.name:
            merged = events.merged.read(event.data)
        elif event.type == events.unmerged.name:
            unmerged = events.unmerged.read(event.data)
        for follower in followers:
            if event.type == events.merged.name:
                records = follower.movable(session, owned_by(session, follower.model, event.tenant, merged.merged_ids),
                                           merged.survivor_id)
                for record, previous in repoint(session, records, entity=follower.entity, tenant=event.tenant,
                                                merge_id=merged.merge_id, survivor_id=merged.survivor_id, now=now,
                                                repointing=repointing):
                    follower.moved(session, event.tenant, record, previous)
            elif event.type == events.unmerged.name:
                for record, previous in restore(session, follower.model, entity=follower.entity,
                                                merge_id=unmerged.merge_id, restored_ids=unmerged.restored_ids,
                                                repointing=repointing):
                    follower.moved(session, event.tenant, record, previous)
            else:
                follower.anonymise(session, event.tenant, uuid.UUID(event.subject))
        if event.type == events.erased.name:
            customer_id = uuid.UUID(event.subject)
            replica.forget(session, customer_id)
            forget_stored_traces(session, event.tenant, customer_id)

    # Most of the topic is creates and updates, which this consumer has nothing to do with.
    return ConsumerSpec(name="customer-lifecycle", topics=events.topics, handle=follow, types=events.types)


def owned_by(session: Session, model: type[R], tenant: str, customer_ids: list[uuid.UUID]) -> list[R]:
    return list(session.scalars(select(model).where(model.tenant_id == tenant, model.customer_id.in_(customer_ids))
                                .order_by(model.id)))


def repoint(session: Session, records: list[R], *, entity: str, tenant: str, merge_id: uuid.UUID,
            survivor_id: uuid.UUID, now: datetime, repointing: type[Any]) -> list[tuple[R, uuid.UUID]]:
    """Move records to the survivor, remembering where each came from; returns (record, previous owner)."""
    moved: list[tuple[R, uuid.UUID]] = []
    for record in records:
        if session.get(repointing, (merge_id, entity, record.id)) is None:
            session.add(repointing(merge_id=merge_id, entity=entity, record_id=record.id, tenant_id=tenant,
                                   original_customer_id=record.customer_id, survivor_id=survivor_id, moved_at=now))
        moved.append((record, record.customer_id))
        record.customer_id = survivor_id
    return moved


def restore(session: Session, model: type[R], *, entity: str, merge_id: uuid.UUID, restored_ids: list[uuid.UUID],
            repointing: type[Any]) -> list[tuple[R, uuid.UUID]]:
    """Undo ``repoint`` for the restored customers; returns (record, previous owner) of what went back."""
    moves = list(session.scalars(select(repointing).where(
        repointing.merge_id == merge_id, repointing.entity == entity,
        repointing.original_customer_id.in_(restored_ids)).order_by(repointing.record_id)))
    restored: list[tuple[R, uuid.UUID]] = []
    for move in moves:
        record = session.get(model, move.record_id)
        if record is not None and record.customer_id == move.survivor_id:
            record.customer_id = move.original_customer_id
            restored.append((record, move.survivor_id))
        session.delete(move)
    return restored


def forget_stored_traces(session: Session, tenant: str, customer_id: uuid.UUID) -> None:
    """Published outbox rows keyed by the customer lose their data; stored responses naming it go."""
    # Published events already reached Kafka; their copies here are no longer needed.
    session.execute(update(OutboxRecord).where(OutboxRecord.key == str(customer_id),
                                               OutboxRecord.published_at.is_not(None)).values(data={"erased": True}))
    marker = str(customer_id).encode()
    stale = [r.key for r in session.scalars(select(IdempotencyRecord).where(IdempotencyRecord.tenant_id == tenant))
             if marker in r.body]
    if stale:
        session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.tenant_id == tenant,
                                                        IdempotencyRecord.key.in_(stale)))
