"""Every query of the agents feature: agents, the queues they work, and their open tickets."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from services.service_desk.agents.tables import Agent, AgentQueue
from services.service_desk.tickets.rules import DONE_STATUSES
from services.service_desk.tickets.tables import Ticket
from shared.http import PageRequest


def get_agent(session: Session, tenant: str, agent_id: uuid.UUID) -> Agent | None:
    return session.scalar(select(Agent).where(Agent.tenant_id == tenant, Agent.id == agent_id))


def list_agents(session: Session, tenant: str, page: PageRequest, *, queue_id: uuid.UUID | None,
                available: bool | None) -> list[Agent]:
    query = select(Agent).where(Agent.tenant_id == tenant)
    if queue_id is not None:
        query = query.where(Agent.id.in_(select(AgentQueue.agent_id).where(AgentQueue.tenant_id == tenant,
                                                                           AgentQueue.queue_id == queue_id)))
    if available is not None:
        query = query.where(Agent.available.is_(available))
    if page.after is not None:
        query = query.where(Agent.id > page.after)
    return list(session.scalars(query.order_by(Agent.id).limit(page.limit + 1)))


def queue_ids_of(session: Session, tenant: str, agent_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
    found: dict[uuid.UUID, list[uuid.UUID]] = {agent_id: [] for agent_id in agent_ids}
    if agent_ids:
        for row in session.scalars(select(AgentQueue).where(AgentQueue.tenant_id == tenant,
                                                            AgentQueue.agent_id.in_(agent_ids))
                                   .order_by(AgentQueue.agent_id, AgentQueue.queue_id)):
            found[row.agent_id].append(row.queue_id)
    return found


def replace_queues(session: Session, agent: Agent, queue_ids: list[uuid.UUID]) -> None:
    session.execute(delete(AgentQueue).where(AgentQueue.agent_id == agent.id))
    session.add_all([AgentQueue(agent_id=agent.id, queue_id=q, tenant_id=agent.tenant_id) for q in queue_ids])
    session.flush()


def leave_queue(session: Session, tenant: str, queue_id: uuid.UUID) -> list[uuid.UUID]:
    """Nobody works the queue any more; the agents who did."""
    agents = list(session.scalars(select(AgentQueue.agent_id).where(AgentQueue.tenant_id == tenant,
                                                                    AgentQueue.queue_id == queue_id)))
    session.execute(delete(AgentQueue).where(AgentQueue.tenant_id == tenant, AgentQueue.queue_id == queue_id))
    return agents


def agents_of_queue(session: Session, tenant: str, queue_id: uuid.UUID, *, lock: bool = False) -> list[Agent]:
    """The queue's agents in id order; ``lock``: their rows held until the transaction ends, so no other
    transaction can give one of them a ticket while this one counts their load (always taken in id order,
    so two transactions never wait on each other crosswise)."""
    query = (select(Agent).where(Agent.tenant_id == tenant,
                                 Agent.id.in_(select(AgentQueue.agent_id).where(AgentQueue.tenant_id == tenant,
                                                                                AgentQueue.queue_id == queue_id)))
             .order_by(Agent.id))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return list(session.scalars(query))


def loads(session: Session, tenant: str, agent_ids: set[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Open (not resolved or closed) tickets per agent."""
    if not agent_ids:
        return {}
    rows = session.execute(
        select(Ticket.assignee_id, func.count()).where(
            Ticket.tenant_id == tenant, Ticket.assignee_id.in_(agent_ids), Ticket.status.not_in(DONE_STATUSES))
        .group_by(Ticket.assignee_id))
    return {agent_id: int(count) for agent_id, count in rows}


def open_tickets_of(session: Session, tenant: str, agent_id: uuid.UUID) -> list[Ticket]:
    return list(session.scalars(select(Ticket).where(Ticket.tenant_id == tenant, Ticket.assignee_id == agent_id,
                                                     Ticket.status.not_in(DONE_STATUSES))
                                .order_by(Ticket.created_at, Ticket.id)))


def remove(session: Session, agent: Agent) -> None:
    session.execute(delete(AgentQueue).where(AgentQueue.agent_id == agent.id))
    session.delete(agent)
    session.flush()
