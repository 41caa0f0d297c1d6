"""Satisfaction on a migrated service desk database, on SQLite and on PostgreSQL: the service figures by queue,
agent, value tier and period on fixed data; one answer per resolution; a resolution through the tickets' one way
of changing asks for a rating."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.service_desk.customers.tables import CustomerReplica
from services.service_desk.satisfaction import service
from services.service_desk.satisfaction.tables import SatisfactionRequest
from services.service_desk.tickets import service as tickets
from services.service_desk.tickets.tables import Ticket, TicketComment, TicketHistory
from shared.db import unit_of_work, utcnow
from shared.errors import Conflict

pytestmark = pytest.mark.integration

TENANT = "acme"
GOLD, BRONZE = uuid.UUID(int=7), uuid.UUID(int=8)
SUPPORT, BILLING = uuid.UUID(int=101), uuid.UUID(int=102)
ANNA, BEN = uuid.UUID(int=201), uuid.UUID(int=202)
MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _replicas(db: Session) -> None:
    for customer, tier in ((GOLD, "gold"), (BRONZE, "bronze")):
        db.add(CustomerReplica(customer_id=customer, tenant_id=TENANT, view_version=1, display_name=tier,
                               kind="organization", updated_at=utcnow(), view={
                                   "version": 1, "profile": {"value_tier": tier, "emails": [
                                       {"address": f"{tier}@example.org", "primary": True}]}}))


def _ticket(db: Session, *, customer: uuid.UUID, queue: uuid.UUID | None, agent: uuid.UUID | None,
            created: datetime, reply_after: int | None = None, resolve_after: int | None = None,
            breached: bool = False, ratings: tuple[int, ...] = (), tenant: str = TENANT) -> Ticket:
    """A ticket with its first public agent reply and its resolution ``*_after`` minutes after creation."""
    ticket_id = uuid.uuid4()
    resolved = None if resolve_after is None else created + timedelta(minutes=resolve_after)
    ticket = Ticket(
        id=ticket_id, tenant_id=tenant, customer_id=customer, token=ticket_id.hex[:8], subject="s", description="",
        type="question", priority="normal", channel="web", status="resolved" if resolved else "open", language=None,
        queue_id=queue, assignee_id=agent, tags=[], order_id=None, product_id=None, requester_email=None,
        merged_into_id=None, version=1, created_at=created, updated_at=created, resolved_at=resolved, closed_at=None,
        resolutions=max(len(ratings), 1 if resolved else 0))
    db.add(ticket)
    comment = dict(tenant_id=tenant, ticket_id=ticket_id, author_id=None, author_name="x", author_email=None,
                   body="b", via="api")
    # Neither a customer's reply nor an internal note is a response: only the later public agent reply counts.
    db.add(TicketComment(id=uuid.uuid4(), visibility="public", author_type="customer",
                         created_at=created + timedelta(minutes=1), **comment))
    db.add(TicketComment(id=uuid.uuid4(), visibility="internal", author_type="agent",
                         created_at=created + timedelta(minutes=2), **comment))
    if reply_after is not None:
        for extra in (0, 30):
            db.add(TicketComment(id=uuid.uuid4(), visibility="public", author_type="agent",
                                 created_at=created + timedelta(minutes=reply_after + extra), **comment))
    if breached:
        for target in ("first_response", "resolution"):  # two breaches: still one breached ticket
            db.add(TicketHistory(tenant_id=tenant, ticket_id=ticket_id, at=created, action="sla_breached",
                                 actor="sla", details={"target": target}))
    db.flush()
    for resolution, rating in enumerate(ratings, start=1):
        service.rate(db, ticket, resolution=resolution, rating=rating, comment=None, via="api", rated_by="t",
                     now=created)
    return ticket


def _fixed_data(sessions: sessionmaker[Session]) -> None:
    week2 = MONDAY + timedelta(days=7)
    with unit_of_work(sessions) as db:
        _replicas(db)
        _ticket(db, customer=GOLD, queue=SUPPORT, agent=ANNA, created=MONDAY, reply_after=10, resolve_after=60,
                ratings=(5,))
        _ticket(db, customer=GOLD, queue=SUPPORT, agent=BEN, created=MONDAY + timedelta(days=1), reply_after=20,
                resolve_after=120, breached=True, ratings=(2, 4))
        _ticket(db, customer=BRONZE, queue=BILLING, agent=BEN, created=week2, reply_after=90, breached=True)
        _ticket(db, customer=BRONZE, queue=SUPPORT, agent=None, created=week2 + timedelta(days=2))
        # Late on the Sunday: still the first week (ISO weeks start on Monday, in UTC).
        _ticket(db, customer=BRONZE, queue=BILLING, agent=None, created=datetime(2026, 11, 8, 23, 30, tzinfo=UTC),
                reply_after=30)
        # Outside the window, and another tenant's: in no figure.
        _ticket(db, customer=GOLD, queue=SUPPORT, agent=ANNA, created=MONDAY - timedelta(days=1), reply_after=1)
        _ticket(db, customer=GOLD, queue=SUPPORT, agent=ANNA, created=MONDAY, reply_after=1, tenant="other")


def _stats(sessions: sessionmaker[Session], group_by: str, period: str = "week") -> dict[str | None, dict[str, Any]]:
    with unit_of_work(sessions) as db:
        groups = service.service_stats(db, TENANT, start=MONDAY, end=MONDAY + timedelta(days=14), group_by=group_by,
                                       period=period)
    return {g["group"]: g for g in groups}


def test_figures_by_queue_agent_tier_and_period_on_fixed_data(desk_sessions: sessionmaker[Session]) -> None:
    _fixed_data(desk_sessions)
    by_queue = _stats(desk_sessions, "queue")
    assert set(by_queue) == {str(SUPPORT), str(BILLING)}
    support = by_queue[str(SUPPORT)]
    assert support["tickets"] == 3 and support["breach_rate"] == round(1 / 3, 4)
    assert support["csat"] == {"average": round(11 / 3, 2), "count": 3}
    assert support["first_response_minutes"] == {"average": 15.0, "median": 15.0, "count": 2}
    assert support["resolution_minutes"] == {"average": 90.0, "median": 90.0, "count": 2}
    billing = by_queue[str(BILLING)]
    assert (billing["tickets"], billing["breach_rate"]) == (2, 0.5)
    assert billing["first_response_minutes"] == {"average": 60.0, "median": 60.0, "count": 2}

    by_agent = _stats(desk_sessions, "agent")
    assert {k: v["tickets"] for k, v in by_agent.items()} == {str(ANNA): 1, str(BEN): 2, None: 2}
    assert by_agent[str(BEN)]["csat"] == {"average": 3.0, "count": 2}
    assert by_agent[str(BEN)]["first_response_minutes"] == {"average": 55.0, "median": 55.0, "count": 2}
    assert by_agent[None]["first_response_minutes"] == {"average": 30.0, "median": 30.0, "count": 1}

    by_tier = _stats(desk_sessions, "tier")
    assert {k: (v["tickets"], v["breach_rate"]) for k, v in by_tier.items()} == {
        "gold": (2, 0.5), "bronze": (3, round(1 / 3, 4))}
    assert by_tier["gold"]["csat"]["count"] == 3 and by_tier["bronze"]["csat"]["count"] == 0

    by_week = _stats(desk_sessions, "period", "week")
    assert {k: v["tickets"] for k, v in by_week.items()} == {"2026-11-02": 3, "2026-11-09": 2}
    # Three replies (10, 20, 30 minutes): the middle one.
    assert by_week["2026-11-02"]["first_response_minutes"]["median"] == 20.0
    by_day = _stats(desk_sessions, "period", "day")
    assert {k: v["tickets"] for k, v in by_day.items()} == {
        "2026-11-02": 1, "2026-11-03": 1, "2026-11-08": 1, "2026-11-09": 1, "2026-11-11": 1}
    by_month = _stats(desk_sessions, "period", "month")
    assert {k: v["tickets"] for k, v in by_month.items()} == {"2026-11-01": 5}
    # Four replies (10, 20, 30, 90): the mean of the middle two.
    assert by_month["2026-11-01"]["first_response_minutes"] == {"average": 37.5, "median": 25.0, "count": 4}


def test_one_answer_per_resolution_holds_on_the_database(desk_sessions: sessionmaker[Session]) -> None:
    with unit_of_work(desk_sessions) as db:
        _replicas(db)
        ticket_id = _ticket(db, customer=GOLD, queue=None, agent=None, created=MONDAY, resolve_after=5).id
    with unit_of_work(desk_sessions) as db:
        service.rate(db, db.get_one(Ticket, ticket_id), resolution=1, rating=3, comment=None, via="api", rated_by="t")
    with pytest.raises(Conflict), unit_of_work(desk_sessions) as db:
        service.rate(db, db.get_one(Ticket, ticket_id), resolution=None, rating=4, comment=None, via="api",
                     rated_by="t")


def test_resolving_a_ticket_asks_its_customer_to_rate_each_resolution(desk_sessions: sessionmaker[Session]) -> None:
    with unit_of_work(desk_sessions) as db:
        _replicas(db)
        ticket_id = _ticket(db, customer=BRONZE, queue=None, agent=None, created=MONDAY).id
    for status in ("resolved", "open", "resolved"):
        with unit_of_work(desk_sessions) as db:
            ticket = db.get_one(Ticket, ticket_id)
            tickets.apply_change(db, ticket, {"status": {"old": ticket.status, "new": status}}, actor="t", now=utcnow())
    assert service.send_requests(desk_sessions, secret="s", base_url="http://127.0.0.1:8000") == 2
    with unit_of_work(desk_sessions) as db:
        requests = db.scalars(select(SatisfactionRequest).order_by(SatisfactionRequest.resolution)).all()
        assert [(r.resolution, r.email) for r in requests] == [(1, "bronze@example.org"), (2, "bronze@example.org")]
