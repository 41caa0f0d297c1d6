"""HTTP edges of the unified view: read it, optionally waiting for a write to show."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from services.customer.domain.customers import masked
from services.customer.routes.customers import PII
from services.customer.repository import view as repository
from services.customer.schemas.view import ConsistencyOut, CustomerViewOut, TimelineEntryOut
from shared.auth import Principal, Scopes
from shared.envelope import dumps
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
) -> Response:
    """With a ``CRM-Consistency-Token`` from any write, waits (bounded) until the view reflects it."""
    token = ConsistencyToken.decode(consistency_token) if consistency_token else None
    engine = request.app.state.engine
    started = time.monotonic()
    deadline = started + request.app.state.settings.consistency_wait_seconds
    while True:
        stored = await run_in_threadpool(_read_stored, engine, who.tenant, customer_id)
        satisfied = _reflects(stored, token, customer_id)
        if satisfied or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.01)
    if stored is not None and stored.merged_into is not None:
        return RedirectResponse(f"/v1/customers/{stored.merged_into}/view", status_code=308)
    if stored is None or stored.document is None:
        raise NotFound(f"No view of customer {customer_id}" + (" yet." if token else "."))
    consistency = ConsistencyOut(requested=token is not None, satisfied=satisfied,
                                 waited_ms=int((time.monotonic() - started) * 1000))
    headers = {"ETag": etag(stored.version), "CRM-Consistency": "satisfied" if satisfied else "stale"}
    return Response(_body(stored.document, consistency, pii=who.allows(PII)), media_type="application/json",
                    headers=headers)


def _read_stored(engine: Engine, tenant: str, customer_id: uuid.UUID) -> repository.StoredView | None:
    with engine.connect() as connection:
        return repository.stored_view(connection, tenant, customer_id)


def _reflects(stored: repository.StoredView | None, token: ConsistencyToken | None, customer_id: uuid.UUID) -> bool:
    if token is None:
        return stored is not None
    if str(customer_id) not in token.subjects:
        return stored is not None  # the write did not touch this customer
    return (stored is not None and stored.document is not None
            and stored.source_sequences.get(token.service, 0) >= token.sequence)


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
