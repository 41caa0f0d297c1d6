"""HTTP edges of the unified view: read it, optionally waiting for a write to show, and its timeline."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Literal

from fastapi import Depends, Header, Query, Request, Response
from fastapi.responses import RedirectResponse

from services.customer import contract
from services.customer.customers.rules import masked
from services.customer.view import service
from services.customer.view.schemas import ConsistencyOut, CustomerViewOut, TimelineEntryOut
from shared.auth import Principal, Scopes
from shared.envelope import dumps
from shared.errors import NotFound
from shared.openapi import UNAVAILABLE
from shared.http import (
    CONSISTENCY_HEADER,
    ConsistencyToken,
    DbSession,
    Page,
    Paging,
    etag,
    feature_router,
    next_cursor,
    wait_bound,
)

router = feature_router(tags=["unified view"], responses=UNAVAILABLE)

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]


@router.get("/customers/{customer_id:uuid}/view", response_model=CustomerViewOut, summary="The unified customer view")
async def get_view(
    customer_id: uuid.UUID,
    request: Request,
    who: Reader,
    consistency_token: Annotated[str | None, Header(alias=CONSISTENCY_HEADER)] = None,
    prefer: Annotated[str | None, Header(max_length=200, description=(
        "`wait=N` (RFC 7240): wait at most N seconds for the token's write, if less than the service's bound."))] = None,
) -> Response:
    """With a ``CRM-Consistency-Token`` from any write, waits (bounded) until the view reflects it."""
    token = ConsistencyToken.decode(consistency_token) if consistency_token else None
    read = await service.read_view(request.app.state.engine, who.tenant, customer_id, token, wait_bound(request))
    stored = read.stored
    if stored is not None and stored.merged_into is not None:
        return RedirectResponse(f"/v1/customers/{stored.merged_into}/view", status_code=308)
    if service.pending(read, token, customer_id):
        raise service.ViewPending(f"The view has not applied the write that created customer {customer_id} "
                                  f"within {read.waited_ms} ms; retry shortly.")
    if stored is None or stored.document is None:
        raise NotFound(f"No view of customer {customer_id}.")
    consistency = ConsistencyOut(requested=token is not None, satisfied=read.satisfied, waited_ms=read.waited_ms)
    headers = {"ETag": etag(stored.version), "CRM-Consistency": "satisfied" if read.satisfied else "stale"}
    return Response(_body(stored.document, consistency, pii=who.allows(contract.PII_SCOPE)),
                    media_type="application/json", headers=headers)


def _body(document: str, consistency: ConsistencyOut, *, pii: bool) -> str:
    """The stored document as published, with this read's consistency; masked for callers without the PII scope.

    The trusted caller's body is spliced, not re-serialized: the hottest read of the
    system parses and validates nothing.
    """
    if not pii:
        view = json.loads(document)
        view["profile"] = masked(view["profile"])
        document = dumps(view)
    return f'{document[:-1]},"consistency":{consistency.model_dump_json()}}}'


Source = Literal["customer", "sales", "service_desk", "campaign"]


@router.get("/customers/{customer_id:uuid}/timeline", response_model=Page[TimelineEntryOut],
            summary="Every interaction with the customer, newest first")
def get_timeline(
    customer_id: uuid.UUID,
    db: DbSession,
    who: Reader,
    paging: Paging,
    source: Source | None = None,
    type: Annotated[str | None, Query(max_length=200, description="Event type or type prefix, "
                                      "e.g. crm.sales.opportunity")] = None,
) -> Page[TimelineEntryOut] | Response:
    found = service.timeline(db, who.tenant, customer_id, paging, source, type)
    if found.merged_into is not None:
        return RedirectResponse(f"/v1/customers/{found.merged_into}/timeline", status_code=308)
    rows = found.entries
    return Page(items=[TimelineEntryOut.model_validate(r, from_attributes=True) for r in rows[: paging.limit]],
                next_cursor=next_cursor([r.event_id for r in rows], paging.limit))
