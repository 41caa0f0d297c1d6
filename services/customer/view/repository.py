"""Queries of the unified view: views, the facts they are computed from, and timelines."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session

from services.customer.view.rules import Fact, TimelineEntry
from services.customer.view.tables import CustomerView, TimelineRecord, ViewFact
from shared.db import in_chunks
from shared.envelope import dumps
from shared.http import PageRequest


FactKey = tuple[str, str, str]  # (source, entity, entity_id): a fact's primary key
_READ_AHEAD = "view_read_ahead"


@dataclass
class ReadAhead:
    """What one batch of events touches, read in a few queries before its events are applied.

    Without it every event costs several round trips, each flushing the previous event's
    writes first (autoflush): most of a rebuild's time, and of a busy view consumer's.
    ``views`` and ``facts`` also remember what does not exist, so a new customer's first event
    needs no query either. ``facts_by_customer`` holds complete fact sets, for the customers
    read ahead only. Every write through this module keeps all three true until the batch ends.
    """

    views: dict[uuid.UUID, CustomerView | None] = field(default_factory=dict)
    facts: dict[FactKey, ViewFact | None] = field(default_factory=dict)
    facts_by_customer: dict[uuid.UUID, dict[FactKey, ViewFact]] = field(default_factory=dict)


@contextmanager
def reading_ahead(session: Session, customer_ids: Iterable[uuid.UUID], fact_keys: Iterable[FactKey]) -> Iterator[None]:
    """Within the block, the queries below answer from what was read here when they can."""
    ahead = ReadAhead()
    _read_views_ahead(session, ahead, set(customer_ids))
    _read_facts_ahead(session, ahead, set(fact_keys) - ahead.facts.keys())
    session.info[_READ_AHEAD] = ahead
    try:
        yield
    finally:
        session.info.pop(_READ_AHEAD, None)


def _ahead(session: Session) -> ReadAhead | None:
    return session.info.get(_READ_AHEAD)


def _read_views_ahead(session: Session, ahead: ReadAhead, wanted: set[uuid.UUID]) -> None:
    # The subjects, then the survivors and parents they lead to (two levels cover nearly every batch).
    for _ in range(3):
        wanted -= ahead.views.keys()
        if not wanted:
            break
        found = {view.customer_id: view for chunk in in_chunks(wanted)
                 for view in session.scalars(select(CustomerView).where(CustomerView.customer_id.in_(chunk)))}
        ahead.views.update({customer_id: found.get(customer_id) for customer_id in wanted})
        wanted = {link for view in found.values() for link in (view.merged_into, view.parent_id) if link is not None}
    ahead.facts_by_customer = {customer_id: {} for customer_id in ahead.views}
    for chunk in in_chunks(ahead.views):
        for row in session.scalars(select(ViewFact).where(ViewFact.customer_id.in_(chunk))):
            ahead.facts[fact_key(row)] = row
            ahead.facts_by_customer[row.customer_id][fact_key(row)] = row


def _read_facts_ahead(session: Session, ahead: ReadAhead, keys: set[FactKey]) -> None:
    """Facts the events name that belong to customers outside the batch (or to nobody yet)."""
    for chunk in in_chunks({entity_id for _, _, entity_id in keys}):
        for row in session.scalars(select(ViewFact).where(ViewFact.entity_id.in_(chunk))):
            ahead.facts.setdefault(fact_key(row), row)
    for key in keys:
        ahead.facts.setdefault(key, None)


def fact_key(fact: ViewFact | Fact) -> FactKey:
    return (fact.source, fact.entity, fact.entity_id)


def get_view(session: Session, customer_id: uuid.UUID) -> CustomerView | None:
    ahead = _ahead(session)
    if ahead is None:
        return session.get(CustomerView, customer_id)
    if customer_id not in ahead.views:
        ahead.views[customer_id] = session.get(CustomerView, customer_id)
    return ahead.views[customer_id]


def add_view(session: Session, view: CustomerView) -> None:
    session.add(view)
    ahead = _ahead(session)
    if ahead is not None:
        ahead.views[view.customer_id] = view


def get_view_of(session: Session, tenant: str, customer_id: uuid.UUID) -> CustomerView | None:
    return session.scalar(
        select(CustomerView).where(CustomerView.tenant_id == tenant, CustomerView.customer_id == customer_id)
    )


@dataclass(frozen=True)
class StoredView:
    """What a view read needs, without loading (and parsing) the profile and KPI columns."""

    customer_id: uuid.UUID
    version: int
    merged_into: uuid.UUID | None
    source_sequences: dict[str, Any]
    document: str | None  # None: not published (or stored before documents were kept)


# Built once: the hottest query of the system skips statement construction on every read.
_STORED_VIEW = select(CustomerView.customer_id, CustomerView.version, CustomerView.merged_into,
                      CustomerView.source_sequences, CustomerView.document).where(
    CustomerView.tenant_id == bindparam("tenant"), CustomerView.customer_id == bindparam("customer_id"))


def read_stored(engine: Engine, tenant: str, customer_id: uuid.UUID) -> StoredView | None:
    """On a plain connection, not a session: a single-row read needs no unit of work."""
    with engine.connect() as connection:
        row = connection.execute(_STORED_VIEW, {"tenant": tenant, "customer_id": customer_id}).first()
    return StoredView(*row) if row is not None else None


def subsidiaries_of(session: Session, customer_id: uuid.UUID) -> list[CustomerView]:
    return list(session.scalars(select(CustomerView).where(CustomerView.parent_id == customer_id)
                                .order_by(CustomerView.customer_id)))


def known_fact_sequence(session: Session, fact: Fact) -> int | None:
    ahead = _ahead(session)
    if ahead is not None and fact_key(fact) in ahead.facts:
        row = ahead.facts[fact_key(fact)]
        return row.sequence if row is not None else None
    return session.scalar(
        select(ViewFact.sequence).where(
            ViewFact.source == fact.source, ViewFact.entity == fact.entity, ViewFact.entity_id == fact.entity_id
        )
    )


def save_fact(session: Session, tenant: str, fact: Fact) -> uuid.UUID | None:
    """Store the fact; returns the customer it belonged to before, if it moved (a merge re-pointed it)."""
    key, ahead = fact_key(fact), _ahead(session)
    row = ahead.facts[key] if ahead is not None and key in ahead.facts else session.get(ViewFact, key)
    previous = None
    if row is None:
        row = ViewFact(source=fact.source, entity=fact.entity, entity_id=fact.entity_id, tenant_id=tenant)
        session.add(row)
    elif row.customer_id != fact.customer_id:
        previous = row.customer_id
    if ahead is not None:
        ahead.facts[key] = row
        if previous is not None and previous in ahead.facts_by_customer:
            ahead.facts_by_customer[previous].pop(key, None)
        if fact.customer_id in ahead.facts_by_customer:
            ahead.facts_by_customer[fact.customer_id][key] = row
    row.customer_id = fact.customer_id
    row.sequence = fact.sequence
    row.state = fact.state
    return previous


def facts_of(session: Session, customer_id: uuid.UUID) -> list[Fact]:
    ahead = _ahead(session)
    if ahead is not None and customer_id in ahead.facts_by_customer:
        held = ahead.facts_by_customer[customer_id]
        return [_fact(held[key]) for key in sorted(held)]
    rows = session.scalars(select(ViewFact).where(ViewFact.customer_id == customer_id).order_by(
        ViewFact.source, ViewFact.entity, ViewFact.entity_id))
    return [_fact(row) for row in rows]


def _fact(row: ViewFact) -> Fact:
    return Fact(row.source, row.entity, row.entity_id, row.customer_id, row.sequence, row.state)


def add_timeline_entry(session: Session, tenant: str, entry: TimelineEntry, *,
                       on_behalf_of: uuid.UUID | None = None) -> None:
    """Record an interaction; ``on_behalf_of`` files a merged-away customer's entry under its survivor.

    Called once per event: the consumer's processed-events table already keeps redeliveries out.
    """
    session.add(TimelineRecord(tenant_id=tenant, event_id=entry.event_id,
                               customer_id=on_behalf_of or entry.customer_id,
                               original_customer_id=entry.customer_id if on_behalf_of else None,
                               occurred_at=entry.occurred_at, source=entry.source, type=entry.type,
                               summary=entry.summary, resource=entry.resource))


def fold_timeline(session: Session, merged_id: uuid.UUID, survivor_id: uuid.UUID) -> None:
    """A merge shows the duplicate's history on the survivor's timeline, remembering whose it was."""
    session.execute(update(TimelineRecord).where(TimelineRecord.customer_id == merged_id,
                                                 TimelineRecord.original_customer_id.is_(None))
                    .values(original_customer_id=merged_id))
    session.execute(update(TimelineRecord).where(TimelineRecord.customer_id == merged_id)
                    .values(customer_id=survivor_id))


def unfold_timeline(session: Session, restored_id: uuid.UUID) -> None:
    session.execute(update(TimelineRecord).where(TimelineRecord.original_customer_id == restored_id)
                    .values(customer_id=restored_id, original_customer_id=None))


def timeline(session: Session, tenant: str, customer_id: uuid.UUID, page: PageRequest,
             source: str | None, type_prefix: str | None) -> list[TimelineRecord]:
    """Newest first; event ids are time-ordered UUIDs, so id order is time order."""
    query = select(TimelineRecord).where(TimelineRecord.tenant_id == tenant, TimelineRecord.customer_id == customer_id)
    if source is not None:
        query = query.where(TimelineRecord.source == source)
    if type_prefix is not None:
        query = query.where(TimelineRecord.type.startswith(type_prefix, autoescape=True))
    if page.after is not None:
        query = query.where(TimelineRecord.event_id < page.after)
    return list(session.scalars(query.order_by(TimelineRecord.event_id.desc()).limit(page.limit + 1)))


def forget_view(session: Session, view: CustomerView, when: datetime) -> None:
    """Drop everything the view knew; the row stays as a marker so late events cannot bring it back."""
    session.execute(delete(ViewFact).where(ViewFact.customer_id == view.customer_id))
    ahead = _ahead(session)
    if ahead is not None:
        ahead.facts.update({key: None for key, row in ahead.facts.items()
                            if row is not None and row.customer_id == view.customer_id})
        ahead.facts_by_customer[view.customer_id] = {}
    session.execute(delete(TimelineRecord).where(or_(TimelineRecord.customer_id == view.customer_id,
                                                     TimelineRecord.original_customer_id == view.customer_id)))
    view.profile = None
    view.profile_sequence = None
    view.document = None
    view.kpis = {}
    view.source_sequences = {}
    view.parent_id = None
    view.merged_into = None
    view.removed_at = when


def view_document(view: CustomerView) -> dict[str, Any]:
    """The view as published on the topic and served over HTTP (``contract.CustomerViewDocument``)."""
    return {
        "customer_id": str(view.customer_id),
        "version": view.version,
        "profile": view.profile or {},
        "kpis": dict(view.kpis),
        "source_sequences": dict(view.source_sequences),
        "as_of": view.updated_at.isoformat(),
        "updated_at": view.updated_at.isoformat(),
    }


def view_rows(session: Session) -> Iterator[CustomerView]:
    yield from session.scalars(select(CustomerView).order_by(CustomerView.customer_id).execution_options(yield_per=1000))


def digest(session: Session) -> str:
    """A hash over what every view says (profile, KPIs, as-of time) and every timeline entry.

    It proves a rebuild from Kafka identical to the live view. Version counters and the
    per-service sequence bookkeeping are left out: around merges, whether a duplicate's
    late event is counted on its own view or redirected to the survivor's depends on the
    order topics are read in, so those counters may differ while the content does not.
    """
    hasher = hashlib.sha256()
    for view in view_rows(session):
        if view.removed_at is not None:
            hasher.update(f"removed:{view.customer_id};".encode())
            continue
        if view.merged_into is not None:
            hasher.update(f"merged:{view.customer_id}->{view.merged_into};".encode())
            continue
        hasher.update(dumps([str(view.customer_id), view.tenant_id, view.profile, view.kpis,
                             view.updated_at.isoformat()]).encode())
    entries = session.scalars(select(TimelineRecord).order_by(TimelineRecord.event_id).execution_options(yield_per=1000))
    for entry in entries:
        hasher.update(dumps([str(entry.event_id), str(entry.customer_id), entry.occurred_at.isoformat(), entry.type,
                             entry.summary, entry.resource]).encode())
    return hasher.hexdigest()
