"""Ticket use cases: open, list, read and change tickets, their comments, history and merges, what an agent
sees of the customer, and following their customers' life cycle.

Every function works inside the caller's unit of work and never commits; each change
publishes its event in the same transaction. The events are appended without a flush of their own
(``flush=False``): the commit, or the next query, writes them with the rest of the change, one flush fewer
for each; nothing in a ticket's transaction expunges objects from the session.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.service_desk import contract
from services.service_desk.agents import repository as agent_rows
from services.service_desk.agents import service as agents
from services.service_desk.customers import repository as customers
from services.service_desk.customers.tables import CustomerReplica
from services.service_desk.mail import service as mail
from services.service_desk.queues import repository as queue_rows
from services.service_desk.queues import service as queues
from services.service_desk.satisfaction import service as satisfaction
from services.service_desk.sla import service as sla
from services.service_desk.sla.schemas import TicketSla
from services.service_desk.tickets import repository, rules
from services.service_desk.tickets.schemas import TicketCreate
from services.service_desk.tickets.tables import Ticket, TicketComment, TicketHistory
from shared.db import utcnow
from shared.errors import Conflict, InvalidInput, NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.lifecycle import ERASED_TEXT
from shared.outbox import publish

# What a PATCH may change, read before the change to diff against.
TICKET_FIELDS = ("subject", "description", "type", "priority", "status", "tags", "queue_id", "assignee_id",
                 "order_id", "product_id", "language")
# Columns holding ids: a diff may carry them as strings (from JSON) or UUIDs.
UUID_FIELDS = frozenset({"queue_id", "assignee_id", "merged_into_id"})
# What a customer's erasure blanks in the history's changes.
ERASED_FIELDS = frozenset({"subject", "description", "requester_email"})
# How many of the customer's other open tickets the agent's context names.
OTHER_TICKETS_SHOWN = 20
# A chain of merges longer than this is a cycle (which the merge rules prevent): stop following it.
MAX_MERGE_HOPS = 50


@dataclass(frozen=True)
class Shown:
    """A ticket with its customer as the replica knows it (None: erased or not replicated yet) and its SLA."""

    ticket: Ticket
    customer: CustomerReplica | None
    sla: TicketSla | None = None


@dataclass(frozen=True)
class Context:
    """What an agent sees beside a ticket: the view summary (``rules.view_summary``) and the customer's other
    open tickets."""

    summary: dict[str, Any]
    other_open: list[Ticket]


@dataclass(frozen=True)
class Merged:
    duplicate: Shown
    survivor: Shown
    comments_moved: int


def create_ticket(session: Session, tenant: str, body: TicketCreate, *, wait_seconds: float) -> Shown:
    """Open a ticket: route it to a queue unless one is given, start its history and SLA clock, publish it,
    then let assignment hand it out."""
    customer = customers.require_customer(session, tenant, body.customer_id, wait_seconds=wait_seconds)
    _check_routing(session, tenant, {"queue_id": body.queue_id})
    now = utcnow()
    ticket_id = new_id()
    ticket = Ticket(
        id=ticket_id, tenant_id=tenant, customer_id=body.customer_id, subject=body.subject,
        description=body.description, type=body.type, priority=body.priority, channel=body.channel, status="new",
        token=ticket_token(ticket_id), language=body.language, queue_id=body.queue_id, assignee_id=None,
        tags=rules.clean_tags(body.tags), order_id=body.order_id, product_id=body.product_id,
        requester_email=body.requester_email, merged_into_id=None, version=1, created_at=now, updated_at=now,
        resolved_at=None, closed_at=None, resolutions=0,
    )
    session.add(ticket)
    if ticket.queue_id is None:
        queues.route(session, ticket)
    repository.add_history(session, ticket, "created", "api", _plain({
        "channel": ticket.channel, "type": ticket.type, "priority": ticket.priority, "queue_id": ticket.queue_id}),
        at=now)
    sla_state = sla.recompute(session, ticket, now=now)
    publish(session, contract.TICKET_CREATED, contract.TicketCreated(**facts(ticket, sla_state=sla_state)),
            subject=str(ticket.customer_id), tenant=tenant, flush=False)
    agents.ticket_changed(session, ticket, {"status": {"old": None, "new": "new"}}, now=now)
    return _shown(session, ticket, customer)


def ticket_token(ticket_id: uuid.UUID) -> str:
    """The reference a customer quotes: from the id's random bits (its first digits are the clock, shared by
    every ticket opened in the same minute)."""
    return ticket_id.hex[-12:]


def list_tickets(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Shown]:
    """The page's tickets, plus one more if there is a next page."""
    rows = repository.list_tickets(session, tenant, page, filters)
    found = customers.find_customers(session, tenant, {t.customer_id for t in rows})
    return [_shown(session, t, found.get(t.customer_id)) for t in rows]


