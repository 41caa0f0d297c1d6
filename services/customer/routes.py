"""HTTP edges of the customer service: parse, authorise, call the rules, shape the reply."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.concurrency import run_in_threadpool

from services.customer import domain, events, repository
from services.customer.consumers import view_document
from services.customer.schemas import (
    ConsistencyOut,
    CustomerCreate,
    CustomerOut,
    CustomerPatch,
    CustomerViewOut,
    Kind,
)
from services.customer.tables import Customer, CustomerView
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.errors import NotFound
from shared.http import (
    CONSISTENCY_HEADER,
    ConsistencyToken,
    DbSession,
    Page,
    Paging,
    check_if_match,
    commit_write,
    etag,
    next_cursor,
)
from shared.ids import new_id
from shared.types import CountryCode

router = APIRouter(tags=["customers"])

Reader = Annotated[Principal, Depends(Scopes("customers:read"))]
Writer = Annotated[Principal, Depends(Scopes("customers:write"))]


def customer_out(customer: Customer) -> CustomerOut:
    return CustomerOut.model_validate(customer, from_attributes=True)


def _state(customer: Customer) -> dict[str, Any]:
    return {name: getattr(customer, name) for name in domain.PROFILE_FIELDS}


def _found(db: DbSession, tenant: str, customer_id: uuid.UUID) -> Customer:
    customer = repository.get_customer(db, tenant, customer_id)
    if customer is None:
        raise NotFound(f"No customer {customer_id}.")
    return customer


@router.post("/customers", status_code=201, response_model=CustomerOut, summary="Create a customer")
def create_customer(body: CustomerCreate, request: Request, db: DbSession, who: Writer) -> Response:
    state = domain.new_customer(body.model_dump(mode="json"))
    now = utcnow()
    customer = Customer(id=new_id(), tenant_id=who.tenant, display_name=domain.display_name(state), version=1,
                        created_at=now, updated_at=now, deleted_at=None, **state)
    db.add(customer)
    out = customer_out(customer)
    events.customer_created(db, who.tenant, out.model_dump(mode="json"))
    return commit_write(db, request, out, status=201, version=1, location=f"/v1/customers/{customer.id}")


@router.get("/customers", response_model=Page[CustomerOut], summary="List customers")
def list_customers(
    db: DbSession,
    who: Reader,
    paging: Paging,
    kind: Kind | None = None,
    country: CountryCode | None = None,
    region: str | None = None,
) -> Page[CustomerOut]:
    rows = repository.list_customers(db, who.tenant, paging, {"kind": kind, "country": country, "region": region})
    return Page(items=[customer_out(c) for c in rows[: paging.limit]],
                next_cursor=next_cursor([c.id for c in rows], paging.limit))


@router.get("/customers/{customer_id}", response_model=CustomerOut, summary="Read a customer")
def get_customer(customer_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> CustomerOut:
    customer = _found(db, who.tenant, customer_id)
    response.headers["ETag"] = etag(customer.version)
    return customer_out(customer)


@router.patch("/customers/{customer_id}", response_model=CustomerOut, summary="Change a customer (honours If-Match)")
def patch_customer(customer_id: uuid.UUID, body: CustomerPatch, request: Request, db: DbSession, who: Writer) -> Response:
    customer = _found(db, who.tenant, customer_id)
    check_if_match(request, customer.version)
    state, changes = domain.change_customer(_state(customer), body.model_dump(mode="json", exclude_unset=True))
    if changes:
        for name, value in state.items():
            setattr(customer, name, value)
        customer.display_name = domain.display_name(state)
        customer.version += 1
        customer.updated_at = utcnow()
        out = customer_out(customer)
        events.customer_updated(db, who.tenant, out.model_dump(mode="json"), changes)
    return commit_write(db, request, customer_out(customer), version=customer.version)


@router.delete("/customers/{customer_id}", status_code=204, summary="Delete a customer (honours If-Match)")
def delete_customer(customer_id: uuid.UUID, request: Request, db: DbSession, who: Writer) -> Response:
    customer = _found(db, who.tenant, customer_id)
    check_if_match(request, customer.version)
    customer.deleted_at = utcnow()
    customer.version += 1
    events.customer_deleted(db, who.tenant, str(customer.id))
    return commit_write(db, request, None, status=204)


@router.get("/customers/{customer_id}/view", response_model=CustomerViewOut, summary="The unified customer view")
async def get_view(
    customer_id: uuid.UUID,
    request: Request,
    response: Response,
    who: Reader,
    consistency_token: Annotated[str | None, Header(alias=CONSISTENCY_HEADER)] = None,
) -> CustomerViewOut:
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
    if view is None or not view.profile:
        raise NotFound(f"No view of customer {customer_id}" + (" yet." if token else "."))
    waited = int((time.monotonic() - started) * 1000)
    response.headers["ETag"] = etag(view.version)
    response.headers["CRM-Consistency"] = "satisfied" if satisfied else "stale"
    return CustomerViewOut(**view_document(view), consistency=ConsistencyOut(
        requested=token is not None, satisfied=satisfied, waited_ms=waited))


def _read_view(sessions: Any, tenant: str, customer_id: uuid.UUID) -> CustomerView | None:
    with sessions() as session:
        return repository.get_view_of(session, tenant, customer_id)


def _reflects(view: CustomerView | None, token: ConsistencyToken | None, customer_id: uuid.UUID) -> bool:
    if token is None:
        return view is not None
    if str(customer_id) not in token.subjects:
        return view is not None  # the write did not touch this customer
    return view is not None and bool(view.profile) and view.source_sequences.get(token.service, 0) >= token.sequence
