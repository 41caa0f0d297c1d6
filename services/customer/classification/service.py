"""Classification applied to the database, in the caller's transaction: one customer (on a write,
or when the sales service reports a deal of theirs), every customer of a tenant, and the tenant's
rules.

The rules are in ``classification.rules``; this module loads what they need, writes
the group, tier and value columns and announces a changed group or tier
(``crm.customer.classified.v1``). Nothing here commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from services.customer import contract
from services.customer.classification import repository, rules
from services.customer.classification.tables import ClassificationSettings
from services.customer.customers import repository as customers_repository
from services.customer.customers.tables import Customer
from shared.db import utcnow
from shared.outbox import publish


@dataclass(frozen=True)
class Overview:
    """A tenant's classification as the API shows it: settings, distribution, and what a write changed."""

    current: dict[str, Any]
    version: int
    evaluated_at: datetime | None
    currencies_without_rate: list[str]
    distribution: list[dict[str, Any]]
    reclassified: int | None = None


def classify_customer(db: Session, tenant: str, row: Customer, state: dict[str, Any]) -> None:
    """Group, tier and value of a customer about to hold ``state``; announced if the group or tier moved."""
    previous = {"customer_group": row.customer_group, "value_tier": row.value_tier}
    classification = rules.classify(state, repository.rules_of(db, tenant), repository.sales_of(row), utcnow())
    for name, value in classification.items():
        setattr(row, name, value)
    if rules.moved(previous, classification):
        _announce(db, tenant, row.id, classification, previous)


def take_deal(db: Session, tenant: str, deal: rules.Deal) -> None:
    """A deal the sales service reported: the figures of each customer it belongs (or belonged) to, and their class.

    A merge re-points a deal: the customer it left and the one it joined both change.
    Deleted and erased customers keep no figures worth classifying; their deals wait in
    the table (a later unmerge or re-point may bring them back into count).
    """
    touched = repository.save_deal(db, tenant, deal)
    for customer_id in sorted(touched or ()):
        row = customers_repository.get_customer(db, tenant, customer_id)
        if row is None or row.erased_at is not None:
            continue
        figures = rules.sales_figures(repository.deals_of(db, tenant, customer_id))
        row.won_deals, row.won_value, row.last_won_at = figures["won_deals"], figures["won_value"], figures["last_won_at"]
        classify_customer(db, tenant, row, customers_repository.state_of(row))


def take_paid_revenue(db: Session, tenant: str, paid: rules.PaidRevenue) -> None:
    """The customer's paid revenue as the sales service reported it: kept if newer than the one known, and the
    customer classified again (its value moves when the tenant's value basis is paid revenue)."""
    row = customers_repository.get_customer(db, tenant, paid.customer_id)
    if row is None or row.erased_at is not None:
        return
    if row.paid_revenue_sequence is not None and row.paid_revenue_sequence >= paid.sequence:
        return  # a redelivery, or overtaken by a newer report
    row.paid_revenue, row.paid_revenue_sequence = paid.amounts, paid.sequence
    classify_customer(db, tenant, row, customers_repository.state_of(row))