def get_ticket(session: Session, tenant: str, ticket_id: uuid.UUID) -> Shown:
    ticket = _found(session, tenant, ticket_id)
    return _shown(session, ticket, customers.find_customer(session, tenant, ticket.customer_id))


def context_of(session: Session, shown: Shown) -> Context:
    """The customer's view summary from the replica (unavailable without one) and their other open tickets."""
    replica = shown.customer
    summary = rules.view_summary(replica.view if replica is not None else None,
                                 replica.view_version if replica is not None else None)
    ticket = shown.ticket
    others = repository.open_tickets_of(session, ticket.tenant_id, ticket.customer_id, statuses=rules.OPEN_STATUSES,
                                        but=ticket.id, limit=OTHER_TICKETS_SHOWN)
    return Context(summary, others)


def update_ticket(session: Session, tenant: str, ticket_id: uuid.UUID, patch: dict[str, Any], *,
                  check_version: Callable[[int], None], reopen_window_days: int | None = None) -> Shown:
    """Apply a partial update; ``check_version`` refuses a stale one (the client's If-Match). A resolved
    ticket reopens only within ``reopen_window_days`` of its resolution (None: no limit)."""
    ticket = _found(session, tenant, ticket_id)
    check_version(ticket.version)
    fields = rules.patch_fields(patch)
    _check_routing(session, tenant, fields)
    now = utcnow()
    current = {name: getattr(ticket, name) for name in TICKET_FIELDS} | {"resolved_at": ticket.resolved_at}
    diff = rules.change_ticket(current, fields, now=now, window_days=reopen_window_days)
    if diff:
        apply_change(session, ticket, diff, actor="api", now=now)
    return _shown(session, ticket, customers.find_customer(session, tenant, ticket.customer_id))


def apply_change(session: Session, ticket: Ticket, diff: dict[str, dict[str, Any]], *, actor: str,
                 now: datetime) -> None:
    """The one way a ticket changes, whoever changes it (an agent, the e-mail channel, an SLA escalation, the
    assignment): ``diff`` is ``{field: {old, new}}`` of checked changes. Sets them, keeps the history, lets
    the SLA clock recompute, publishes the event, then lets assignment and satisfaction react."""
    old_status = ticket.status
    for name, change in diff.items():
        value = change["new"]
        if name in UUID_FIELDS and isinstance(value, str):
            value = uuid.UUID(value)
        setattr(ticket, name, value)
    ticket.version += 1
    ticket.updated_at = now
    if ticket.status == "resolved" and old_status != "resolved":
        ticket.resolved_at = now
        ticket.resolutions += 1
    elif ticket.status not in rules.DONE_STATUSES:
        ticket.resolved_at = None
    if ticket.status == "closed" and old_status != "closed":
        ticket.closed_at = now
    plain = _plain(diff)
    repository.add_history(session, ticket, "changed", actor, plain, at=now)
    sla_state = sla.recompute(session, ticket, now=now)
    action = rules.event_action(old_status, ticket.status)
    if action == "updated" and set(diff) <= {"queue_id", "assignee_id"}:
        action = "assigned"
    publish_change(session, ticket, action, plain, sla_state=sla_state)
    agents.ticket_changed(session, ticket, diff, now=now)
    if ticket.status == "resolved" and old_status != "resolved":
        satisfaction.ticket_resolved(session, ticket, now=now)


