"""Agent use cases: agents, and handing a queue's tickets to the available agent with the skill and capacity."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.service_desk.tickets.tables import Ticket


def ticket_changed(session: Session, ticket: Ticket, diff: dict[str, Any], *, now: datetime) -> None:
    """A ticket changed: a new or re-queued one may be assigned, a resolved one frees its agent for the next."""
