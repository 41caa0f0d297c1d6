"""The periodic ranking of value tiers: each tenant re-ranked as often as the settings say.

Tiers rank everybody: single writes place a customer with the last ranking's cut-offs,
and this job ranks each tenant again once its last ranking is older than the interval.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from services.customer.classification import repository, rules
from services.customer.classification.service import reclassify
from shared.db import unit_of_work, utcnow
from shared.jobs import PeriodicJob
from shared.settings import Settings


class CustomerSettings(Settings):
    """The customer service's settings: the platform's, and how often value tiers are ranked again."""

    # Each tenant's value tiers are ranked again this often (seconds; 0: only on request).
    classification_rank_seconds: float = 3600.0


def rank_due_tenants(sessions: sessionmaker[Session], settings: CustomerSettings) -> list[str]:
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
        with unit_of_work(sessions) as db:
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


RANK_VALUE_TIERS = PeriodicJob(name="rank-value-tiers",
                               interval=lambda settings: settings.classification_rank_seconds,  # type: ignore[attr-defined]
                               run=rank_due_tenants)  # type: ignore[arg-type]
