"""HTTP edge of duplicate detection: likely duplicates with a score and the reasons, ready for a merge."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from services.customer.domain import duplicates as rules
from services.customer.repository import customers as repository
from services.customer.repository import duplicates as duplicate_repository
from services.customer.routes.customers import Reader, customer_out
from services.customer.schemas.merging import DuplicateOut, DuplicatesOut
from shared.http import DbSession

router = APIRouter(tags=["merge"])
# Candidate pairs looked at per request: detection stays bounded on a large tenant.
MAX_CANDIDATES = 2000


@router.get("/customers/duplicates", response_model=DuplicatesOut,
            summary="Likely duplicates: same e-mail or phone, or similar names sharing an address, domain or phone")
def list_duplicates(
    db: DbSession,
    who: Reader,
    customer_id: Annotated[uuid.UUID | None, Query(description="Only duplicates of this customer.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many pairs, best first.")] = 50,
) -> DuplicatesOut:
    """Pairs best first. Not paged: each call looks at a bounded number of candidates (``next_cursor`` is null)."""
    pairs = duplicate_repository.key_pairs(db, who.tenant, customer_id, MAX_CANDIDATES)
    pairs |= duplicate_repository.name_pairs(db, who.tenant, customer_id, MAX_CANDIDATES)
    rows = duplicate_repository.live_rows(db, who.tenant, {i for pair in pairs for i in pair})
    found: list[DuplicateOut] = []
    for a, b in sorted(pairs):
        if a not in rows or b not in rows:
            continue
        score, reasons = rules.compare(repository.state_of(rows[a]), repository.state_of(rows[b]),
                                       rows[a].display_name, rows[b].display_name)
        if score > 0:
            found.append(DuplicateOut(customer_ids=[a, b], score=score, reasons=reasons,
                                      customers=[customer_out(rows[a], who), customer_out(rows[b], who)]))
    found.sort(key=lambda d: -d.score)
    return DuplicatesOut(items=found[:limit], next_cursor=None)
