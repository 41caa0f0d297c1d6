"""Ticket use cases on a migrated service desk database, on SQLite and on PostgreSQL: filters (tags in a JSON
column), comments and their status effects, merges moving comments, history paging, the agent's context,
erasure."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.service_desk.customers.tables import CustomerReplica
from services.service_desk.queues import service as queues
from services.service_desk.queues.schemas import QueueCreate
from services.service_desk.tickets import service
from services.service_desk.tickets.schemas import TicketCreate
from services.service_desk.tickets.tables import Ticket, TicketComment
from shared.db import OutboxRecord, unit_of_work, utcnow
from shared.errors import Conflict, InvalidInput
from shared.http import PageRequest

pytestmark = pytest.mark.integration

TENANT = "acme"
ADA, BOB = uuid.UUID(int=7), uuid.UUID(int=8)
WINDOW = 14


def _replicas(sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as db:
        db.add(CustomerReplica(customer_id=ADA, tenant_id=TENANT, view_version=4, display_name="Ada Ltd",
                               kind="organization", updated_at=utcnow(), view={
                                   "version": 4, "profile": {"value_tier": "gold", "customer_group": "enterprise"},
                                   "kpis": {"open_orders": 1}}))
        db.add(CustomerReplica(customer_id=BOB, tenant_id=TENANT, view_version=1, display_name="Bob",
                               kind="person", updated_at=utcnow(), view={"version": 1}))


def _open(db: Session, customer: uuid.UUID = ADA, **fields: Any) -> uuid.UUID:
    body = TicketCreate.model_validate({"customer_id": str(customer), "subject": "Login fails"} | fields)
    return service.create_ticket(db, TENANT, body, wait_seconds=0).ticket.id


def _comment(db: Session, ticket_id: uuid.UUID, body: str, *, author: str = "customer",
             visibility: str = "public") -> TicketComment:
    return service.comment_on(db, TENANT, ticket_id, visibility=visibility, author_type=author, author_name=author,
                              author_email=f"{author}@example.org", author_id=None, body=body,
                              reopen_window_days=WINDOW)[1]


def _types(db: Session) -> list[str]:
    return [r.type for r in db.scalars(select(OutboxRecord).order_by(OutboxRecord.sequence))]


def test_tickets_are_found_by_tag_channel_and_queue(desk_sessions: sessionmaker[Session]) -> None:
    _replicas(desk_sessions)
    with unit_of_work(desk_sessions) as db:
        # A queue no new ticket is routed into by itself (only returns are), so only the one sent there is in it.
        queue = queues.create_queue(db, TENANT, QueueCreate.model_validate(
            {"name": "Returns", "match": {"types": ["return"]}})).queue.id
        vip = _open(db, tags=["vip", "billing"], channel="phone")
        _open(db, tags=["vipish"], queue_id=str(queue))
        with pytest.raises(InvalidInput, match="queue_id"):
            _open(db, queue_id=str(uuid.uuid4()))
        _open(db, BOB, tags=[])
    page = PageRequest(limit=50, after=None)
    with unit_of_work(desk_sessions) as db:
        def found(**filters: Any) -> list[uuid.UUID]:
            return [s.ticket.id for s in service.list_tickets(db, TENANT, page, filters)]
        assert found(tag="vip") == [vip]
        assert found(tag="billing", channel="phone") == [vip]
        assert len(found(queue_id=queue)) == 1 and found(customer_id=BOB, tag="vip") == []


def test_a_customers_reply_reopens_within_the_window_and_the_history_pages_oldest_first(
        desk_sessions: sessionmaker[Session]) -> None:
    _replicas(desk_sessions)
    with unit_of_work(desk_sessions) as db:
        ticket_id = _open(db)
        _comment(db, ticket_id, "note", author="agent", visibility="internal")
        _comment(db, ticket_id, "Please try again", author="agent")
        service.update_ticket(db, TENANT, ticket_id, {"status": "resolved"}, check_version=lambda v: None)
    with unit_of_work(desk_sessions) as db:
        _comment(db, ticket_id, "Still broken")
        assert db.get(Ticket, ticket_id).status == "open"  # type: ignore[union-attr]
        assert _types(db)[-2:] == ["crm.service_desk.ticket.commented.v1", "crm.service_desk.ticket.reopened.v1"]
    with unit_of_work(desk_sessions) as db:
        first = service.list_history(db, TENANT, ticket_id, after=None, limit=3)
        rest = service.list_history(db, TENANT, ticket_id, after=first[2].id, limit=50)
        assert [e.action for e in first[:3] + rest] == [
            "created", "commented", "commented", "changed", "changed", "commented", "changed"]
        assert [e.details.get("status", {}).get("new") for e in first[:3] + rest if e.action == "changed"] == [
            "open", "resolved", "open"]


def test_a_merge_moves_the_comments_closes_the_duplicate_and_keeps_the_survivors_status(
        desk_sessions: sessionmaker[Session]) -> None:
    _replicas(desk_sessions)
    with unit_of_work(desk_sessions) as db:
        duplicate, survivor, bobs = _open(db), _open(db), _open(db, BOB)
        _comment(db, duplicate, "first")
        _comment(db, duplicate, "second", visibility="internal", author="agent")
        service.update_ticket(db, TENANT, survivor, {"status": "pending_third_party"}, check_version=lambda v: None)
    with unit_of_work(desk_sessions) as db, pytest.raises(Conflict, match="same customer"):
        service.merge_ticket(db, TENANT, duplicate, bobs, actor="agent-1")
    with unit_of_work(desk_sessions) as db:
        merged = service.merge_ticket(db, TENANT, duplicate, survivor, actor="agent-1")
        assert merged.comments_moved == 2
    with unit_of_work(desk_sessions) as db:
        gone, kept = db.get(Ticket, duplicate), db.get(Ticket, survivor)
        assert gone is not None and kept is not None
        assert (gone.status, gone.merged_into_id, kept.status) == ("closed", survivor, "pending_third_party")
        page = PageRequest(limit=50, after=None)
        assert [c.body for c in service.list_comments(db, TENANT, survivor, page, visibility=None)] == [
            "first", "second"]
        assert service.list_comments(db, TENANT, duplicate, page, visibility=None) == []
        assert _types(db)[-2:] == ["crm.service_desk.ticket.closed.v1", "crm.service_desk.ticket.updated.v1"]
        assert service.list_history(db, TENANT, survivor, after=None, limit=50)[-1].action == "merged"
        assert service.survivor_of(db, gone).id == survivor
        with pytest.raises(Conflict):
            service.merge_ticket(db, TENANT, survivor, duplicate, actor="agent-1")
    with unit_of_work(desk_sessions) as db:
        # A late reply to the duplicate lands on the survivor; a customer's reply does not end a third party's wait.
        late = _comment(db, duplicate, "third")
        kept = db.get(Ticket, survivor)
        assert late.ticket_id == survivor and kept is not None and kept.status == "pending_third_party"


def test_the_agent_context_names_the_customers_other_open_tickets_only(desk_sessions: sessionmaker[Session]) -> None:
    _replicas(desk_sessions)
    with unit_of_work(desk_sessions) as db:
        current, other, done = _open(db), _open(db, subject="Parcel late"), _open(db)
        _open(db, BOB)
        service.update_ticket(db, TENANT, done, {"status": "closed"}, check_version=lambda v: None)
    with unit_of_work(desk_sessions) as db:
        context = service.context_of(db, service.get_ticket(db, TENANT, current))
        assert [(t.id, t.subject) for t in context.other_open] == [(other, "Parcel late")]
        assert (context.summary["value_tier"], context.summary["customer_group"], context.summary["view_version"]) == (
            "gold", "enterprise", 4)


def test_erasure_blanks_comments_and_the_requester_of_the_customers_tickets(
        desk_sessions: sessionmaker[Session]) -> None:
    _replicas(desk_sessions)
    with unit_of_work(desk_sessions) as db:
        ticket_id = _open(db, requester_email="ada@example.org")
        bobs = _open(db, BOB, requester_email="bob@example.org")
        _comment(db, ticket_id, "my card number is ...")
        _comment(db, bobs, "Bob's words")
    with unit_of_work(desk_sessions) as db:
        service.erase_customer(db, TENANT, ADA)
    with unit_of_work(desk_sessions) as db:
        ticket = db.get(Ticket, ticket_id)
        assert ticket is not None and (ticket.subject, ticket.requester_email) == ("(erased)", None)
        comments = {c.ticket_id: c for c in db.scalars(select(TicketComment))}
        assert (comments[ticket_id].body, comments[ticket_id].author_name, comments[ticket_id].author_email) == (
            "(erased)", "(erased)", None)
        assert comments[bobs].body == "Bob's words"
