"""Agent use cases: agents, and handing a queue's tickets to the available agent with the skill and capacity.

Every function works inside the caller's unit of work and never commits. A ticket's assignee changes only
through ``tickets.service.apply_change`` (history, SLA, the ``assigned`` event), which calls
``ticket_changed`` again: that call finds nothing more to do, so assignment never loops.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from services.service_desk.agents import repository, rules
from services.service_desk.agents.schemas import AgentCreate
from services.service_desk.agents.tables import Agent
from services.service_desk.queues import repository as queues
from services.service_desk.queues import rules as routing
from services.service_desk.queues.tables import Queue
from services.service_desk.tickets import service as tickets
from services.service_desk.tickets.rules import DONE_STATUSES
from services.service_desk.tickets.tables import Ticket
from shared.db import unit_of_work, utcnow
from shared.errors import InvalidInput, NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.settings import Settings

ACTOR = "assignment"
# How many waiting tickets one hand-out looks at per queue: the backstop job takes the rest on its next run.
HAND_OUT_BATCH = 200


@dataclass(frozen=True)
class Shown:
    agent: Agent
    queue_ids: list[uuid.UUID]
    open_tickets: int


# --- agents -------------------------------------------------------------------------------------


def create_agent(session: Session, tenant: str, body: AgentCreate) -> Shown:
    queue_ids = _known_queues(session, tenant, body.queue_ids)
    now = utcnow()
    agent = Agent(id=new_id(), tenant_id=tenant, name=body.name, email=body.email, manager_email=body.manager_email,
                  skills=list(dict.fromkeys(body.skills)), languages=_languages(body.languages),
                  capacity=body.capacity, available=body.available, last_assigned_at=None, version=1,
                  created_at=now, updated_at=now)
    session.add(agent)
    session.flush()
    repository.replace_queues(session, agent, queue_ids)
    _hand_out_for(session, agent, now=now)
    return shown(session, agent)


def list_agents(session: Session, tenant: str, page: PageRequest, *, queue_id: uuid.UUID | None,
                available: bool | None) -> list[Shown]:
    found = repository.list_agents(session, tenant, page, queue_id=queue_id, available=available)
    ids = {a.id for a in found}
    memberships = repository.queue_ids_of(session, tenant, ids)
    loads = repository.loads(session, tenant, ids)
    return [Shown(a, memberships[a.id], loads.get(a.id, 0)) for a in found]


def get_agent(session: Session, tenant: str, agent_id: uuid.UUID) -> Shown:
    return shown(session, _found(session, tenant, agent_id))


def shown(session: Session, agent: Agent) -> Shown:
    return Shown(agent, repository.queue_ids_of(session, agent.tenant_id, {agent.id})[agent.id],
                 repository.loads(session, agent.tenant_id, {agent.id}).get(agent.id, 0))


def update_agent(session: Session, tenant: str, agent_id: uuid.UUID, patch: dict[str, Any], *,
                 check_version: Callable[[int], None]) -> Shown:
    """Change what was sent; whatever may free the agent up (available, capacity, queues, skills, languages)
    hands out the waiting tickets of their queues at once."""
    agent = _found(session, tenant, agent_id)
    check_version(agent.version)
    changes = routing.refuse_nulls(patch, clearable=frozenset({"manager_email"}))
    # Queues before the agent's own row (see queues.repository.lock_queues): the queues they work and will.
    queues.lock_queues(session, tenant, set(repository.queue_ids_of(session, tenant, {agent.id})[agent.id])
                       | set(patch.get("queue_ids") or []))
    changed = False
    if "queue_ids" in changes:
        wanted = _known_queues(session, tenant, changes.pop("queue_ids"))
        if wanted != repository.queue_ids_of(session, tenant, {agent.id})[agent.id]:
            repository.replace_queues(session, agent, wanted)
            changed = True
    if "skills" in changes:
        changes["skills"] = list(dict.fromkeys(changes["skills"]))
    if "languages" in changes:
        changes["languages"] = _languages(changes["languages"])
    for name, value in changes.items():
        if getattr(agent, name) != value:
            setattr(agent, name, value)
            changed = True
    if changed:
        agent.version += 1
        agent.updated_at = utcnow()
        session.flush()
        _hand_out_for(session, agent, now=agent.updated_at)
    return shown(session, agent)


def delete_agent(session: Session, tenant: str, agent_id: uuid.UUID, *, check_version: Callable[[int], None]) -> None:
    """The agent goes; their open tickets go back to their queues, which hand them to someone else."""
    agent = _found(session, tenant, agent_id)
    check_version(agent.version)
    queues.lock_queues(session, tenant, set(repository.queue_ids_of(session, tenant, {agent.id})[agent.id]))
    held = repository.open_tickets_of(session, tenant, agent.id)
    repository.remove(session, agent)
    now = utcnow()
    for ticket in held:
        tickets.apply_change(session, ticket, {"assignee_id": {"old": agent.id, "new": None}}, actor=ACTOR, now=now)


def manager_email_of(session: Session, tenant: str, agent_id: uuid.UUID) -> str | None:
    """Who an escalation of this agent's ticket notifies (None: no such agent, or no manager known)."""
    agent = repository.get_agent(session, tenant, agent_id)
    return agent.manager_email if agent is not None else None


# --- assignment ---------------------------------------------------------------------------------