def comment_on(session: Session, tenant: str, ticket_id: uuid.UUID, *, visibility: str, author_type: str,
               author_name: str, author_email: str | None, author_id: uuid.UUID | None, body: str,
               reopen_window_days: int) -> tuple[Shown, TicketComment]:
    """A comment through the API: onto the ticket (or its survivor, if it was merged)."""
    ticket = _found(session, tenant, ticket_id)
    comment = add_comment(session, ticket, visibility=visibility, author_type=author_type, author_name=author_name,
                          author_email=author_email, author_id=author_id, body=body, via="api", now=utcnow(),
                          reopen_window_days=reopen_window_days)
    target = survivor_of(session, ticket)
    return _shown(session, target, customers.find_customer(session, tenant, target.customer_id)), comment


def add_comment(session: Session, ticket: Ticket, *, visibility: str, author_type: str, author_name: str,
                author_email: str | None, author_id: uuid.UUID | None, body: str, via: str,
                now: datetime, reopen_window_days: int | None = None) -> TicketComment:
    """Add a public reply or an internal note: history, the SLA clock (public replies are responses),
    the event; an agent's public reply goes out by e-mail. A comment on a merged ticket lands on its
    survivor; a closed ticket takes none (409).

    With ``reopen_window_days`` the comment moves the status (``rules.status_after_comment``: an agent's
    first public reply opens a new ticket, the customer's reply opens a pending or, within the window, a
    resolved one; a customer's reply to a ticket resolved longer ago is a 409). Without it (None) the status
    stays as it is. A comment by ``author_type`` "system" (such as an auto-reply) never moves it."""
    ticket = survivor_of(session, ticket)
    new_status: str | None = None
    if reopen_window_days is not None:
        new_status = rules.status_after_comment(ticket.status, visibility=visibility, author_type=author_type,
                                                resolved_at=ticket.resolved_at, now=now,
                                                window_days=reopen_window_days)
    elif ticket.status == "closed":
        raise Conflict(f"The ticket is closed, which is final: it takes no more comments. {rules.NEW_TICKET_HINT}")
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
        author_type=author_type, via=via), subject=str(ticket.customer_id), tenant=ticket.tenant_id, flush=False)
    if visibility == "public" and author_type == "agent":
        mail.reply_added(session, ticket, comment)
    if new_status is not None and new_status != ticket.status:
        apply_change(session, ticket, {"status": {"old": ticket.status, "new": new_status}}, actor=author_name,
                     now=now)
    return comment


def list_comments(session: Session, tenant: str, ticket_id: uuid.UUID, page: PageRequest, *,
                  visibility: str | None) -> list[TicketComment]:
    """The ticket's comments oldest first (a merged ticket's moved to its survivor), one more if there is a
    next page."""
    ticket = _found(session, tenant, ticket_id)
    session.flush()
    return repository.comments_page(session, tenant, ticket.id, page, visibility=visibility)


def list_history(session: Session, tenant: str, ticket_id: uuid.UUID, *, after: int | None,
                 limit: int) -> list[TicketHistory]:
    """The ticket's history oldest first, one more if there is a next page."""
    ticket = _found(session, tenant, ticket_id)
    return repository.history_page(session, tenant, ticket.id, after=after, limit=limit)


def merge_ticket(session: Session, tenant: str, ticket_id: uuid.UUID, into: uuid.UUID, *, actor: str) -> Merged:
    """Merge a duplicate into its survivor: the duplicate's comments move, it closes pointing at the
    survivor; both keep the merge in their history and publish it. The survivor's status stays."""
    duplicate = _found(session, tenant, ticket_id)
    survivor = repository.get_ticket(session, tenant, into)
    if survivor is None:
        raise NotFound(f"No ticket {into} to merge into.")
    rules.check_merge(_side(duplicate), _side(survivor))
    now = utcnow()
    session.flush()
    moved = repository.move_comments(session, tenant, duplicate.id, survivor.id)
    repository.add_history(session, duplicate, "merged_into", actor, {
        "into": str(survivor.id), "comments_moved": moved}, at=now)
    apply_change(session, duplicate, {"status": {"old": duplicate.status, "new": "closed"},
                                      "merged_into_id": {"old": None, "new": survivor.id}}, actor=actor, now=now)
    survivor.version += 1
    survivor.updated_at = now
    merged = {"ticket_id": str(duplicate.id), "comments_moved": moved}
    repository.add_history(session, survivor, "merged", actor, merged, at=now)
    # The moved comments may be responses the survivor's clock had not counted.
    sla_state = sla.recompute(session, survivor, now=now)
    publish_change(session, survivor, "updated", {"merged": merged}, sla_state=sla_state)
    found = customers.find_customer(session, tenant, survivor.customer_id)
    return Merged(_shown(session, duplicate, found), _shown(session, survivor, found), moved)


