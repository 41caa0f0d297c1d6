"""Tickets: the life cycle's rules without a database, the use cases on one of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.service_desk.customers.tables import CustomerReplica
from services.service_desk.database import Base
from services.service_desk.tickets import rules as desk
from services.service_desk.tickets import service
from services.service_desk.tickets.schemas import TicketCreate
from shared.db import PLATFORM_METADATA, OutboxRecord, make_engine, make_sessions, utcnow
from shared.errors import Conflict, InvalidInput


def test_ticket_life_cycle() -> None:
    desk.check_transition("new", "open")
    desk.check_transition("resolved", "open")
    with pytest.raises(Conflict):
        desk.check_transition("closed", "open")
    assert desk.event_action("open", "resolved") == "solved"
    assert desk.event_action("resolved", "open") == "reopened"
    assert desk.event_action(None, "new") == "created"


# --- the use cases, on a database of their own ---------------------------------------------

TENANT = "acme"
CUSTOMER = uuid.UUID(int=7)


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'service_desk.db'}")
    PLATFORM_METADATA.create_all(engine)
    Base.metadata.create_all(engine)
    with make_sessions(engine)() as session:
        session.add(CustomerReplica(customer_id=CUSTOMER, tenant_id=TENANT, view_version=3, display_name="Ada Example",
                                    kind="person", view={"version": 3}, updated_at=utcnow()))
        session.flush()
        yield session
    engine.dispose()


def _events(db: Session) -> list[tuple[str, str, dict[str, Any]]]:
    return [(r.type, r.key, r.data) for r in db.scalars(select(OutboxRecord).order_by(OutboxRecord.sequence))]


def _open(db: Session, **fields: Any) -> service.Shown:
    body = TicketCreate.model_validate({"customer_id": str(CUSTOMER), "subject": "Ada cannot log in",
                                        "description": "Since Monday."} | fields)
    return service.create_ticket(db, TENANT, body, wait_seconds=0)


def _any_version(version: int) -> None:
    pass


def test_a_ticket_for_a_customer_the_replica_does_not_know_is_refused(db: Session) -> None:
    with pytest.raises(InvalidInput):
        _open(db, customer_id=str(uuid.UUID(int=8)))
    assert _events(db) == []


def test_opening_a_ticket_publishes_it_keyed_by_its_customer(db: Session) -> None:
    opened = _open(db)
    assert opened.customer is not None and opened.customer.display_name == "Ada Example"
    ticket = opened.ticket
    assert _events(db) == [("crm.service_desk.ticket.created.v1", str(CUSTOMER), {
        "ticket_id": str(ticket.id), "customer_id": str(CUSTOMER), "subject": "Ada cannot log in",
        "type": "question", "priority": "normal", "channel": "web", "status": "new", "version": 1,
        # The offset form the unified view keeps as the ticket's opening time.
        "created_at": ticket.created_at.isoformat(), "queue_id": None, "assignee_id": None, "sla_state": None})]


def test_solving_and_reopening_a_ticket_are_events_of_their_own(db: Session) -> None:
    ticket = _open(db).ticket
    solved = service.update_ticket(db, TENANT, ticket.id, {"status": "resolved"}, check_version=_any_version).ticket
    assert solved.resolved_at is not None and solved.resolutions == 1
    reopened = service.update_ticket(db, TENANT, ticket.id, {"status": "open"}, check_version=_any_version).ticket
    assert reopened.resolved_at is None and reopened.version == 3
    assert [(t, d["changes"]) for t, _, d in _events(db)[1:]] == [
        ("crm.service_desk.ticket.solved.v1", {"status": {"old": "new", "new": "resolved"}}),
        ("crm.service_desk.ticket.reopened.v1", {"status": {"old": "resolved", "new": "open"}})]


def test_a_closed_ticket_is_final(db: Session) -> None:
    ticket = _open(db).ticket
    service.update_ticket(db, TENANT, ticket.id, {"status": "closed"}, check_version=_any_version)
    with pytest.raises(Conflict):
        service.update_ticket(db, TENANT, ticket.id, {"status": "open"}, check_version=_any_version)


def test_erasure_blanks_what_the_customer_wrote_and_keeps_the_ticket(db: Session) -> None:
    ticket = _open(db).ticket
    service.erase_customer(db, TENANT, CUSTOMER)
    service.erase_customer(db, TENANT, CUSTOMER)  # a redelivery changes nothing more
    assert (ticket.subject, ticket.description, ticket.type, ticket.version) == ("(erased)", "", "question", 2)
    assert [(t, d["changes"]) for t, _, d in _events(db)[1:]] == [
        ("crm.service_desk.ticket.updated.v1", {"subject": {"erased": True}})]
