"""Every query of the service desk, and nothing else queries its tables."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.service_desk.tables import Ticket
from shared.http import PageRequest


def get_ticket(session: Session, tenant: str, ticket_id: uuid.UUID) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.tenant_id == tenant, Ticket.id == ticket_id))


def list_tickets(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Ticket]:
    query = select(Ticket).where(Ticket.tenant_id == tenant)
    for name in ("customer_id", "status", "priority", "type"):
        if filters.get(name) is not None:
            query = query.where(getattr(Ticket, name) == filters[name])
    if page.after is not None:
        query = query.where(Ticket.id > page.after)
    return list(session.scalars(query.order_by(Ticket.id).limit(page.limit + 1)))
