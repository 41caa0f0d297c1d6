"""Classification applied to the database, in the caller's transaction: one customer (on a write,
or when the sales service reports a deal of theirs), or every customer of a tenant.

The rules are in ``domain.classification``; this module loads what they need, writes
the group, tier and value columns and announces a changed group or tier
(``crm.customer.classified.v1``). Nothing here commits.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from services.customer import events
from services.customer.domain import classification as rules
from services.customer.repository import classification as repository
from services.customer.repository import customers as customers_repository
from services.customer.tables import Customer
from services.customer.tables.customers import ClassificationSettings
from shared.db import utcnow
from shared.settings import Settings


def classify_customer(db: Session, tenant: str, row: Customer, state: dict[str, Any]) -> None:
    """Group, tier and value of a customer about to hold ``state``; announced if the group or tier moved."""
    previous = {"customer_group": row.customer_group, "value_tier": row.value_tier}
    classification = rules.classify(state, repository.rules_of(db, tenant), repository.sales_of(row), utcnow())
    for name, value in classification.items():
        setattr(row, name, value)
    if rules.moved(previous, classification):
        events.customer_classified(db, tenant, str(row.id), classification, previous)


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
                events.customer_classified(db, tenant, str(customer.id), new,
                                           {"customer_group": old["customer_group"], "value_tier": old["value_tier"]})
                changed += 1
        db.expunge_all()
        repository.set_classifications(db, tenant, updates)
    settings = db.merge(settings)
    settings.cutoffs = cutoffs
    settings.evaluated_at = utcnow()
    settings.ranked_population = repository.population(db, tenant)
    return changed


def rank_due_tenants(sessions: sessionmaker[Session], settings: Settings) -> list[str]:
    """Rank again every tenant not ranked within the last interval (a periodic job); returns those ranked.

    A tenant whose population has not moved since its last ranking (same customers, same
    values) and whose groups do not depend on the clock is only marked as looked at: the
    ranking would come out the same, and at a million customers it costs minutes.
    Each tenant in a transaction of its own, with its settings row locked, so a rules
    change (``PUT /v1/classification``) waits for it rather than crossing it.
    """
    interval = timedelta(seconds=settings.classification_rank_seconds)
    with sessions() as db:
        due = repository.tenants_due_for_ranking(db, utcnow() - interval)
    ranked = []
    for tenant in due:
        with sessions.begin() as db:
            current = repository.settings_or_default(db, tenant, lock=True)
            if current.evaluated_at is not None and current.evaluated_at > utcnow() - interval:
                continue  # ranked meanwhile (on request)
            if (current.evaluated_at is not None and not rules.depends_on_time(current.rules)
                    and current.ranked_population == repository.population(db, tenant)):
                current.evaluated_at = utcnow()
                continue
            reclassify(db, tenant, current)
            ranked.append(tenant)
    return ranked
