"""The view builder gives the same view whatever order the partitions of crm.customer.v1 are read in.

A merge and an unmerge are keyed by the survivor, a customer's own events by the
customer: they sit on different partitions, so a live consumer and a rebuild from
offset zero may read them in different orders. The handler is driven directly on a
real (SQLite) database, one transaction per event, in every order a reader could see.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from itertools import permutations
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.customer.consumers import apply_to_view, digest
from services.customer.tables import CustomerView, TimelineRecord
from shared.consumer import Delivery, apply_once
from shared.db import make_engine, make_sessions
from shared.envelope import CloudEvent
from shared.lifecycle import ERASED, MERGED, UNMERGED
from shared.migrate import upgrade

pytestmark = pytest.mark.integration

TENANT = "acme"
START = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)
X, S = uuid.UUID(int=1), uuid.UUID(int=2)


def _doc(customer_id: uuid.UUID, given: str, version: int) -> dict[str, Any]:
    return {"id": str(customer_id), "kind": "person", "given_name": given, "family_name": "Doe",
            "display_name": f"{given} Doe", "version": version, "created_at": START.isoformat(),
            "updated_at": START.isoformat()}


def _event(event_type: str, subject: uuid.UUID, sequence: int, data: dict[str, Any]) -> CloudEvent:
    return CloudEvent(id=str(uuid.UUID(int=1000 + sequence)), source="/crm/customer", type=event_type,
                      subject=str(subject), time=START + timedelta(minutes=sequence), data=data, tenant=TENANT,
                      sequence=sequence)


def _partitions(events: list[CloudEvent]) -> list[list[CloudEvent]]:
    """Every order a reader could see: each subject's events in order, the subjects interleaved any way."""
    by_subject: dict[str, list[CloudEvent]] = {}
    for event in events:
        by_subject.setdefault(event.subject, []).append(event)
    orders = []
    for subjects in permutations(by_subject):
        orders.append([e for s in subjects for e in by_subject[s]])  # one partition read to its end, then the next
    orders.append(sorted(events, key=lambda e: e.sequence))  # as written
    return orders


def _apply(tmp_path: Path, events: list[CloudEvent]) -> tuple[str, dict[uuid.UUID, CustomerView], int]:
    url = f"sqlite:///{tmp_path / f'view-{uuid.uuid4().hex[:8]}.db'}"
    upgrade("customer", url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    try:
        for event in events:
            with sessions.begin() as session:
                apply_once(session, "view", Delivery(topic="crm.customer.v1", key=event.subject, event=event),
                           apply_to_view)
        with sessions() as session:
            views = {v.customer_id: v for v in session.scalars(select(CustomerView))}
            entries = session.scalar(select(func.count()).select_from(TimelineRecord)) or 0
            return digest(session), views, entries
    finally:
        engine.dispose()


def test_an_unmerge_and_the_restored_customers_later_change_give_one_view_in_any_order(tmp_path: Path) -> None:
    events = [
        _event("crm.customer.created.v1", X, 1, {"customer": _doc(X, "Xavier", 1)}),
        _event("crm.customer.created.v1", S, 2, {"customer": _doc(S, "Sam", 1)}),
        _event(MERGED, S, 3, {"merge_id": "m", "survivor_id": str(S), "merged_ids": [str(X)],
                              "customer": _doc(S, "Samuel", 2)}),
        _event(UNMERGED, S, 4, {"merge_id": "m", "survivor_id": str(S), "restored_ids": [str(X)],
                                "customer": _doc(S, "Samantha", 3), "restored": [_doc(X, "Xavier", 2)]}),
        _event("crm.customer.updated.v1", X, 5, {"customer": _doc(X, "Xena", 3)}),
    ]
    results = [_apply(tmp_path, order) for order in _partitions(events)]
    assert len({digest for digest, _, _ in results}) == 1
    for _, views, entries in results:
        assert views[X].merged_into is None and views[X].profile["given_name"] == "Xena"  # newest, not the restored
        assert views[S].profile["given_name"] == "Samantha"
        assert views[X].updated_at == START + timedelta(minutes=5)  # its own latest event
        assert entries == len(events)


def test_late_events_of_a_customer_merged_into_an_erased_survivor_leave_nothing_behind(tmp_path: Path) -> None:
    events = [
        _event("crm.customer.created.v1", X, 1, {"customer": _doc(X, "Xavier", 1)}),
        _event("crm.customer.updated.v1", X, 2, {"customer": _doc(X, "Xavier", 2)}),
        _event("crm.customer.created.v1", S, 3, {"customer": _doc(S, "Sam", 1)}),
        _event(MERGED, S, 4, {"merge_id": "m", "survivor_id": str(S), "merged_ids": [str(X)],
                              "customer": _doc(S, "Sam", 2)}),
        _event(ERASED, S, 5, {"customer_id": str(S)}),
        _event(ERASED, X, 6, {"customer_id": str(X)}),
    ]
    results = [_apply(tmp_path, order) for order in _partitions(events)]
    assert len({digest for digest, _, _ in results}) == 1
    for _, views, entries in results:
        assert entries == 0  # no timeline entry of either survives, wherever it had been filed
        assert all(v.removed_at is not None and v.profile is None and v.document is None for v in views.values())
