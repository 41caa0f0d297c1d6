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
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import func, select

from services.customer.contract import CUSTOMER_ERASED, CUSTOMER_MERGED, CUSTOMER_UNMERGED
from services.customer.view.consumers import apply_to_view, read_ahead
from services.customer.view.tables import CustomerView, TimelineRecord
from services.customer.worker import digest
from shared.consumer import Delivery, apply_all, apply_once
from shared.db import make_engine, make_sessions
from shared.envelope import CloudEvent
from shared.migrate import upgrade

pytestmark = pytest.mark.integration

MERGED, UNMERGED, ERASED = CUSTOMER_MERGED.name, CUSTOMER_UNMERGED.name, CUSTOMER_ERASED.name

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


def _apply(tmp_path: Path, events: list[CloudEvent], batch: int = 0,
           statements: list[str] | None = None) -> tuple[str, dict[uuid.UUID, CustomerView], int]:
    """One transaction per event, or (``batch``) that many per transaction, read ahead as the live consumer does.

    ``statements`` collects the SQL the events were applied with.
    """
    url = f"sqlite:///{tmp_path / f'view-{uuid.uuid4().hex[:8]}.db'}"
    upgrade("customer", url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    if statements is not None:
        sqlalchemy_event.listen(engine, "before_cursor_execute",
                                lambda _conn, _cursor, statement, *_: statements.append(statement))
    try:
        if batch:
            for start in range(0, len(events), batch):
                with sessions.begin() as session:
                    apply_all(session, "view", [_delivery(e) for e in events[start:start + batch]], apply_to_view,
                              read_ahead)
        for event in events if not batch else ():
            with sessions.begin() as session:
                apply_once(session, "view", _delivery(event), apply_to_view)
        with sessions() as session:
            views = {v.customer_id: v for v in session.scalars(select(CustomerView))}
            entries = session.scalar(select(func.count()).select_from(TimelineRecord)) or 0
            return digest(session), views, entries
    finally:
        engine.dispose()


def _delivery(event: CloudEvent) -> Delivery:
    return Delivery(topic=f"crm.{event.service}.v1", key=event.subject, event=event)


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


def _deal(subject: uuid.UUID, sequence: int, opportunity: str, amount: str, status: str = "open") -> CloudEvent:
    return CloudEvent(id=str(uuid.UUID(int=2000 + sequence)), source="/crm/sales",
                      type="crm.sales.opportunity.updated.v1", subject=str(subject),
                      time=START + timedelta(minutes=sequence), tenant=TENANT, sequence=sequence,
                      data={"opportunity_id": opportunity, "customer_id": str(subject), "name": "Deal",
                            "amount": {"amount": amount, "currency": "EUR"}, "stage": "proposal",
                            "status": status, "probability": 50, "version": sequence})


def _ticket(subject: uuid.UUID, sequence: int, ticket: str, status: str) -> CloudEvent:
    return CloudEvent(id=str(uuid.UUID(int=3000 + sequence)), source="/crm/service_desk",
                      type="crm.service_desk.ticket.updated.v1", subject=str(subject),
                      time=START + timedelta(minutes=sequence), tenant=TENANT, sequence=sequence,
                      data={"ticket_id": ticket, "customer_id": str(subject), "subject": "Help", "type": "question",
                            "priority": "urgent", "status": status, "version": sequence})


@pytest.mark.parametrize("batch", [2, 3, 50])
def test_a_batch_read_ahead_builds_the_view_one_event_at_a_time_builds(tmp_path: Path, batch: int) -> None:
    """Facts moving between customers (merge, unmerge), stale and repeated states, a subsidiary and an erasure,
    applied in batches that read their views and facts up front: the same view, event for event."""
    org, person = uuid.UUID(int=3), uuid.UUID(int=4)
    events = [
        _event("crm.customer.created.v1", org, 1, {"customer": _doc(org, "Org", 1) | {"kind": "organization"}}),
        _event("crm.customer.created.v1", X, 2, {"customer": _doc(X, "Xavier", 1) | {"parent_id": str(org)}}),
        _event("crm.customer.created.v1", S, 3, {"customer": _doc(S, "Sam", 1)}),
        _deal(X, 4, "opp-1", "100.00"),
        _deal(X, 6, "opp-1", "250.00", status="won"),
        _deal(X, 5, "opp-1", "175.00"),  # older than what is known: ignored
        _ticket(S, 7, "t-1", "open"),
        _event(MERGED, S, 8, {"merge_id": "m", "survivor_id": str(S), "merged_ids": [str(X)],
                              "customer": _doc(S, "Sam", 2)}),
        _deal(S, 9, "opp-1", "250.00", status="won"),  # the sales service re-points the deal to the survivor
        _ticket(X, 10, "t-2", "open"),  # late news about the merged-away customer
        _event(UNMERGED, S, 11, {"merge_id": "m", "survivor_id": str(S), "restored_ids": [str(X)],
                                 "customer": _doc(S, "Sam", 3),
                                 "restored": [_doc(X, "Xavier", 2) | {"parent_id": str(org)}]}),
        _deal(X, 12, "opp-1", "250.00", status="won"),  # and back
        _event("crm.customer.created.v1", person, 13, {"customer": _doc(person, "Pat", 1)}),
        _ticket(person, 14, "t-3", "open"),
        _event(ERASED, person, 15, {"customer_id": str(person)}),
        _ticket(person, 16, "t-3", "solved"),  # after the erasure: must not bring anything back
        _ticket(S, 17, "t-1", "solved"),
        _ticket(org, 18, "t-4", "open"),
        _event(ERASED, org, 19, {"customer_id": str(org)}),
        _deal(X, 20, "opp-2", "10.00"),  # a subsidiary's news still reaches the erased parent's row
    ]
    one_by_one = _apply(tmp_path, events)
    statements: list[str] = []
    batched = _apply(tmp_path, events, batch=batch, statements=statements)
    # Read ahead, a batch reads its facts in two queries (by customer, by entity), not per event.
    batches = -(-len(events) // batch)
    assert sum(1 for sql in statements if sql.lstrip().upper().startswith("SELECT") and "FROM view_facts" in sql) \
        <= 2 * batches
    assert batched[0] == one_by_one[0]
    assert batched[2] == one_by_one[2]
    views = batched[1]
    assert views[X].kpis["won_deals"] == 1 and views[S].kpis["won_deals"] == 0
    assert views[S].kpis["open_tickets"] == 0
    assert views[X].kpis["open_tickets"] == 1 and views[X].kpis["urgent_open_tickets"] == 1
    assert views[org].removed_at is not None and views[org].kpis["open_tickets"] == 0
    assert views[person].removed_at is not None and views[person].kpis == {}
    for customer_id, view in one_by_one[1].items():
        assert (views[customer_id].version, views[customer_id].kpis) == (view.version, view.kpis)
