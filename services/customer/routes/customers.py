"""HTTP edges of the customer master: parse, authorise, call the rules, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from services.customer import events
from services.customer.domain import customers as domain
from services.customer.repository import customers as repository
from services.customer.schemas.customers import CustomerCreate, CustomerOut, CustomerPatch, Kind
from services.customer.tables import Customer
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.errors import NotFound
from shared.http import DbSession, Page, Paging, check_if_match, commit_write, etag, next_cursor
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
