"""Every query of the opportunities table and of their stage history."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.sales.opportunities.tables import Opportunity, StageChange
from shared.http import PageRequest

FILTERS = ("customer_id", "stage", "status", "owner", "team", "forecast_category")


def get_opportunity(session: Session, tenant: str, opportunity_id: uuid.UUID, *,
                    lock: bool = False) -> Opportunity | None:
    """The deal; ``lock``: its row locked for an update until the transaction ends (PostgreSQL; SQLite's
    writers take the one database lock)."""
    query = select(Opportunity).where(Opportunity.tenant_id == tenant, Opportunity.id == opportunity_id)
    return session.scalar(query.with_for_update() if lock else query)


def list_opportunities(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Opportunity]:
    """One page in id order, plus one row more if there is a next page."""
    query = select(Opportunity).where(Opportunity.tenant_id == tenant)
    for name in FILTERS:
        if filters.get(name) is not None:
            query = query.where(getattr(Opportunity, name) == filters[name])
    if page.after is not None:
        query = query.where(Opportunity.id > page.after)
    return list(session.scalars(query.order_by(Opportunity.id).limit(page.limit + 1)))


def opportunities_of(session: Session, tenant: str, customer_id: uuid.UUID) -> list[Opportunity]:
    return list(session.scalars(select(Opportunity).where(
        Opportunity.tenant_id == tenant, Opportunity.customer_id == customer_id).order_by(Opportunity.id)))


def stage_changes(session: Session, tenant: str, opportunity_id: uuid.UUID, page: PageRequest) -> list[StageChange]:
    """One page of a deal's stage history, oldest first, plus one row more if there is a next page."""
    query = select(StageChange).where(StageChange.tenant_id == tenant, StageChange.opportunity_id == opportunity_id)
    if page.after is not None:
        query = query.where(StageChange.id > page.after)
    return list(session.scalars(query.order_by(StageChange.id).limit(page.limit + 1)))
