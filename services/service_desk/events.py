"""Events the service desk publishes on ``crm.service_desk.v1``, keyed by customer id."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.service_desk.tables import Ticket
from shared.outbox import append_event
from shared.topics import SERVICE_DESK


def ticket_type(action: str) -> str:
    """``crm.service_desk.ticket.<created|updated|solved|closed|reopened>.v1``."""
    return f"crm.service_desk.ticket.{action}.v1"


def ticket_changed(
    session: Session, tenant: str, action: str, ticket: Ticket, changes: dict[str, Any] | None = None
) -> None:
    data: dict[str, Any] = {
        "ticket_id": str(ticket.id),
        "customer_id": str(ticket.customer_id),
        "subject": ticket.subject,
        "type": ticket.type,
        "priority": ticket.priority,
        "channel": ticket.channel,
        "status": ticket.status,
        "version": ticket.version,
        "created_at": ticket.created_at.isoformat(),
    }
    if changes is not None:
        data["changes"] = changes
    append_event(session, topic=SERVICE_DESK, event_type=ticket_type(action), subject=str(ticket.customer_id),
                 tenant=tenant, data=data)
