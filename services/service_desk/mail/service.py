"""E-mail use cases: inbound messages threaded into tickets, and public agent replies queued for sending."""

from __future__ import annotations

from sqlalchemy.orm import Session

from services.service_desk.tickets.tables import Ticket, TicketComment


def reply_added(session: Session, ticket: Ticket, comment: TicketComment) -> None:
    """An agent's public reply on the ticket: queue it as an e-mail to the requester, threaded (Message-ID,
    In-Reply-To, References) so the answer comes back to this ticket."""


def queue_notice(session: Session, tenant: str, *, to: str, subject: str, body: str,
                 ticket: Ticket | None = None) -> None:
    """Queue a plain notice e-mail (an escalation to a manager, a satisfaction request to a customer); the
    mail-send job sends it after the commit, so a crash loses nothing."""
