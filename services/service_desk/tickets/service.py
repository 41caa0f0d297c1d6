"""Ticket use cases: open, list, read and change tickets, and follow their customers' life cycle.

Every function works inside the caller's unit of work and never commits; each change
publishes its event in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.service_desk import contract
from services.service_desk.agents import service as agents
from services.service_desk.mail import service as mail
from services.service_desk.satisfaction import service as satisfaction
from services.service_desk.sla import service as sla
from services.service_desk.customers import repository as customers
from services.service_desk.customers.tables import CustomerReplica
from services.service_desk.tickets import repository, rules
from services.service_desk.tickets.schemas import TicketCreate
from services.service_desk.tickets.tables import Ticket, TicketComment
from shared.db import utcnow
from shared.errors import NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.lifecycle import ERASED_TEXT
from shared.outbox import publish

# What a PATCH may change, read before the change to diff against.
TICKET_FIELDS = ("subject", "description", "type", "priority", "status")


@dataclass(frozen=True)
class Shown:
    """A ticket with its customer as the replica knows it (None: erased or not replicated yet)."""

    ticket: Ticket
    customer: CustomerReplica | None


def create_ticket(session: Session, tenant: str, body: TicketCreate, *, wait_seconds: float) -> Shown:
    customer = customers.require_customer(session, tenant, body.customer_id, wait_seconds=wait_seconds)
    now = utcnow()
    ticket_id = new_id()
    ticket = Ticket(
        id=ticket_id, tenant_id=tenant, customer_id=body.customer_id, subject=body.subject,
        description=body.description, type=body.type, priority=body.priority, channel=body.channel, status="new",
        token=ticket_id.hex[:8], language=None, queue_id=None, assignee_id=None, tags=[], order_id=None,
        product_id=None, requester_email=None, merged_into_id=None, version=1, created_at=now, updated_at=now,
        resolved_at=None, closed_at=None, resolutions=0,
    )
    session.add(ticket)
    repository.add_history(session, ticket, "created", "api", {}, at=now)
    publish(session, contract.TICKET_CREATED, contract.TicketCreated(**facts(ticket)),
            subject=str(ticket.customer_id), tenant=tenant)
    return Shown(ticket, customer)


def list_tickets(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Shown]:
    """The page's tickets, plus one more if there is a next page."""
    rows = repository.list_tickets(session, tenant, page, filters)
    found = customers.find_customers(session, tenant, {t.customer_id for t in rows})
    return [Shown(t, found.get(t.customer_id)) for t in rows]


def get_ticket(session: Session, tenant: str, ticket_id: uuid.UUID) -> Shown:
    ticket = _found(session, tenant, ticket_id)
    return Shown(ticket, customers.find_customer(session, tenant, ticket.customer_id))


def update_ticket(session: Session, tenant: str, ticket_id: uuid.UUID, patch: dict[str, Any], *,
                  check_version: Callable[[int], None]) -> Shown:
    """Apply a partial update; ``check_version`` refuses a stale one (the client's If-Match)."""
    ticket = _found(session, tenant, ticket_id)
    check_version(ticket.version)
    fields = rules.patch_fields(patch)
    diff = rules.change_ticket({name: getattr(ticket, name) for name in TICKET_FIELDS}, fields)
    customer = customers.find_customer(session, tenant, ticket.customer_id)
    if diff:
        apply_change(session, ticket, diff, actor="api", now=utcnow())
    return Shown(ticket, customer)