def reclassify(db: Session, tenant: str, settings: ClassificationSettings) -> int:
    """Evaluate every customer; update and announce those whose group or tier changed; returns how many.

    Two passes: values first (tiers rank the whole population), then groups and tiers.
    A value that changed alone (new exchange rates) is written without an announcement.
    """
    db.flush()  # the settings row must be written before the batches below detach everything loaded
    current = repository.rules_of(db, tenant)
    now = utcnow()
    values: list[tuple[str, Any]] = []
    for batch in repository.values_to_rank(db, tenant):
        values += [(customer_id, rules.value_of(state, current, sales)) for customer_id, state, sales in batch]
    tiers, cutoffs = rules.assign_tiers(values, settings.tiers)
    changed = 0
    for batch in repository.customers_to_evaluate(db, tenant):
        updates = []
        for customer in batch:
            facts = rules.rule_facts(customers_repository.state_of(customer), current, repository.sales_of(customer), now)
            new = {"customer_group": rules.group_of(facts, settings.rules, settings.default_group),
                   "value_tier": tiers[str(customer.id)], "value_amount": facts["value"]}
            old = {"customer_group": customer.customer_group, "value_tier": customer.value_tier,
                   "value_amount": customer.value_amount}
            if new != old:
                updates.append((customer.id, new))
            if rules.moved(old, new):
                _announce(db, tenant, customer.id, new, old)
                changed += 1
        db.expunge_all()
        repository.set_classifications(db, tenant, updates)
    settings = db.merge(settings)
    settings.cutoffs = cutoffs
    settings.evaluated_at = utcnow()
    settings.ranked_population = repository.population(db, tenant)
    return changed


def _announce(db: Session, tenant: str, customer_id: uuid.UUID, classification: dict[str, Any],
              previous: dict[str, Any]) -> None:
    """``crm.customer.classified.v1``: the new group, tier and value, and the group and tier before."""
    publish(db, contract.CUSTOMER_CLASSIFIED, contract.CustomerClassified(
        customer_id=customer_id, customer_group=classification["customer_group"],
        value_tier=classification["value_tier"], value=classification["value_amount"],
        previous=contract.Classification(customer_group=previous["customer_group"],
                                         value_tier=previous["value_tier"])),
        subject=str(customer_id), tenant=tenant)


# --- the tenant's rules ---------------------------------------------------------------------------


def overview(db: Session, tenant: str, reclassified: int | None = None) -> Overview:
    settings = repository.settings_of(db, tenant)
    current = repository.rules_of(db, tenant)
    missing = rules.unconverted(repository.currencies_in_use(db, tenant), current) if current["currency"] else []
    return Overview(current=current, version=settings.version if settings else 0,
                    evaluated_at=settings.evaluated_at if settings else None, reclassified=reclassified,
                    currencies_without_rate=missing, distribution=repository.distribution(db, tenant))


def change_rules(db: Session, tenant: str, group_rules: list[dict[str, Any]], default_group: str,
                 tiers: list[dict[str, Any]] | None, currency: str | None, exchange_rates: dict[str, Decimal], *,
                 check_version: Callable[[int], None], value_basis: str = rules.DEFAULT_VALUE_BASIS) -> Overview:
    """New group rules, tiers and value currency for the tenant, announced; everyone is re-evaluated."""
    checked_rules = rules.check_rules(group_rules)
    checked_tiers = rules.check_tiers(tiers if tiers else rules.DEFAULT_TIERS)
    rates = rules.check_exchange_rates(currency, exchange_rates)
    settings = repository.settings_of(db, tenant, lock=True)
    if settings is None:
        settings = ClassificationSettings(tenant_id=tenant, version=0, evaluated_at=None)
        db.add(settings)
    else:
        check_version(settings.version)
    settings.rules, settings.default_group, settings.tiers = checked_rules, default_group, checked_tiers
    settings.cutoffs = [None] * len(checked_tiers)
    settings.currency, settings.exchange_rates, settings.value_basis = currency, rates, value_basis
    settings.version += 1
    settings.updated_at = utcnow()
    publish(db, contract.CLASSIFICATION_RULES_CHANGED, contract.ClassificationRulesChanged(
        rules=checked_rules, default_group=default_group, tiers=checked_tiers, currency=currency,
        exchange_rates=rates, value_basis=value_basis, version=settings.version), subject=contract.settings_subject(tenant), tenant=tenant)
    return overview(db, tenant, reclassify(db, tenant, settings))


def evaluate(db: Session, tenant: str) -> Overview:
    """Every customer evaluated again with the current rules (e.g. after recency moved on)."""
    settings = repository.settings_or_default(db, tenant, lock=True)
    return overview(db, tenant, reclassify(db, tenant, settings))
