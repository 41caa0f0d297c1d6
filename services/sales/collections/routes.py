"""HTTP edge of collections: the overdue invoices being dunned, each with its level and next step."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from services.sales import contract
from services.sales.collections import rules, service
from services.sales.collections.schemas import CollectionOut, LevelReachedOut, NextStepOut
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.http import DbSession, Page, feature_router
from shared.replica import embedded
from shared.types import IsoDate, Money

router = feature_router(tags=["collections"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]


def collection_out(entry: service.Entry) -> CollectionOut:
    invoice, state, step = entry.invoice, entry.state, entry.next_step
    c = invoice.currency
    return CollectionOut(
        invoice_id=invoice.id, number=invoice.number, customer_id=invoice.customer_id,
        customer=embedded(entry.customer, invoice.customer_id), due_on=invoice.due_on,
        days_past_due=entry.days_past_due, total=Money.of(invoice.total, c), open_amount=Money.of(entry.open_amount, c),
        level=(LevelReachedOut(position=state.level, offset_days=state.offset_days,
                               action=state.action, reached_on=state.reached_on)  # type: ignore[arg-type]
               if state is not None else None),
        next_step=(NextStepOut(position=step.position, offset_days=step.level.offset_days,
                               action=step.level.action, due_on=step.on)  # type: ignore[arg-type]
                   if step is not None else None))


@router.get("/collections", response_model=Page[CollectionOut],
            summary="Overdue invoices being collected, oldest due first, each with its dunning level and next step",
            description="The tenant's open invoices past due on `as_of` (default: today), and those that reached "
                        "a dunning level before their due date (a pre-due reminder). Each shows its dunning "
                        "level reached (null: none yet), and its next step from the tenant's dunning levels (the "
                        "sales policy's `dunning_levels`): the action and the day it falls due, null past the last "
                        "level. `action` keeps the invoices whose reached level has that action.")
def list_collections(
    db: DbSession,
    who: Reader,
    as_of: Annotated[IsoDate | None, Query(description="The day days past due count to (YYYY-MM-DD); default "
                                                       "today.")] = None,
    customer_id: uuid.UUID | None = None,
    action: rules.Action | None = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size (max 500).")] = 50,
    cursor: Annotated[str | None, Query(description="Opaque cursor from a previous page.")] = None,
) -> Page[CollectionOut]:
    day = as_of if as_of is not None else utcnow().date()
    entries, next_cursor = service.list_collections(db, who.tenant, as_of=day, customer_id=customer_id,
                                                    action=action, cursor=cursor, limit=limit)
    return Page(items=[collection_out(e) for e in entries], next_cursor=next_cursor)