def survivor_of(session: Session, ticket: Ticket) -> Ticket:
    """The ticket itself, or the ticket it was merged into (following merges of merges): where what reaches a
    merged ticket belongs."""
    current = ticket
    for _ in range(MAX_MERGE_HOPS):
        if current.merged_into_id is None:
            return current
        following = repository.get_ticket(session, current.tenant_id, current.merged_into_id)
        if following is None:
            return current
        current = following
    return current


def follow_customer(session: Session, tenant: str, ticket: Ticket, previous: uuid.UUID) -> None:
    """A merge or an unmerge moved the ticket from ``previous`` to another customer."""
    ticket.version += 1
    ticket.updated_at = utcnow()
    publish_change(session, ticket, "updated", {"customer_id": {"old": str(previous), "new": str(ticket.customer_id)}})


def erase_customer(session: Session, tenant: str, customer_id: uuid.UUID) -> None:
    """The customer is erased: what they wrote (subject, description, every comment's text, their names and
    addresses on comments, the requester address) goes; the ticket's type, priority and status stay for the
    figures."""
    tickets = repository.tickets_of(session, tenant, customer_id)
    ids = [t.id for t in tickets]
    # The names the customer wrote under: they are also the actor of the history entries their comments made.
    names: set[str] = set()
    for comment in repository.comments_of_tickets(session, tenant, ids):
        comment.body = ERASED_TEXT
        comment.author_email = None
        if comment.author_type != "agent":
            if comment.author_name != ERASED_TEXT:
                names.add(comment.author_name)
            comment.author_name = ERASED_TEXT
    for entry in repository.history_of_tickets(session, tenant, ids):
        if entry.actor in names:
            entry.actor = ERASED_TEXT
        # Old and new subjects and descriptions are the customer's words too.
        if any(name in entry.details for name in ERASED_FIELDS):
            entry.details = {name: ({"erased": True} if name in ERASED_FIELDS else change)
                             for name, change in entry.details.items()}
    for ticket in tickets:
        ticket.requester_email = None
        if ticket.subject != ERASED_TEXT:
            ticket.subject, ticket.description = ERASED_TEXT, ""
            ticket.version += 1
            ticket.updated_at = utcnow()
            publish_change(session, ticket, "updated", {"subject": {"erased": True}})


def _check_routing(session: Session, tenant: str, fields: dict[str, Any]) -> None:
    """A queue or assignee a client names must be the tenant's (422 otherwise); null clears them."""
    queue_id, assignee_id = fields.get("queue_id"), fields.get("assignee_id")
    if queue_id is not None and queue_rows.get_queue(session, tenant, queue_id) is None:
        raise InvalidInput.on("queue_id", f"no queue {queue_id}")
    if assignee_id is not None and agent_rows.get_agent(session, tenant, assignee_id) is None:
        raise InvalidInput.on("assignee_id", f"no agent {assignee_id}")


def _found(session: Session, tenant: str, ticket_id: uuid.UUID) -> Ticket:
    ticket = repository.get_ticket(session, tenant, ticket_id)
    if ticket is None:
        raise NotFound(f"No ticket {ticket_id}.")
    return ticket


def _shown(session: Session, ticket: Ticket, customer: CustomerReplica | None) -> Shown:
    return Shown(ticket, customer, sla.ticket_sla(session, ticket))


def _side(ticket: Ticket) -> rules.MergeSide:
    return rules.MergeSide(ticket.id, ticket.customer_id, ticket.status, ticket.merged_into_id)


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it (ids and times as strings): history details and event changes."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


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
            contract.TicketChanged(**facts(ticket, sla_state=sla_state), changes=_plain(changes)),
            subject=str(ticket.customer_id), tenant=ticket.tenant_id, flush=False)
