"""Queue use cases: queues with their routing rules, and choosing a new ticket's queue by them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.service_desk.tickets.tables import Ticket


def route(session: Session, ticket: Ticket) -> None:
    """A new ticket without a queue gets the queue of the first routing rule it matches (none: it stays
    without one)."""
