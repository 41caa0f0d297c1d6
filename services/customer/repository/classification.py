"""Queries of classification: a tenant's settings, the customers to evaluate and the distribution."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.customer.domain import classification as domain
from services.customer.repository.customers import all_customers
from services.customer.tables import Customer
from services.customer.tables.customers import ClassificationSettings

EVALUATION_BATCH = 5000


def settings_of(session: Session, tenant: str) -> ClassificationSettings | None:
    return session.get(ClassificationSettings, tenant)


def rules_of(session: Session, tenant: str) -> dict[str, Any]:
    """What the rules need: the tenant's settings, or the defaults (no rules, Pareto tiers)."""
    settings = settings_of(session, tenant)
    if settings is None:
        return {"rules": [], "default_group": domain.DEFAULT_GROUP, "tiers": domain.DEFAULT_TIERS,
                "cutoffs": [None] * len(domain.DEFAULT_TIERS)}
    return {"rules": settings.rules, "default_group": settings.default_group, "tiers": settings.tiers,
            "cutoffs": settings.cutoffs}


def customers_to_evaluate(session: Session, tenant: str) -> Iterator[list[Customer]]:
    """The tenant's live customers in id order, a batch at a time (memory stays bounded)."""
    return all_customers(session, tenant, EVALUATION_BATCH)


def set_classification(session: Session, tenant: str, customer_id: uuid.UUID, group: str, tier: str) -> None:
    session.execute(update(Customer).where(Customer.tenant_id == tenant, Customer.id == customer_id).values(
        customer_group=group, value_tier=tier))


def distribution(session: Session, tenant: str) -> list[dict[str, Any]]:
    """How many customers, and how much value, per group and tier."""
    rows = session.execute(
        select(Customer.customer_group, Customer.value_tier, func.count(), func.sum(Customer.lifetime_value_amount))
        .where(Customer.tenant_id == tenant, Customer.deleted_at.is_(None), Customer.merged_into.is_(None))
        .group_by(Customer.customer_group, Customer.value_tier)
        .order_by(Customer.customer_group, Customer.value_tier)
    ).all()
    return [{"customer_group": g, "value_tier": t, "customers": n, "value": format(Decimal(v or 0).normalize(), "f")} for g, t, n, v in rows]
