"""Every query of the queues feature: the queues, their routing order and the tickets waiting in them."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.service_desk.queues.tables import Queue
from services.service_desk.tickets.rules import DONE_STATUSES
from services.service_desk.tickets.tables import Ticket
from shared.http import PageRequest


def get_queue(session: Session, tenant: str, queue_id: uuid.UUID, *, lock: bool = False) -> Queue | None:
    """The queue; ``lock``: held until the transaction ends, so two assignments in one queue choose one
    after the other (PostgreSQL; SQLite has one writer at a time anyway), re-read as committed."""
    query = select(Queue).where(Queue.tenant_id == tenant, Queue.id == queue_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalar(query)


def named(session: Session, tenant: str, name: str) -> Queue | None:
    return session.scalar(select(Queue).where(Queue.tenant_id == tenant, Queue.name == name))


def existing_ids(session: Session, tenant: str, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    if not ids:
        return set()
    return set(session.scalars(select(Queue.id).where(Queue.tenant_id == tenant, Queue.id.in_(ids))))


def list_queues(session: Session, tenant: str, page: PageRequest) -> list[Queue]:
    query = select(Queue).where(Queue.tenant_id == tenant)
    if page.after is not None:
        query = query.where(Queue.id > page.after)
    return list(session.scalars(query.order_by(Queue.id).limit(page.limit + 1)))


def in_routing_order(session: Session, tenant: str) -> list[Queue]:
    return list(session.scalars(select(Queue).where(Queue.tenant_id == tenant).order_by(Queue.position, Queue.id)))


def waiting_counts(session: Session, tenant: str, queue_ids: set[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Open tickets without an assignee, per queue."""
    if not queue_ids:
        return {}
    rows = session.execute(
        select(Ticket.queue_id, func.count()).where(
            Ticket.tenant_id == tenant, Ticket.queue_id.in_(queue_ids), Ticket.assignee_id.is_(None),
            Ticket.status.not_in(DONE_STATUSES), Ticket.merged_into_id.is_(None))
        .group_by(Ticket.queue_id))
    return {queue_id: int(count) for queue_id, count in rows}


def holds_tickets(session: Session, tenant: str, queue_id: uuid.UUID) -> bool:
    """Whether a ticket that is not closed is in the queue (a resolved one may still reopen there)."""
    return session.scalar(select(Ticket.id).where(Ticket.tenant_id == tenant, Ticket.queue_id == queue_id,
                                                  Ticket.status != "closed").limit(1)) is not None


def waiting_tickets(session: Session, tenant: str, queue_id: uuid.UUID, *, limit: int) -> list[Ticket]:
    """The queue's oldest open tickets without an assignee, re-read as committed (another transaction may
    have just handed one out) and locked; one another transaction is changing right now is skipped (it
    assigns that ticket itself, and would otherwise wait for this one's queue while this one waits for it)."""
    return list(session.scalars(
        select(Ticket).where(Ticket.tenant_id == tenant, Ticket.queue_id == queue_id, Ticket.assignee_id.is_(None),
                             Ticket.status.not_in(DONE_STATUSES), Ticket.merged_into_id.is_(None))
        .order_by(Ticket.created_at, Ticket.id).limit(limit)
        .with_for_update(skip_locked=True).execution_options(populate_existing=True)))


def lock_queues(session: Session, tenant: str, queue_ids: set[uuid.UUID]) -> None:
    """Lock these queues' rows in id order. Every transaction takes its queues before any agent row, and both
    in id order, so two never wait for each other crosswise (PostgreSQL)."""
    if queue_ids:
        session.execute(select(Queue.id).where(Queue.tenant_id == tenant, Queue.id.in_(queue_ids))
                        .order_by(Queue.id).with_for_update())


def tenants_with_waiting(session: Session) -> list[tuple[str, uuid.UUID]]:
    """Every (tenant, queue) with a ticket waiting for an assignee: what the backstop job hands out."""
    rows = session.execute(
        select(Ticket.tenant_id, Ticket.queue_id).where(
            Ticket.queue_id.is_not(None), Ticket.assignee_id.is_(None), Ticket.status.not_in(DONE_STATUSES),
            Ticket.merged_into_id.is_(None))
        .group_by(Ticket.tenant_id, Ticket.queue_id).order_by(Ticket.tenant_id, Ticket.queue_id))
    return [(tenant, queue_id) for tenant, queue_id in rows if queue_id is not None]
