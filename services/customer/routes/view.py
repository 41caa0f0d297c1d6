"""HTTP edges of the unified view: read it, optionally waiting for a write to show."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.concurrency import run_in_threadpool

from services.customer.consumers import view_document
from services.customer.domain.customers import masked
from services.customer.routes.customers import PII
from services.customer.repository import view as repository
from services.customer.schemas.view import ConsistencyOut, CustomerViewOut, TimelineEntryOut
from services.customer.tables import CustomerView
from shared.auth import Principal, Scopes
from shared.errors import NotFound
from shared.http import CONSISTENCY_HEADER, ConsistencyToken, DbSession, Page, Paging, etag, next_cursor

router = APIRouter(tags=["unified view"])

Reader = Annotated[Principal, Depends(Scopes("customers:read"))]


@router.get("/customers/{customer_id}/view", response_model=CustomerViewOut, summary="The unified customer view")
async def get_view(
    customer_id: uuid.UUID,
    request: Request,
    who: Reader,
    consistency_token: Annotated[str | None, Header(alias=CONSISTENCY_HEADER)] = None,
) -> CustomerViewOut | Response:
    """With a ``CRM-Consistency-Token`` from any write, waits (bounded) until the view reflects it."""
    token = ConsistencyToken.decode(consistency_token) if consistency_token else None
    sessions = request.app.state.sessions
    started = time.monotonic()
    deadline = started + request.app.state.settings.consistency_wait_seconds
    while True:
        view = await run_in_threadpool(_read_view, sessions, who.tenant, customer_id)
        satisfied = _reflects(view, token, customer_id)
        if satisfied or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.01)
    if view is not None and view.merged_into is not None:
        return RedirectResponse(f"/v1/customers/{view.merged_into}/view", status_code=308)
    if view is None or not view.profile:
        raise NotFound(f"No view of customer {customer_id}" + (" yet." if token else "."))
    waited = int((time.monotonic() - started) * 1000)
    headers = {"ETag": etag(view.version), "CRM-Consistency": "satisfied" if satisfied else "stale"}
    document = view_document(view)
    if not who.allows(PII):
        document["profile"] = masked(document["profile"])
    body = CustomerViewOut(**document, consistency=ConsistencyOut(
        requested=token is not None, satisfied=satisfied, waited_ms=waited))
    # Serialized here, once: the hottest read of the system skips FastAPI's second validation pass.
    return Response(body.model_dump_json(), media_type="application/json", headers=headers)


def _read_view(sessions: Any, tenant: str, customer_id: uuid.UUID) -> CustomerView | None:
    with sessions() as session:
        return repository.get_view_of(session, tenant, customer_id)


def _reflects(view: CustomerView | None, token: ConsistencyToken | None, customer_id: uuid.UUID) -> bool:
    if token is None:
        return view is not None
    if str(customer_id) not in token.subjects:
        return view is not None  # the write did not touch this customer
    return view is not None and bool(view.profile) and view.source_sequences.get(token.service, 0) >= token.sequence


Source = Literal["customer", "sales", "service_desk", "campaign"]


@router.get("/customers/{customer_id}/timeline", response_model=Page[TimelineEntryOut],
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
    view = repository.get_view_of(db, who.tenant, customer_id)
    if view is not None and view.merged_into is not None:
        return RedirectResponse(f"/v1/customers/{view.merged_into}/timeline", status_code=308)
    if view is None or not view.profile:
        raise NotFound(f"No customer {customer_id} in the unified view.")
    rows = repository.timeline(db, who.tenant, customer_id, paging, source, type)
    return Page(items=[TimelineEntryOut.model_validate(r, from_attributes=True) for r in rows[: paging.limit]],
                next_cursor=next_cursor([r.event_id for r in rows], paging.limit))
