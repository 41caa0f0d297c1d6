"""Every query of the tickets table."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.service_desk.tickets.tables import Ticket, TicketHistory
from shared.http import PageRequest


def get_ticket(session: Session, tenant: str, ticket_id: uuid.UUID) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.tenant_id == tenant, Ticket.id == ticket_id))


def list_tickets(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Ticket]:
    """One page in id order, plus one row more if there is a next page."""
    query = select(Ticket).where(Ticket.tenant_id == tenant)
    for name in ("customer_id", "status", "priority", "type"):
        if filters.get(name) is not None:
            query = query.where(getattr(Ticket, name) == filters[name])
    if page.after is not None:
        query = query.where(Ticket.id > page.after)
    return list(session.scalars(query.order_by(Ticket.id).limit(page.limit + 1)))


def tickets_of(session: Session, tenant: str, customer_id: uuid.UUID) -> list[Ticket]:
    return list(session.scalars(select(Ticket).where(
        Ticket.tenant_id == tenant, Ticket.customer_id == customer_id).order_by(Ticket.id)))


def add_history(session: Session, ticket: Ticket, action: str, actor: str, details: dict[str, Any], *,
                at: datetime) -> None:
    session.add(TicketHistory(tenant_id=ticket.tenant_id, ticket_id=ticket.id, at=at, action=action, actor=actor,
                              details=details))


def history_of(session: Session, tenant: str, ticket_id: uuid.UUID) -> list[TicketHistory]:
    return list(session.scalars(select(TicketHistory).where(
        TicketHistory.tenant_id == tenant, TicketHistory.ticket_id == ticket_id).order_by(TicketHistory.id)))
