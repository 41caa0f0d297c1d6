"""Every query of audiences and their members, and the scan of the view replica a full evaluation reads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from services.campaign.audiences.tables import Audience, AudienceMember
from services.campaign.customers.tables import CustomerReplica
from shared.bulk import write_rows
from shared.http import PageRequest

SCAN_BATCH = 2000


def get_audience(session: Session, tenant: str, audience_id: uuid.UUID) -> Audience | None:
    return session.scalar(select(Audience).where(Audience.tenant_id == tenant, Audience.id == audience_id))


def list_audiences(session: Session, tenant: str, page: PageRequest) -> list[Audience]:
    """One page in id order, plus one row more if there is a next page."""
    query = select(Audience).where(Audience.tenant_id == tenant)
    if page.after is not None:
        query = query.where(Audience.id > page.after)
    return list(session.scalars(query.order_by(Audience.id).limit(page.limit + 1)))


def tenant_audiences(session: Session, tenant: str) -> list[Audience]:
    return list(session.scalars(select(Audience).where(Audience.tenant_id == tenant).order_by(Audience.id)))


def clock_dependent_audiences(session: Session) -> list[Audience]:
    return list(session.scalars(select(Audience).where(Audience.clock_dependent.is_(True)).order_by(Audience.id)))


def memberships_of(session: Session, customer_id: uuid.UUID) -> set[uuid.UUID]:
    """The audiences that hold the customer now."""
    return set(session.scalars(select(AudienceMember.audience_id).where(AudienceMember.customer_id == customer_id)))


def join(session: Session, tenant: str, customer_id: uuid.UUID, audience_ids: set[uuid.UUID], now: datetime) -> None:
    if audience_ids:
        session.execute(AudienceMember.__table__.insert(), [  # type: ignore[attr-defined]
            {"audience_id": a, "customer_id": customer_id, "tenant_id": tenant, "since": now} for a in sorted(audience_ids)])


def leave(session: Session, customer_id: uuid.UUID, audience_ids: set[uuid.UUID]) -> None:
    if audience_ids:
        session.execute(delete(AudienceMember).where(AudienceMember.customer_id == customer_id,
                                                     AudienceMember.audience_id.in_(audience_ids)))


def leave_all(session: Session, customer_id: uuid.UUID) -> None:
    session.execute(delete(AudienceMember).where(AudienceMember.customer_id == customer_id))


def replace_members(session: Session, tenant: str, audience_id: uuid.UUID, customer_ids: list[uuid.UUID],
                    now: datetime) -> None:
    """The audience holds exactly these customers now; the ones it kept keep their ``since``."""
    kept: dict[uuid.UUID, datetime] = {customer_id: since for customer_id, since in session.execute(
        select(AudienceMember.customer_id, AudienceMember.since).where(AudienceMember.audience_id == audience_id))}
    session.execute(delete(AudienceMember).where(AudienceMember.audience_id == audience_id))
    write_rows(session, AudienceMember.__table__, [  # type: ignore[arg-type]
        {"audience_id": audience_id, "customer_id": c, "tenant_id": tenant, "since": kept.get(c, now)}
        for c in customer_ids])


def forget_audience(session: Session, audience_id: uuid.UUID) -> None:
    session.execute(delete(AudienceMember).where(AudienceMember.audience_id == audience_id))


def counted_sample(session: Session, audience_id: uuid.UUID, limit: int) -> tuple[int, list[uuid.UUID]]:
    """How many members the audience has and the first ``limit`` of them in customer id order, read in one
    statement: two would see two moments under PostgreSQL's read committed, a count of two beside a sample of
    one while the replica adds a member."""
    if limit <= 0:
        return int(session.scalar(select(func.count()).select_from(AudienceMember)
                                  .where(AudienceMember.audience_id == audience_id)) or 0), []
    rows = session.execute(select(AudienceMember.customer_id, func.count().over()).where(
        AudienceMember.audience_id == audience_id).order_by(AudienceMember.customer_id).limit(limit)).all()
    return (int(rows[0][1]) if rows else 0), [customer_id for customer_id, _ in rows]


def member_ids(session: Session, audience_id: uuid.UUID) -> list[uuid.UUID]:
    """The audience's members in customer id order."""
    return list(session.scalars(select(AudienceMember.customer_id).where(AudienceMember.audience_id == audience_id)
                                .order_by(AudienceMember.customer_id)))


def replica_views(session: Session, tenant: str) -> Iterator[tuple[uuid.UUID, dict[str, Any]]]:
    """Every replicated customer of the tenant with its view, streamed."""
    query = (select(CustomerReplica.customer_id, CustomerReplica.view).where(CustomerReplica.tenant_id == tenant)
             .execution_options(yield_per=SCAN_BATCH))
    for customer_id, view in session.execute(query):
        yield customer_id, view


def replicas(session: Session, tenant: str, ids: set[uuid.UUID]) -> dict[uuid.UUID, CustomerReplica]:
    """The replicated customers among these (a preview's sample, shown as every record embeds its customer)."""
    if not ids:
        return {}
    rows = session.scalars(select(CustomerReplica).where(CustomerReplica.tenant_id == tenant,
                                                         CustomerReplica.customer_id.in_(ids)))
    return {row.customer_id: row for row in rows}


def known_customers(session: Session, tenant: str, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these customers the replica knows (a static list names only customers that exist)."""
    found: set[uuid.UUID] = set()
    ordered = sorted(ids)
    for start in range(0, len(ordered), 1000):
        found.update(session.scalars(select(CustomerReplica.customer_id).where(
            CustomerReplica.tenant_id == tenant, CustomerReplica.customer_id.in_(ordered[start:start + 1000]))))
    return found
