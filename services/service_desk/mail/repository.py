"""Every query of the e-mail channel: thread lookups by Message-ID and token, the customers' addresses,
attachments, and the outgoing queue."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, defer

from services.service_desk.mail import rules
from services.service_desk.mail.tables import CustomerAddress, MailAttachment, MailMessage, OutgoingMail
from services.service_desk.tickets.tables import Ticket
from shared.http import PageRequest


@dataclass(frozen=True)
class Known:
    """What the desk knows of an inbound message's Message-IDs, from one query."""

    redelivered: Ticket | None  # the ticket this very message reached before
    answered: Ticket | None  # the ticket of the newest message it answers


def known_messages(session: Session, tenant: str, message_id: str | None, answers: Sequence[str]) -> Known:
    """The message's own Message-ID (received before?) and those it answers (newest first), with their tickets."""
    wanted = [m for m in (message_id, *answers) if m]
    if not wanted:
        return Known(None, None)
    rows = session.execute(select(MailMessage.message_id, MailMessage.direction, Ticket)
                           .join(Ticket, (Ticket.tenant_id == MailMessage.tenant_id)
                                 & (Ticket.id == MailMessage.ticket_id))
                           .where(MailMessage.tenant_id == tenant, MailMessage.message_id.in_(wanted))).all()
    redelivered = next((t for m, d, t in rows if m == message_id and d == "in"), None)
    found = {m: t for m, _, t in rows}
    return Known(redelivered, next((found[m] for m in answers if m in found), None))


def thread_chain(session: Session, tenant: str, ticket_id: uuid.UUID) -> list[str]:
    """The ticket's Message-IDs, oldest first."""
    return list(session.scalars(select(MailMessage.message_id).where(
        MailMessage.tenant_id == tenant, MailMessage.ticket_id == ticket_id)
        .order_by(MailMessage.created_at, MailMessage.id)))


def record_message(session: Session, tenant: str, ticket_id: uuid.UUID, message_id: str, direction: str, *,
                   at: datetime) -> None:
    session.add(MailMessage(id=uuid.uuid4(), tenant_id=tenant, ticket_id=ticket_id, message_id=message_id,
                            direction=direction, created_at=at))


def ticket(session: Session, tenant: str, ticket_id: uuid.UUID) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.tenant_id == tenant, Ticket.id == ticket_id))


def ticket_by_token(session: Session, tenant: str, token: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.tenant_id == tenant, Ticket.token == token))


def customer_with_address(session: Session, tenant: str, address: str) -> uuid.UUID | None:
    """The customer whose e-mail this is; several share it: the lowest id, so the choice is stable."""
    return session.scalar(select(CustomerAddress.customer_id).where(
        CustomerAddress.tenant_id == tenant, CustomerAddress.address == address)
        .order_by(CustomerAddress.customer_id).limit(1))


def keep_addresses(session: Session, customer_id: uuid.UUID, tenant: str | None, view: dict[str, Any] | None) -> None:
    """The replica applied (or forgot) a customer's view: the address index follows it."""
    wanted = rules.view_addresses(view) if tenant is not None else set()
    current = set(session.scalars(select(CustomerAddress.address).where(CustomerAddress.customer_id == customer_id)))
    gone = current - wanted
    if gone:
        session.execute(delete(CustomerAddress).where(CustomerAddress.customer_id == customer_id,
                                                      CustomerAddress.address.in_(gone)))
    if tenant is not None:
        session.add_all(CustomerAddress(customer_id=customer_id, address=a, tenant_id=tenant)
                        for a in sorted(wanted - current))


def add_attachment(session: Session, attachment: MailAttachment) -> None:
    session.add(attachment)


# Merges of merges a listing follows (a merged ticket is closed, so chains stay short).
MAX_MERGE_DEPTH = 5


def merged_family(session: Session, tenant: str, ticket_id: uuid.UUID) -> list[uuid.UUID]:
    """The ticket and every ticket merged into it (through merges of merges): whose attachments it shows, as
    the merge moved their comments to it."""
    family, frontier = [ticket_id], [ticket_id]
    for _ in range(MAX_MERGE_DEPTH):
        frontier = list(session.scalars(select(Ticket.id).where(Ticket.tenant_id == tenant,
                                                                Ticket.merged_into_id.in_(frontier))))
        if not frontier:
            break
        family.extend(frontier)
    return family


def attachments(session: Session, tenant: str, ticket_ids: list[uuid.UUID], page: PageRequest) -> list[MailAttachment]:
    """One page in id order (without the bytes), plus one row more if there is a next page."""
    query = select(MailAttachment).where(MailAttachment.tenant_id == tenant, MailAttachment.ticket_id.in_(ticket_ids))
    if page.after is not None:
        query = query.where(MailAttachment.id > page.after)
    return list(session.scalars(query.options(defer(MailAttachment.content)).order_by(MailAttachment.id)
                                .limit(page.limit + 1)))


def attachment(session: Session, tenant: str, ticket_ids: list[uuid.UUID],
               attachment_id: uuid.UUID) -> MailAttachment | None:
    return session.scalar(select(MailAttachment).where(
        MailAttachment.tenant_id == tenant, MailAttachment.ticket_id.in_(ticket_ids),
        MailAttachment.id == attachment_id))


def queue(session: Session, mail: OutgoingMail) -> None:
    session.add(mail)


def due_mail(session: Session, now: datetime, limit: int) -> list[OutgoingMail]:
    """Queued messages whose time has come, oldest first, locked so that two senders never take the same
    (``SKIP LOCKED`` on PostgreSQL; SQLite has one writer anyway)."""
    return list(session.scalars(select(OutgoingMail).where(
        OutgoingMail.status == "queued", OutgoingMail.next_attempt_at <= now)
        .order_by(OutgoingMail.next_attempt_at, OutgoingMail.id).limit(limit)
        .with_for_update(skip_locked=True)))


def outgoing_of(session: Session, tenant: str, ticket_id: uuid.UUID) -> list[OutgoingMail]:
    return list(session.scalars(select(OutgoingMail).where(
        OutgoingMail.tenant_id == tenant, OutgoingMail.ticket_id == ticket_id).order_by(OutgoingMail.created_at)))
