"""Every query of tickets, their comments and their history."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, exists, func, select, text, update
from sqlalchemy.orm import Session

from services.service_desk.tickets.tables import Ticket, TicketComment, TicketHistory
from shared.db import in_chunks
from shared.http import PageRequest

# Filters compared for equality with the column of the same name.
EQUAL_FILTERS = ("customer_id", "status", "priority", "type", "channel", "queue_id", "assignee_id")


def get_ticket(session: Session, tenant: str, ticket_id: uuid.UUID) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.tenant_id == tenant, Ticket.id == ticket_id))


def list_tickets(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Ticket]:
    """One page in id order, plus one row more if there is a next page."""
    query = select(Ticket).where(Ticket.tenant_id == tenant)
    for name in EQUAL_FILTERS:
        if filters.get(name) is not None:
            query = query.where(getattr(Ticket, name) == filters[name])
    if filters.get("tag") is not None:
        query = query.where(_has_tag(session, filters["tag"]))
    if page.after is not None:
        query = query.where(Ticket.id > page.after)
    return list(session.scalars(query.order_by(Ticket.id).limit(page.limit + 1)))


def _has_tag(session: Session, tag: str) -> Any:
    """The tags column (a JSON array) holds ``tag``: JSONB containment on PostgreSQL, json_each on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        return Ticket.tags.op("@>")(func.jsonb_build_array(tag))
    each = func.json_each(Ticket.tags).table_valued("value")
    return exists(select(text("1")).select_from(each).where(each.c.value == tag))


def tickets_of(session: Session, tenant: str, customer_id: uuid.UUID) -> list[Ticket]:
    return list(session.scalars(select(Ticket).where(
        Ticket.tenant_id == tenant, Ticket.customer_id == customer_id).order_by(Ticket.id)))


def open_tickets_of(session: Session, tenant: str, customer_id: uuid.UUID, *, statuses: frozenset[str],
                    but: uuid.UUID, limit: int) -> list[Ticket]:
    """The customer's tickets in ``statuses`` other than ``but``, newest first."""
    return list(session.scalars(select(Ticket).where(
        Ticket.tenant_id == tenant, Ticket.customer_id == customer_id, Ticket.status.in_(sorted(statuses)),
        Ticket.id != but).order_by(Ticket.id.desc()).limit(limit)))


def add_history(session: Session, ticket: Ticket, action: str, actor: str, details: dict[str, Any], *,
                at: datetime) -> None:
    session.add(TicketHistory(tenant_id=ticket.tenant_id, ticket_id=ticket.id, at=at, action=action, actor=actor,
                              details=details))


def clock_history_of(session: Session, tenant: str, ticket_id: uuid.UUID) -> list[Row[tuple[datetime, str, Any]]]:
    """The ticket's history as the SLA clock reads it, (at, action, details) oldest first: plain rows, not
    entities, as every change of a ticket reads all of them."""
    return list(session.execute(select(TicketHistory.at, TicketHistory.action, TicketHistory.details).where(
        TicketHistory.tenant_id == tenant, TicketHistory.ticket_id == ticket_id).order_by(TicketHistory.id)))


def history_page(session: Session, tenant: str, ticket_id: uuid.UUID, *, after: int | None,
                 limit: int) -> list[TicketHistory]:
    """Oldest first, plus one entry more if there is a next page."""
    session.flush()
    query = select(TicketHistory).where(TicketHistory.tenant_id == tenant, TicketHistory.ticket_id == ticket_id)
    if after is not None:
        query = query.where(TicketHistory.id > after)
    return list(session.scalars(query.order_by(TicketHistory.id).limit(limit + 1)))


def comments_page(session: Session, tenant: str, ticket_id: uuid.UUID, page: PageRequest, *,
                  visibility: str | None) -> list[TicketComment]:
    """Oldest first (ids are time-ordered), plus one more if there is a next page."""
    query = select(TicketComment).where(TicketComment.tenant_id == tenant, TicketComment.ticket_id == ticket_id)
    if visibility is not None:
        query = query.where(TicketComment.visibility == visibility)
    if page.after is not None:
        query = query.where(TicketComment.id > page.after)
    return list(session.scalars(query.order_by(TicketComment.id).limit(page.limit + 1)))


def move_comments(session: Session, tenant: str, source: uuid.UUID, target: uuid.UUID) -> int:
    """Re-point every comment of ``source`` to ``target``; how many moved."""
    moved = session.execute(update(TicketComment).where(
        TicketComment.tenant_id == tenant, TicketComment.ticket_id == source).values(ticket_id=target)
        .execution_options(synchronize_session="fetch"))
    return int(moved.rowcount or 0)  # type: ignore[attr-defined]


def history_of_tickets(session: Session, tenant: str, ticket_ids: list[uuid.UUID]) -> list[TicketHistory]:
    found: list[TicketHistory] = []
    for chunk in in_chunks(ticket_ids):
        found.extend(session.scalars(select(TicketHistory).where(
            TicketHistory.tenant_id == tenant, TicketHistory.ticket_id.in_(chunk))))
    return found


def comments_of_tickets(session: Session, tenant: str, ticket_ids: list[uuid.UUID]) -> list[TicketComment]:
    found: list[TicketComment] = []
    for chunk in in_chunks(ticket_ids):
        found.extend(session.scalars(select(TicketComment).where(
            TicketComment.tenant_id == tenant, TicketComment.ticket_id.in_(chunk))))
    return found
