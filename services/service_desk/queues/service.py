"""Queue use cases: queues with their routing rules, and choosing a new ticket's queue by them.

Every function works inside the caller's unit of work and never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from services.service_desk.agents import repository as agents_repository
from services.service_desk.agents import service as agents
from services.service_desk.customers import repository as customers
from services.service_desk.queues import repository, rules
from services.service_desk.queues.schemas import QueueCreate
from services.service_desk.queues.tables import Queue
from services.service_desk.tickets.tables import Ticket
from shared.db import utcnow
from shared.errors import Conflict, NotFound
from shared.http import PageRequest
from shared.ids import new_id


@dataclass(frozen=True)
class Shown:
    queue: Queue
    waiting: int


def create_queue(session: Session, tenant: str, body: QueueCreate) -> Shown:
    _name_free(session, tenant, body.name, but=None)
    now = utcnow()
    queue = Queue(id=new_id(), tenant_id=tenant, name=body.name, position=body.position,
                  match=body.match.model_dump(mode="json"), required_skills=list(dict.fromkeys(body.required_skills)),
                  assignment=body.assignment, last_agent_id=None, version=1, created_at=now, updated_at=now)
    session.add(queue)
    session.flush()
    return Shown(queue, 0)


def list_queues(session: Session, tenant: str, page: PageRequest) -> list[Shown]:
    found = repository.list_queues(session, tenant, page)
    waiting = repository.waiting_counts(session, tenant, {q.id for q in found})
    return [Shown(q, waiting.get(q.id, 0)) for q in found]


def get_queue(session: Session, tenant: str, queue_id: uuid.UUID) -> Shown:
    return shown(session, _found(session, tenant, queue_id))


def shown(session: Session, queue: Queue) -> Shown:
    return Shown(queue, repository.waiting_counts(session, queue.tenant_id, {queue.id}).get(queue.id, 0))


def update_queue(session: Session, tenant: str, queue_id: uuid.UUID, patch: dict[str, Any], *,
                 check_version: Callable[[int], None]) -> Shown:
    """Change what was sent; looser requirements or another strategy hand the waiting tickets out at once."""
    queue = _found(session, tenant, queue_id)
    check_version(queue.version)
    changes = rules.refuse_nulls(patch)
    if "name" in changes and changes["name"] != queue.name:
        _name_free(session, tenant, changes["name"], but=queue.id)
    if "required_skills" in changes:
        changes["required_skills"] = list(dict.fromkeys(changes["required_skills"]))
    # model_dump of the patch gives the match as a plain dict already; absent lists are empty ones.
    if "match" in changes:
        changes["match"] = {field: list(changes["match"].get(field) or []) for field in rules.MATCH_FIELDS}
    changed = {name: value for name, value in changes.items() if getattr(queue, name) != value}
    if changed:
        for name, value in changed.items():
            setattr(queue, name, value)
        queue.version += 1
        queue.updated_at = utcnow()
        session.flush()
        if {"required_skills", "assignment"} & set(changed):
            agents.hand_out_queue(session, tenant, queue.id, now=queue.updated_at)
    return shown(session, queue)


def delete_queue(session: Session, tenant: str, queue_id: uuid.UUID, *, check_version: Callable[[int], None]) -> None:
    """Only an empty queue goes (no ticket in it that is not closed): 409 otherwise. Its agents stop working it."""
    queue = _found(session, tenant, queue_id)
    check_version(queue.version)
    if repository.holds_tickets(session, tenant, queue_id):
        raise Conflict(f"Queue {queue_id} still holds tickets that are not closed: move or close them first.")
    for agent_id in agents_repository.leave_queue(session, tenant, queue_id):
        agent = agents_repository.get_agent(session, tenant, agent_id)
        if agent is not None:
            agent.version += 1
            agent.updated_at = utcnow()
    session.delete(queue)
    session.flush()


def route(session: Session, ticket: Ticket) -> None:
    """A new ticket without a queue gets the queue of the first routing rule it matches (none: it stays
    without one). Called while the ticket is created, before its event, so the event names the queue."""
    if ticket.queue_id is not None:
        return
    queues = repository.in_routing_order(session, ticket.tenant_id)
    if not queues:
        return
    customer = customers.find_customer(session, ticket.tenant_id, ticket.customer_id)
    facts = rules.TicketFacts(type=ticket.type, channel=ticket.channel, language=ticket.language,
                              product_id=ticket.product_id,
                              value_tier=rules.value_tier_of(customer.view if customer is not None else None))
    ticket.queue_id = rules.first_matching(
        [rules.RoutingRule(queue_id=q.id, position=q.position, match=q.match) for q in queues], facts)


def _found(session: Session, tenant: str, queue_id: uuid.UUID) -> Queue:
    queue = repository.get_queue(session, tenant, queue_id)
    if queue is None:
        raise NotFound(f"No queue {queue_id}.")
    return queue


def _name_free(session: Session, tenant: str, name: str, *, but: uuid.UUID | None) -> None:
    other = repository.named(session, tenant, name)
    if other is not None and other.id != but:
        raise Conflict(f"A queue named {name!r} exists already ({other.id}).")