def ticket_changed(session: Session, ticket: Ticket, diff: dict[str, Any], *, now: datetime) -> None:
    """A ticket changed: a new or re-queued one may be assigned, a resolved one frees its agent for the next.

    - The ticket moved to another queue whose agents its assignee is not among: it goes to one of them (or
      waits there unassigned).
    - The ticket is open, in a queue and without an assignee: an agent of the queue takes it if one can.
    - The ticket was resolved or closed, or lost its assignee: that agent frees up and the oldest waiting
      tickets of their queues are handed out.
    """
    freed: set[uuid.UUID] = set()
    old_assignee = _uuid((diff.get("assignee_id") or {}).get("old"))
    if old_assignee is not None and old_assignee != ticket.assignee_id:
        freed.add(old_assignee)
    if ticket.status in DONE_STATUSES:
        old_status = (diff.get("status") or {}).get("old")
        if ticket.assignee_id is not None and old_status is not None and old_status not in DONE_STATUSES:
            freed.add(ticket.assignee_id)
    elif ticket.queue_id is not None and ticket.merged_into_id is None:
        moved = "queue_id" in diff and _uuid(diff["queue_id"].get("old")) != ticket.queue_id
        if ticket.assignee_id is None:
            assign(session, ticket, now=now)
        elif moved and not _works(session, ticket.tenant_id, ticket.assignee_id, ticket.queue_id):
            assign(session, ticket, now=now)
    for agent_id in sorted(freed):
        agent = repository.get_agent(session, ticket.tenant_id, agent_id)
        if agent is not None:
            _hand_out_for(session, agent, now=now)


def assign(session: Session, ticket: Ticket, *, now: datetime) -> uuid.UUID | None:
    """Give the ticket to an agent of its queue (``rules.choose``); the agent chosen, or None: it waits.

    The queue's row and then its agents' rows (in id order) are locked while loads are counted and the agent
    chosen, so two transactions assigning at once cannot both see the same free capacity (PostgreSQL)."""
    if ticket.queue_id is None:
        return None
    queue = queues.get_queue(session, ticket.tenant_id, ticket.queue_id, lock=True)
    if queue is None:
        return None
    return _assign_locked(session, queue, ticket, now=now)


def hand_out_queue(session: Session, tenant: str, queue_id: uuid.UUID, *, now: datetime) -> int:
    """Hand the queue's oldest waiting tickets to its agents until nobody can take one; how many went."""
    queue = queues.get_queue(session, tenant, queue_id, lock=True)
    if queue is None:
        return 0
    given = 0
    for ticket in queues.waiting_tickets(session, tenant, queue_id, limit=HAND_OUT_BATCH):
        # Nobody may take this one (its language) while someone takes the next: each is tried.
        if _assign_locked(session, queue, ticket, now=now) is not None:
            given += 1
    return given


def hand_out_waiting(sessions: sessionmaker[Session], settings: Settings) -> int:
    """The backstop job: every queue with waiting tickets hands them out, each queue in its own transaction."""
    with sessions() as session:
        waiting = queues.tenants_with_waiting(session)
    given = 0
    for tenant, queue_id in waiting:
        with unit_of_work(sessions) as session:
            given += hand_out_queue(session, tenant, queue_id, now=utcnow())
    return given


def _assign_locked(session: Session, queue: Queue, ticket: Ticket, *, now: datetime) -> uuid.UUID | None:
    agents = repository.agents_of_queue(session, queue.tenant_id, queue.id, lock=True)
    loads = repository.loads(session, queue.tenant_id, {a.id for a in agents})
    chosen = rules.choose(
        [rules.Candidate(id=a.id, available=a.available, skills=frozenset(a.skills), languages=tuple(a.languages),
                         capacity=a.capacity, load=loads.get(a.id, 0), last_assigned_at=a.last_assigned_at)
         for a in agents if a.id != ticket.assignee_id],
        strategy=queue.assignment, required_skills=queue.required_skills, language=ticket.language,
        last_agent_id=queue.last_agent_id)
    if chosen is None and ticket.assignee_id is None:
        return None
    queue.last_agent_id = chosen if chosen is not None else queue.last_agent_id
    for agent in agents:
        if agent.id == chosen:
            agent.last_assigned_at = now
    tickets.apply_change(session, ticket, {"assignee_id": {"old": ticket.assignee_id, "new": chosen}},
                         actor=ACTOR, now=now)
    return chosen


def _hand_out_for(session: Session, agent: Agent, *, now: datetime) -> None:
    """The agent may take more now: their queues (in routing order) hand out what waits."""
    if not agent.available:
        return
    mine = repository.queue_ids_of(session, agent.tenant_id, {agent.id})[agent.id]
    queues.lock_queues(session, agent.tenant_id, set(mine))
    for queue in queues.in_routing_order(session, agent.tenant_id):
        if queue.id in mine:
            hand_out_queue(session, agent.tenant_id, queue.id, now=now)


def _works(session: Session, tenant: str, agent_id: uuid.UUID, queue_id: uuid.UUID) -> bool:
    return queue_id in repository.queue_ids_of(session, tenant, {agent_id})[agent_id]


def _known_queues(session: Session, tenant: str, queue_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    wanted = list(dict.fromkeys(queue_ids))
    known = queues.existing_ids(session, tenant, set(wanted))
    for index, queue_id in enumerate(wanted):
        if queue_id not in known:
            raise InvalidInput.on(f"queue_ids[{index}]", f"no queue {queue_id}")
    return sorted(wanted)


def _languages(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tag.lower() for tag in tags))


def _uuid(value: object) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def _found(session: Session, tenant: str, agent_id: uuid.UUID) -> Agent:
    agent = repository.get_agent(session, tenant, agent_id)
    if agent is None:
        raise NotFound(f"No agent {agent_id}.")
    return agent
