"""Every query of calendars, SLA policies and tickets' SLA rows."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.service_desk.sla.tables import SlaCalendar, SlaPolicy, TicketSlaRow
from shared.db import dialect_insert
from shared.http import PageRequest


def get_calendar(session: Session, tenant: str, calendar_id: uuid.UUID) -> SlaCalendar | None:
    return session.scalar(select(SlaCalendar).where(SlaCalendar.tenant_id == tenant, SlaCalendar.id == calendar_id))


def list_calendars(session: Session, tenant: str, page: PageRequest) -> list[SlaCalendar]:
    query = select(SlaCalendar).where(SlaCalendar.tenant_id == tenant)
    if page.after is not None:
        query = query.where(SlaCalendar.id > page.after)
    return list(session.scalars(query.order_by(SlaCalendar.id).limit(page.limit + 1)))


def policies_using(session: Session, tenant: str, calendar_id: uuid.UUID) -> list[str]:
    return list(session.scalars(select(SlaPolicy.name).where(
        SlaPolicy.tenant_id == tenant, SlaPolicy.calendar_id == calendar_id)))


def get_policy(session: Session, tenant: str, policy_id: uuid.UUID) -> SlaPolicy | None:
    return session.scalar(select(SlaPolicy).where(SlaPolicy.tenant_id == tenant, SlaPolicy.id == policy_id))


def list_policies(session: Session, tenant: str, page: PageRequest) -> list[SlaPolicy]:
    query = select(SlaPolicy).where(SlaPolicy.tenant_id == tenant)
    if page.after is not None:
        query = query.where(SlaPolicy.id > page.after)
    return list(session.scalars(query.order_by(SlaPolicy.id).limit(page.limit + 1)))


def policies_in_order(session: Session, tenant: str) -> list[tuple[SlaPolicy, SlaCalendar | None]]:
    """The tenant's policies in matching order (lowest position first, then id), each with its calendar, read
    in the same query since the chosen one's is needed next (None: not reachable through the API, as a
    calendar in use cannot be deleted)."""
    rows = session.execute(select(SlaPolicy, SlaCalendar).outerjoin(SlaCalendar, (
        SlaCalendar.tenant_id == SlaPolicy.tenant_id) & (SlaCalendar.id == SlaPolicy.calendar_id))
        .where(SlaPolicy.tenant_id == tenant).order_by(SlaPolicy.position, SlaPolicy.id))
    return [(policy, calendar) for policy, calendar in rows]


def get_ticket_sla(session: Session, ticket_id: uuid.UUID) -> TicketSlaRow | None:
    return session.get(TicketSlaRow, ticket_id)


def lock_ticket_sla(session: Session, ticket_id: uuid.UUID) -> TicketSlaRow | None:
    """The ticket's SLA row locked to the end of the transaction (PostgreSQL; SQLite has one writer anyway):
    two transactions recomputing one ticket's clock (a reply and the replica following a tier change, say)
    take turns, the second reading what the first wrote."""
    return session.get(TicketSlaRow, ticket_id, with_for_update=True)


def create_ticket_sla(session: Session, ticket_id: uuid.UUID, tenant: str, policy_id: uuid.UUID,
                      now: datetime) -> TicketSlaRow:
    """The ticket's first SLA row, locked: inserted unless another transaction did so first (then that one's
    row, once it commits), never a duplicate key."""
    statement = dialect_insert(session, TicketSlaRow).values(
        ticket_id=ticket_id, tenant_id=tenant, policy_id=policy_id, state="ok", pending=[], warned=[], breached=[],
        next_check_at=None, updated_at=now)
    session.execute(statement.on_conflict_do_nothing(index_elements=["ticket_id"]))
    row = session.get(TicketSlaRow, ticket_id, with_for_update=True, populate_existing=True)
    if row is None:  # not reachable: the row was just written or is another transaction's, committed
        raise LookupError(f"ticket {ticket_id} has no SLA row after inserting it")
    return row


def drop_ticket_sla(session: Session, ticket_id: uuid.UUID) -> None:
    session.execute(delete(TicketSlaRow).where(TicketSlaRow.ticket_id == ticket_id))


def due_for_check(session: Session, now: datetime, limit: int) -> list[TicketSlaRow]:
    """Rows with a warning or breach due by ``now``, earliest first, through the ``next_check_at`` index;
    locked, skipping rows another run holds (PostgreSQL; SQLite runs one writer at a time anyway)."""
    return list(session.scalars(
        select(TicketSlaRow).where(TicketSlaRow.next_check_at <= now).order_by(TicketSlaRow.next_check_at)
        .limit(limit).with_for_update(skip_locked=True)))


def manager_email(session: Session, tenant: str, agent_id: uuid.UUID) -> str | None:
    """The e-mail of the agent's manager, from the agents table."""
    # Imported here: the agents feature is built beside this one and its table may land after it.
    try:
        from services.service_desk.agents.tables import Agent
    except ImportError:
        return None
    return session.scalar(select(Agent.manager_email).where(Agent.tenant_id == tenant, Agent.id == agent_id))
