"""SLA use cases: calendars and policies, each ticket's clock recomputed from its history, the breach check."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from services.service_desk.sla.schemas import TicketSla
from services.service_desk.tickets.tables import Ticket


def recompute(session: Session, ticket: Ticket, *, now: datetime) -> str | None:
    """Choose the ticket's policy and recompute its due times from its history; returns its SLA state
    (ok, warning, breached, paused), None when no policy applies."""
    return None


def ticket_sla(session: Session, ticket: Ticket) -> TicketSla | None:
    """The ticket's SLA as last recomputed; None when no policy applies."""
    return None
