"""Every query of satisfaction: requests and answers, and the one statement behind the service figures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import Row, String, exists, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.service_desk.customers.tables import CustomerReplica
from services.service_desk.satisfaction.rules import TicketFigures
from services.service_desk.satisfaction.tables import SatisfactionAnswer, SatisfactionRequest
from services.service_desk.tickets.tables import Ticket, TicketComment, TicketHistory
from shared.http import PageRequest


def ticket_by_id(session: Session, ticket_id: uuid.UUID) -> Ticket | None:
    """A ticket by its id alone: a signed link names no tenant, its signature proves the ticket's own."""
    return session.scalar(select(Ticket).where(Ticket.id == ticket_id))


def add_request(session: Session, request: SatisfactionRequest) -> None:
    """Record the request unless this resolution already has one (a repeated resolve must not ask twice)."""
    known = session.scalar(select(SatisfactionRequest.id).where(
        SatisfactionRequest.tenant_id == request.tenant_id, SatisfactionRequest.ticket_id == request.ticket_id,
        SatisfactionRequest.resolution == request.resolution))
    if known is None:
        session.add(request)


def pending_requests(session: Session, limit: int) -> list[Row[tuple[SatisfactionRequest, str, str]]]:
    """Requests not yet mailed, oldest first, with their ticket's subject and token; locked against another
    worker's run (skipped, not waited for)."""
    query = (select(SatisfactionRequest, Ticket.subject, Ticket.token)
             .join(Ticket, Ticket.id == SatisfactionRequest.ticket_id)
             .where(SatisfactionRequest.queued_at.is_(None))
             .order_by(SatisfactionRequest.requested_at, SatisfactionRequest.id).limit(limit)
             .with_for_update(skip_locked=True, of=SatisfactionRequest))
    return list(session.execute(query).all())


def is_answered(session: Session, tenant: str, ticket_id: uuid.UUID, resolution: int) -> bool:
    return session.scalar(select(exists().where(
        SatisfactionAnswer.tenant_id == tenant, SatisfactionAnswer.ticket_id == ticket_id,
        SatisfactionAnswer.resolution == resolution))) or False


def add_answer(session: Session, answer: SatisfactionAnswer) -> bool:
    """Insert the answer; False if another answer to the same resolution got in first (the unique index)."""
    try:
        with session.begin_nested():
            session.add(answer)
    except IntegrityError:
        return False
    return True


def answers_of(session: Session, tenant: str, ticket_id: uuid.UUID, page: PageRequest) -> list[SatisfactionAnswer]:
    query = select(SatisfactionAnswer).where(SatisfactionAnswer.tenant_id == tenant,
                                             SatisfactionAnswer.ticket_id == ticket_id)
    if page.after is not None:
        query = query.where(SatisfactionAnswer.id > page.after)
    return list(session.scalars(query.order_by(SatisfactionAnswer.id).limit(page.limit + 1)))


def ticket_figures(session: Session, tenant: str, start: datetime, end: datetime,
                   group_by: str) -> Iterator[TicketFigures]:
    """Each ticket created in [start, end) with its group, its first public agent reply, its resolution time,
    whether a target was breached and its ratings: one statement, the per-ticket facts joined set-based."""
    first_reply = (select(TicketComment.ticket_id, func.min(TicketComment.created_at).label("at"))
                   .where(TicketComment.tenant_id == tenant, TicketComment.visibility == "public",
                          TicketComment.author_type == "agent")
                   .group_by(TicketComment.ticket_id).subquery())
    breached = (select(TicketHistory.ticket_id)
                .where(TicketHistory.tenant_id == tenant, TicketHistory.action == "sla_breached")
                .group_by(TicketHistory.ticket_id).subquery())
    ratings = (select(SatisfactionAnswer.ticket_id, func.sum(SatisfactionAnswer.rating).label("total"),
                      func.count().label("count"))
               .where(SatisfactionAnswer.tenant_id == tenant)
               .group_by(SatisfactionAnswer.ticket_id).subquery())
    group = {
        # The ids as the ORM reads them (a uuid.UUID on either backend), made text below.
        "queue": Ticket.queue_id,
        "agent": Ticket.assignee_id,
        "tier": func.coalesce(CustomerReplica.view["profile"]["value_tier"].as_string(),
                              CustomerReplica.view["classification"]["value_tier"].as_string()),
    }.get(group_by, literal(None, String))  # by period: grouped by creation time below
    query = (select(group, Ticket.created_at, first_reply.c.at, Ticket.resolved_at,
                    breached.c.ticket_id.is_not(None), ratings.c.total, ratings.c.count)
             .select_from(Ticket)
             .outerjoin(first_reply, first_reply.c.ticket_id == Ticket.id)
             .outerjoin(breached, breached.c.ticket_id == Ticket.id)
             .outerjoin(ratings, ratings.c.ticket_id == Ticket.id)
             .where(Ticket.tenant_id == tenant, Ticket.created_at >= start, Ticket.created_at < end,
                    Ticket.merged_into_id.is_(None)))
    if group_by == "tier":
        query = query.outerjoin(CustomerReplica, (CustomerReplica.tenant_id == Ticket.tenant_id)
                                & (CustomerReplica.customer_id == Ticket.customer_id))
    for key, created, first, resolved, was_breached, total, count in session.execute(query).yield_per(2000):
        yield TicketFigures(group=None if key is None else str(key), created_at=created, first_response_at=first,
                            resolved_at=resolved, breached=bool(was_breached), rating_sum=int(total or 0),
                            rating_count=int(count or 0))
