"""Every query of satisfaction: requests and answers, and the one statement behind the service figures."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Row, String, case, cast, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.service_desk.customers.tables import CustomerReplica
from services.service_desk.satisfaction.rules import GroupRow
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


def _minutes(session: Session, later: Any, earlier: Any) -> Any:
    """Minutes from ``earlier`` to ``later``, in the database's own arithmetic of times."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 60.0
    return (func.julianday(later) - func.julianday(earlier)) * 1440.0


def _period(session: Session, at: Any, period: str) -> Any:
    """The first day (UTC) of the day, ISO week (Monday) or month ``at`` falls in, as text YYYY-MM-DD."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.date_trunc(period, func.timezone("UTC", at)), "YYYY-MM-DD")
    if period == "day":
        return func.date(at)
    if period == "week":
        # strftime %w: 0 is Sunday; back to the Monday.
        return func.date(at, "-" + cast((cast(func.strftime("%w", at), Integer) + 6) % 7, String) + " days")
    return func.strftime("%Y-%m-01", at)


def service_figures(session: Session, tenant: str, start: datetime, end: datetime, group_by: str,
                    period: str) -> list[GroupRow]:
    """Per group, for the tickets created in [start, end): counts, sums and averages, and the medians of the
    first-response and resolution minutes; all of it computed by the database, set-based."""
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
    group: Any = {
        "queue": Ticket.queue_id,
        "agent": Ticket.assignee_id,
        "tier": func.coalesce(CustomerReplica.view["profile"]["value_tier"].as_string(),
                              CustomerReplica.view["classification"]["value_tier"].as_string()),
        "period": _period(session, Ticket.created_at, period),
    }[group_by]
    per_ticket = (select(group.label("grp"),
                         _minutes(session, first_reply.c.at, Ticket.created_at).label("first"),
                         _minutes(session, Ticket.resolved_at, Ticket.created_at).label("resolved"),
                         case((breached.c.ticket_id.is_(None), 0), else_=1).label("breached"),
                         func.coalesce(ratings.c.total, 0).label("rating_sum"),
                         func.coalesce(ratings.c.count, 0).label("rating_count"))
                  .select_from(Ticket)
                  .outerjoin(first_reply, first_reply.c.ticket_id == Ticket.id)
                  .outerjoin(breached, breached.c.ticket_id == Ticket.id)
                  .outerjoin(ratings, ratings.c.ticket_id == Ticket.id)
                  .where(Ticket.tenant_id == tenant, Ticket.created_at >= start, Ticket.created_at < end,
                         Ticket.merged_into_id.is_(None)))
    if group_by == "tier":
        per_ticket = per_ticket.outerjoin(CustomerReplica, (CustomerReplica.tenant_id == Ticket.tenant_id)
                                          & (CustomerReplica.customer_id == Ticket.customer_id))
    # Computed once, read three times (the totals and two medians): materialized, not inlined thrice.
    per = per_ticket.cte("per_ticket").prefix_with("MATERIALIZED")
    totals = select(
        per.c.grp, func.count().label("tickets"), func.sum(per.c.breached).label("breached"),
        func.sum(per.c.rating_sum).label("rating_sum"), func.sum(per.c.rating_count).label("rating_count"),
        func.avg(per.c.first).label("first_average"), func.count(per.c.first).label("first_count"),
        func.avg(per.c.resolved).label("resolved_average"), func.count(per.c.resolved).label("resolved_count"),
    ).group_by(per.c.grp).subquery("totals")
    first, resolved = _median(per, per.c.first, "first_median"), _median(per, per.c.resolved, "resolved_median")
    rows = session.execute(
        select(totals, first.c.value, resolved.c.value).select_from(totals)
        .outerjoin(first, totals.c.grp.is_not_distinct_from(first.c.grp))
        .outerjoin(resolved, totals.c.grp.is_not_distinct_from(resolved.c.grp)))
    return [GroupRow(group=_text(key), tickets=int(count), breached=int(breached_count or 0),
                     rating_sum=int(rating_sum or 0), rating_count=int(rating_count or 0),
                     first_average=_float(first_avg), first_median=_float(first_median), first_count=int(first_count),
                     resolved_average=_float(resolved_avg), resolved_median=_float(resolved_median),
                     resolved_count=int(resolved_count))
            for key, count, breached_count, rating_sum, rating_count, first_avg, first_count, resolved_avg,
            resolved_count, first_median, resolved_median in rows]


def _median(per: Any, measure: Any, name: str) -> Any:
    """Each group's median of ``measure``: the middle row (or the mean of the middle two) by window ranks."""
    ranked = (select(per.c.grp, measure.label("value"),
                     func.row_number().over(partition_by=per.c.grp, order_by=measure).label("rank"),
                     func.count(measure).over(partition_by=per.c.grp).label("size"))
              .where(measure.is_not(None)).subquery())
    middle = (ranked.c.rank == (ranked.c.size + 1) // 2) | (ranked.c.rank == (ranked.c.size + 2) // 2)
    return select(ranked.c.grp, func.avg(ranked.c.value).label("value")).where(middle).group_by(
        ranked.c.grp).subquery(name)


def _text(key: Any) -> str | None:
    return None if key is None else str(key)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
