"""Satisfaction use cases: the CSAT request on resolution, its one answer, the service figures."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from services.service_desk.tickets.tables import Ticket


def ticket_resolved(session: Session, ticket: Ticket, *, now: datetime) -> None:
    """The ticket was resolved (again): ask the customer to rate this resolution."""
