"""HTTP edge of duplicate detection: likely duplicates with a score and the reasons, ready for a merge."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from services.customer import contract
from services.customer.customers.routes import customer_out
from services.customer.duplicates import service
from services.customer.duplicates.schemas import DuplicateOut, DuplicatesOut
from shared.auth import Principal, Scopes
from shared.http import DbSession, feature_router

router = feature_router(tags=["merge"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]


@router.get("/customers/duplicates", response_model=DuplicatesOut,
            summary="Likely duplicates: same e-mail or phone, or similar names sharing an address, domain or phone")
def list_duplicates(
    db: DbSession,
    who: Reader,
    customer_id: Annotated[uuid.UUID | None, Query(description="Only duplicates of this customer.")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many pairs, best first.")] = 50,
) -> DuplicatesOut:
    """Pairs best first. Not paged: each call looks at a bounded number of candidates (``next_cursor`` is null)."""
    pairs = service.likely_duplicates(db, who.tenant, customer_id, limit)
    return DuplicatesOut(items=[DuplicateOut(customer_ids=[p.first.id, p.second.id], score=p.score, reasons=p.reasons,
                                             customers=[customer_out(p.first, who), customer_out(p.second, who)])
                                for p in pairs], next_cursor=None)