def apply_change(session: Session, ticket: Ticket, diff: dict[str, dict[str, Any]], *, actor: str,
                 now: datetime) -> None:
    """The one way a ticket changes, whoever changes it (an agent, the e-mail channel, an SLA escalation, the
    assignment): ``diff`` is ``{field: {old, new}}`` of checked changes. Sets them, keeps the history, lets
    the SLA clock recompute, publishes the event, then lets assignment and satisfaction react."""
    old_status = ticket.status
    for name, change in diff.items():
        setattr(ticket, name, change["new"])
    ticket.version += 1
    ticket.updated_at = now
    if ticket.status == "resolved" and old_status != "resolved":
        ticket.resolved_at = now
        ticket.resolutions += 1
    elif ticket.status not in rules.DONE_STATUSES:
        ticket.resolved_at = None
    if ticket.status == "closed" and old_status != "closed":
        ticket.closed_at = now
    repository.add_history(session, ticket, "changed", actor, diff, at=now)
    sla_state = sla.recompute(session, ticket, now=now)
    action = rules.event_action(old_status, ticket.status)
    if action == "updated" and set(diff) <= {"queue_id", "assignee_id"}:
        action = "assigned"
    publish_change(session, ticket, action, diff, sla_state=sla_state)
    agents.ticket_changed(session, ticket, diff, now=now)
    if ticket.status == "resolved" and old_status != "resolved":
        satisfaction.ticket_resolved(session, ticket, now=now)


def add_comment(session: Session, ticket: Ticket, *, visibility: str, author_type: str, author_name: str,
                author_email: str | None, author_id: uuid.UUID | None, body: str, via: str,
                now: datetime) -> TicketComment:
    """Add a public reply or an internal note: history, the SLA clock (public replies are responses),
    the event; an agent's public reply goes out by e-mail."""
    comment = TicketComment(id=new_id(), tenant_id=ticket.tenant_id, ticket_id=ticket.id, visibility=visibility,
                            author_type=author_type, author_id=author_id, author_name=author_name,
                            author_email=author_email, body=body, via=via, created_at=now)
    session.add(comment)
    ticket.version += 1
    ticket.updated_at = now
    repository.add_history(session, ticket, "commented", author_name, {
        "comment_id": str(comment.id), "visibility": visibility, "author_type": author_type}, at=now)
    sla_state = sla.recompute(session, ticket, now=now)
    publish(session, contract.TICKET_COMMENTED, contract.TicketCommented(
        **facts(ticket, sla_state=sla_state), comment_id=comment.id, visibility=visibility,
        author_type=author_type, via=via), subject=str(ticket.customer_id), tenant=ticket.tenant_id)
    if visibility == "public" and author_type == "agent":
        mail.reply_added(session, ticket, comment)
    return comment


def follow_customer(session: Session, tenant: str, ticket: Ticket, previous: uuid.UUID) -> None:
    """A merge or an unmerge moved the ticket from ``previous`` to another customer."""
    ticket.version += 1
    ticket.updated_at = utcnow()
    publish_change(session, ticket, "updated", {"customer_id": {"old": str(previous), "new": str(ticket.customer_id)}})


def erase_customer(session: Session, tenant: str, customer_id: uuid.UUID) -> None:
    """The customer is erased: what they wrote (subject, description) goes; the ticket's type, priority and
    status stay for the figures."""
    for ticket in repository.tickets_of(session, tenant, customer_id):
        if ticket.subject != ERASED_TEXT:
            ticket.subject, ticket.description = ERASED_TEXT, ""
            ticket.version += 1
            ticket.updated_at = utcnow()
            publish_change(session, ticket, "updated", {"subject": {"erased": True}})


def _found(session: Session, tenant: str, ticket_id: uuid.UUID) -> Ticket:
    ticket = repository.get_ticket(session, tenant, ticket_id)
    if ticket is None:
        raise NotFound(f"No ticket {ticket_id}.")
    return ticket


def facts(ticket: Ticket, *, sla_state: str | None = None) -> dict[str, Any]:
    """What every ticket event says of the ticket (``contract.TicketCreated``'s fields)."""
    return {
        "ticket_id": ticket.id, "customer_id": ticket.customer_id, "subject": ticket.subject, "type": ticket.type,
        "priority": ticket.priority, "channel": ticket.channel, "status": ticket.status, "version": ticket.version,
        "created_at": ticket.created_at, "queue_id": ticket.queue_id, "assignee_id": ticket.assignee_id,
        "sla_state": sla_state,
    }


def publish_change(session: Session, ticket: Ticket, action: str, changes: dict[str, Any], *,
                   sla_state: str | None = None) -> None:
    publish(session, contract.TICKET_CHANGED[action],
            contract.TicketChanged(**facts(ticket, sla_state=sla_state), changes=changes),
            subject=str(ticket.customer_id), tenant=ticket.tenant_id)
