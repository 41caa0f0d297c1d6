"""Queries of classification: a tenant's settings, the customers to evaluate, the deals their sales
figures come from, and the distribution."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, or_, select, text, union
from sqlalchemy.orm import Session

from services.customer.classification import rules
from services.customer.classification.tables import ClassificationSettings, CustomerDeal
from services.customer.customers.repository import all_customers, live_pages
from services.customer.customers.tables import Customer
from shared.db import utcnow

EVALUATION_BATCH = 5000


def settings_of(session: Session, tenant: str, *, lock: bool = False) -> ClassificationSettings | None:
    return session.get(ClassificationSettings, tenant, with_for_update=lock)


def settings_or_default(session: Session, tenant: str, *, lock: bool = False) -> ClassificationSettings:
    """The tenant's settings row, created with the defaults (no rules, Pareto tiers) if it has none."""
    settings = settings_of(session, tenant, lock=lock)
    if settings is None:
        settings = ClassificationSettings(tenant_id=tenant, rules=[], default_group=rules.DEFAULT_GROUP,
                                          tiers=rules.DEFAULT_TIERS, cutoffs=[None] * len(rules.DEFAULT_TIERS),
                                          currency=None, exchange_rates={}, version=1, evaluated_at=None,
                                          updated_at=utcnow())
        session.add(settings)
    return settings


def tenants_due_for_ranking(session: Session, ranked_before: datetime) -> list[str]:
    """Tenants with customers whose tiers were never ranked, or last ranked before the given time."""
    with_customers = select(Customer.tenant_id).where(Customer.deleted_at.is_(None)).distinct().subquery()
    rows = session.execute(
        select(with_customers.c.tenant_id)
        .outerjoin(ClassificationSettings, ClassificationSettings.tenant_id == with_customers.c.tenant_id)
        .where(or_(ClassificationSettings.evaluated_at.is_(None), ClassificationSettings.evaluated_at < ranked_before))
        .order_by(with_customers.c.tenant_id)
    ).scalars()
    return list(rows)


def rules_of(session: Session, tenant: str) -> dict[str, Any]:
    """What the rules need: the tenant's settings, or the defaults (no rules, Pareto tiers)."""
    settings = settings_of(session, tenant)
    if settings is None:
        return {"rules": [], "default_group": rules.DEFAULT_GROUP, "tiers": rules.DEFAULT_TIERS,
                "cutoffs": [None] * len(rules.DEFAULT_TIERS), "currency": None, "exchange_rates": {},
                "value_basis": rules.DEFAULT_VALUE_BASIS}
    return {"rules": settings.rules, "default_group": settings.default_group, "tiers": settings.tiers,
            "cutoffs": settings.cutoffs, "currency": settings.currency, "exchange_rates": settings.exchange_rates,
            "value_basis": settings.value_basis}


def sales_of(customer: Customer) -> dict[str, Any]:
    """The customer's sales figures as the rules take them."""
    return {"won_deals": customer.won_deals, "won_value": customer.won_value, "last_won_at": customer.last_won_at,
            "paid_revenue": customer.paid_revenue}


def population(session: Session, tenant: str) -> list[Any]:
    """How many live customers, and the sum and sum of squares of their values: moves when any value does."""
    live = (Customer.tenant_id == tenant, Customer.deleted_at.is_(None), Customer.merged_into.is_(None))
    count, total, squares = session.execute(select(
        func.count(), func.sum(Customer.value_amount), func.sum(Customer.value_amount * Customer.value_amount)
    ).where(*live)).one()
    return [int(count), format(Decimal(str(total or 0)), "f"), format(Decimal(str(squares or 0)), "f")]


def values_to_rank(session: Session, tenant: str) -> Iterator[list[tuple[str, dict[str, Any], dict[str, Any]]]]:
    """Each live customer's id, lifetime value (as the rules take it) and sales figures, a batch at a time.

    Only the columns value needs: ranking a million customers reads no profiles for it.
    """
    for rows in live_pages(session, tenant, Customer.lifetime_value_amount, Customer.lifetime_value_currency,
                           Customer.won_value, Customer.paid_revenue, batch_size=EVALUATION_BATCH):
        yield [(str(customer_id), {"lifetime_value": None if currency is None else
                                   {"amount": amount, "currency": currency}},
                {"won_deals": 0, "won_value": won or [], "last_won_at": None, "paid_revenue": paid or []})
               for customer_id, amount, currency, won, paid in rows]


def customers_to_evaluate(session: Session, tenant: str) -> Iterator[list[Customer]]:
    """The tenant's live customers in id order, a batch at a time (memory stays bounded)."""
    return all_customers(session, tenant, EVALUATION_BATCH)


