"""Use cases of duplicate detection: likely duplicates among a tenant's live customers, best first."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.customer.customers import repository as customers_repository
from services.customer.customers.tables import Customer
from services.customer.duplicates import repository, rules

# Candidate pairs looked at per request: detection stays bounded on a large tenant.
MAX_CANDIDATES = 2000


@dataclass(frozen=True)
class Pair:
    first: Customer
    second: Customer
    score: float
    reasons: list[str]


def likely_duplicates(db: Session, tenant: str, customer_id: uuid.UUID | None, limit: int) -> list[Pair]:
    """Pairs sharing an e-mail or phone, or with similar names and more in common, scored; at most ``limit``."""
    pairs = repository.key_pairs(db, tenant, customer_id, MAX_CANDIDATES)
    pairs |= repository.name_pairs(db, tenant, customer_id, MAX_CANDIDATES)
    rows = repository.live_rows(db, tenant, {i for pair in pairs for i in pair})
    found: list[Pair] = []
    for a, b in sorted(pairs):
        if a not in rows or b not in rows:
            continue
        score, reasons = rules.compare(customers_repository.state_of(rows[a]), customers_repository.state_of(rows[b]),
                                       rows[a].display_name, rows[b].display_name)
        if score > 0:
            found.append(Pair(rows[a], rows[b], score, reasons))
    found.sort(key=lambda p: -p.score)
    return found[:limit]