_CLASSIFY = Customer.__table__.update().where(
    Customer.__table__.c.tenant_id == bindparam("tenant"), Customer.__table__.c.id == bindparam("customer_id")
).values(customer_group=bindparam("group"), value_tier=bindparam("tier"), value_amount=bindparam("value"))


def set_classifications(session: Session, tenant: str, changes: list[tuple[uuid.UUID, dict[str, Any]]]) -> None:
    """Group, tier and value of many customers in one statement run for each (not the ORM's per-row
    bookkeeping, which searched the whole session for every row and made ranking quadratic)."""
    if changes:
        session.execute(_CLASSIFY, [
            {"tenant": tenant, "customer_id": customer_id, "group": c["customer_group"], "tier": c["value_tier"],
             "value": c["value_amount"]} for customer_id, c in changes])


# --- deals ----------------------------------------------------------------------------------------


def save_deal(session: Session, tenant: str, deal: rules.Deal) -> set[uuid.UUID] | None:
    """Keep the newest report of a deal; the customers whose figures it touches, or None if it was stale."""
    row = session.get(CustomerDeal, deal.opportunity_id)
    if row is not None and row.sequence >= deal.sequence:
        return None  # a redelivery, or overtaken by a newer report
    if row is None:
        # Status and the rest are set below: a first report finds nothing known about the deal.
        row = CustomerDeal(opportunity_id=deal.opportunity_id, tenant_id=tenant, customer_id=deal.customer_id,
                           won_at=None)
        session.add(row)
    touched = {row.customer_id, deal.customer_id}
    row.won_at = rules.won_at(deal, row.status, row.won_at)
    row.customer_id, row.status, row.amount, row.currency, row.sequence = (
        deal.customer_id, deal.status, deal.amount, deal.currency, deal.sequence)
    return touched


def deals_of(session: Session, tenant: str, customer_id: uuid.UUID) -> list[tuple[str, Decimal, str, Any]]:
    session.flush()  # a deal this transaction just re-pointed must be counted where it is now
    rows = session.execute(select(CustomerDeal.status, CustomerDeal.amount, CustomerDeal.currency, CustomerDeal.won_at)
                           .where(CustomerDeal.tenant_id == tenant, CustomerDeal.customer_id == customer_id)).all()
    return [(status, amount, currency, won) for status, amount, currency, won in rows]


def currencies_in_use(session: Session, tenant: str) -> list[str]:
    """Every currency a value is held in: lifetime values, won deals and the paid revenue sales reported."""
    lifetime = select(Customer.lifetime_value_currency).where(
        Customer.tenant_id == tenant, Customer.lifetime_value_currency.is_not(None), Customer.deleted_at.is_(None))
    deals = select(CustomerDeal.currency).where(CustomerDeal.tenant_id == tenant, CustomerDeal.status == "won")
    return sorted(set(session.scalars(union(lifetime, deals))) | _paid_revenue_currencies(session, tenant))


# The currencies inside each customer's reported list, unnested by the database (the JSON functions differ).
_PAID_REVENUE_CURRENCIES = {
    "postgresql": "SELECT DISTINCT e ->> 'currency' FROM customers AS c, jsonb_array_elements(c.paid_revenue) AS e",
    "sqlite": "SELECT DISTINCT json_extract(e.value, '$.currency') FROM customers AS c, json_each(c.paid_revenue) AS e",
}


def _paid_revenue_currencies(session: Session, tenant: str) -> set[str]:
    query = _PAID_REVENUE_CURRENCIES[session.get_bind().dialect.name] + (
        " WHERE c.tenant_id = :tenant AND c.deleted_at IS NULL AND c.paid_revenue_sequence IS NOT NULL")
    return {str(currency) for (currency,) in session.execute(text(query), {"tenant": tenant}) if currency}


def distribution(session: Session, tenant: str) -> list[dict[str, Any]]:
    """How many customers, and how much value, per group and tier."""
    rows = session.execute(
        select(Customer.customer_group, Customer.value_tier, func.count(), func.sum(Customer.value_amount))
        .where(Customer.tenant_id == tenant, Customer.deleted_at.is_(None), Customer.merged_into.is_(None))
        .group_by(Customer.customer_group, Customer.value_tier)
        .order_by(Customer.customer_group, Customer.value_tier)
    ).all()
    return [{"customer_group": g, "value_tier": t, "customers": n, "value": format(Decimal(v or 0).normalize(), "f")} for g, t, n, v in rows]
