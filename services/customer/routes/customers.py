"""HTTP edges of the customer master: parse, authorise, call the rules, shape the reply.

The customer master's other resources (custom fields, classification, consent,
import) have their own route modules beside this one.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime
from sqlalchemy.orm import Session

from services.customer import classifying, events, lifecycle
from services.customer.domain import classification as classification_rules
from services.customer.domain import custom_fields as field_rules
from services.customer.domain import customers as domain
from services.customer.domain import search
from services.customer.repository import classification as classification_repository
from services.customer.repository import customers as repository
from services.customer.repository import duplicates as duplicate_repository
from services.customer.schemas.customers import CustomerCreate, CustomerOut, CustomerPatch, HierarchyOut, Kind
from services.customer.tables import Customer
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, NotFound
from shared.http import DbSession, Page, check_if_match, commit_write, etag
from shared.ids import new_id
from shared.types import CountryCode

router = APIRouter(tags=["customers"])

Reader = Annotated[Principal, Depends(Scopes("customers:read"))]
Writer = Annotated[Principal, Depends(Scopes("customers:write"))]
PII = "customers:pii"
# Names the existing customers a new one shares an e-mail or phone with (see GET /v1/customers/duplicates).
POSSIBLE_DUPLICATES = "CRM-Possible-Duplicates"


def customer_out(customer: Customer, who: Principal | None = None) -> CustomerOut:
    """The API document; personal fields masked unless the caller holds ``customers:pii``."""
    document = repository.document_of(customer)
    if who is not None and not who.allows(PII):
        document = domain.masked(document)
    return CustomerOut.model_validate(document)


def _found(db: Session, tenant: str, customer_id: uuid.UUID, *, redirect: bool = False) -> Customer:
    customer = repository.get_customer(db, tenant, customer_id)
    if customer is None or customer.merged_into is not None:
        # Merged away: 308 to the survivor on a read (409 on a write); erased: 410.
        lifecycle.refuse_moved_or_erased(db, tenant, customer_id, redirect=redirect)
    if customer is None:
        raise NotFound(f"No customer {customer_id}.")
    return customer


def _check_links(db: Session, tenant: str, state: dict[str, Any], customer_id: str | None) -> None:
    domain.check_links(state, customer_id, lambda other: repository.kind_of(db, tenant, other),
                       lambda other: repository.ancestors_of(db, tenant, other))


def _check_external_id(db: Session, tenant: str, external_id: str | None, customer_id: uuid.UUID | None) -> None:
    if external_id is None:
        return
    taken = repository.customer_by_external_id(db, tenant, external_id)
    if taken is not None and taken != customer_id:
        raise Conflict(f"Customer {taken} already has external_id '{external_id}'.",
                       errors=[{"field": "external_id", "message": "already used by another customer"}])


@router.post("/customers", status_code=201, response_model=CustomerOut, summary="Create a customer")
def create_customer(body: CustomerCreate, request: Request, db: DbSession, who: Writer) -> Response:
    fields = body.model_dump(mode="json")
    fields["custom_fields"] = field_rules.check_values(
        fields["custom_fields"], repository.definitions(db, who.tenant), creating=True)
    state = domain.new_customer(fields)
    _check_links(db, who.tenant, state, None)
    _check_external_id(db, who.tenant, state["external_id"], None)
    classification = classification_rules.classify(state, classification_repository.rules_of(db, who.tenant))
    now = utcnow()
    customer = Customer(id=new_id(), tenant_id=who.tenant, version=1, created_at=now, updated_at=now, deleted_at=None,
                        merged_into=None, **classification, **repository.row_values(state))
    db.add(customer)
    repository.replace_keys(db, who.tenant, customer.id, set(), domain.search_keys(state))
    events.customer_created(db, who.tenant, repository.document_of(customer))
    # Detection on write: the new record is created anyway; the caller learns whom it may duplicate.
    duplicates = duplicate_repository.sharing_keys(db, who.tenant, customer.id, domain.search_keys(state))
    response = commit_write(db, request, customer_out(customer, who), status=201, version=1,
                            location=f"/v1/customers/{customer.id}")
    if duplicates:
        response.headers[POSSIBLE_DUPLICATES] = ", ".join(str(d) for d in duplicates)
    return response


@router.get("/customers", response_model=Page[CustomerOut], summary="Search and list customers")
def list_customers(
    db: DbSession,
    who: Reader,
    limit: Annotated[int, Query(ge=1, le=500, description="Page size (max 500).")] = 50,
    cursor: Annotated[str | None, Query(description="Opaque cursor from a previous page.")] = None,
    sort: Annotated[str | None, Query(description="display_name, created_at or updated_at; '-' first for descending. "
                                                  "Default: creation order.")] = None,
    kind: Kind | None = None,
    name: Annotated[str | None, Query(max_length=200, description="Name starts with (any case, any accents).")] = None,
    name_contains: Annotated[str | None, Query(max_length=200, description="Name contains (any case, any accents).")] = None,
    email: Annotated[str | None, Query(max_length=320, description="Has this e-mail address (any case).")] = None,
    phone: Annotated[str | None, Query(max_length=40, description="Has this phone number (any formatting).")] = None,
    country: CountryCode | None = None,
    region: str | None = None,
    industry: str | None = None,
    tag: Annotated[str | None, Query(max_length=60)] = None,
    owner: str | None = None,
    parent_id: Annotated[uuid.UUID | None, Query(description="Direct subsidiaries of this organization.")] = None,
    organization_id: Annotated[uuid.UUID | None, Query(description="Persons of this organization.")] = None,
    customer_group: str | None = None,
    value_tier: str | None = None,
    external_id: str | None = None,
    created_after: AwareDatetime | None = None,
    created_before: AwareDatetime | None = None,
    updated_after: AwareDatetime | None = None,
    updated_before: AwareDatetime | None = None,
) -> Page[CustomerOut]:
    """Every filter narrows the list (AND). Dates: ``*_after`` inclusive, ``*_before`` exclusive."""
    order = search.parse_sort(sort)
    after = search.decode_cursor(cursor, order) if cursor else None
    if (email or phone) and not who.allows(PII):
        raise Forbidden(f"Searching by e-mail or phone needs the scope {PII}.")
    keys = [("email", domain.email_key(email))] if email else []
    keys += [("phone", search.phone_query(phone))] if phone else []
    keys += [("tag", tag.strip().lower())] if tag else []
    equal = {column: value for column, value in (
        ("country", country), ("region", region), ("industry", industry), ("owner", owner), ("parent_id", parent_id),
        ("organization_id", organization_id), ("customer_group", customer_group), ("value_tier", value_tier),
        ("external_id", external_id)) if value is not None}
    filters = repository.Filters(
        kind=kind, name_prefix=search.name_query(name) if name else None,
        name_contains=search.name_query(name_contains) if name_contains else None, keys=keys, equal=equal,
        created_after=created_after, created_before=created_before, updated_after=updated_after,
        updated_before=updated_before)
    rows = repository.search_customers(db, who.tenant, filters, order, after, limit)
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return Page(items=[customer_out(c, who) for c in rows[:limit]],
                next_cursor=search.encode_cursor(order, last.id, repository.sort_key(last, order)) if last else None)


@router.get("/customers/{customer_id}", response_model=CustomerOut, summary="Read a customer")
def get_customer(customer_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> CustomerOut:
    customer = _found(db, who.tenant, customer_id, redirect=True)
    response.headers["ETag"] = etag(customer.version)
    return customer_out(customer, who)


@router.get("/customers/{customer_id}/hierarchy", response_model=HierarchyOut,
            summary="An organization's parents and all its subsidiaries")
def get_hierarchy(customer_id: uuid.UUID, db: DbSession, who: Reader) -> HierarchyOut:
    customer = _found(db, who.tenant, customer_id)
    ancestors = [_found(db, who.tenant, uuid.UUID(a)) for a in repository.ancestors_of(db, who.tenant, str(customer.id))]
    descendants = repository.hierarchy_rows(db, who.tenant, customer.id)
    return HierarchyOut(customer_id=customer.id, ancestors=[customer_out(c, who) for c in ancestors],
                        descendants=[customer_out(c, who) for c in descendants])


@router.patch("/customers/{customer_id}", response_model=CustomerOut, summary="Change a customer (honours If-Match)")
def patch_customer(customer_id: uuid.UUID, body: CustomerPatch, request: Request, db: DbSession, who: Writer) -> Response:
    customer = _found(db, who.tenant, customer_id)
    check_if_match(request, customer.version)
    sent = body.model_dump(mode="json", exclude_unset=True)
    current = repository.state_of(customer)
    if "custom_fields" in sent:
        sent["custom_fields"] = field_rules.check_values(
            sent["custom_fields"] or {}, repository.definitions(db, who.tenant), creating=False)
    state, changes = domain.change_customer(current, sent)
    if changes:
        if changes.keys() & {"parent_id", "organization_id", "organization_role"}:
            _check_links(db, who.tenant, state, str(customer.id))
        if "external_id" in changes:
            _check_external_id(db, who.tenant, state["external_id"], customer.id)
        repository.replace_keys(db, who.tenant, customer.id, domain.search_keys(current), domain.search_keys(state))
        for name, value in repository.row_values(state).items():
            setattr(customer, name, value)
        classifying.classify_customer(db, who.tenant, customer, state)
        customer.version += 1
        customer.updated_at = utcnow()
        events.customer_updated(db, who.tenant, repository.document_of(customer), changes)
    return commit_write(db, request, customer_out(customer, who), version=customer.version)


@router.delete("/customers/{customer_id}", status_code=204, summary="Delete a customer (honours If-Match)")
def delete_customer(customer_id: uuid.UUID, request: Request, db: DbSession, who: Writer) -> Response:
    customer = _found(db, who.tenant, customer_id)
    check_if_match(request, customer.version)
    if customer.kind == "organization" and repository.has_dependants(db, who.tenant, customer.id):
        raise Conflict("This organization still has subsidiaries or persons; move or delete them first.")
    customer.deleted_at = utcnow()
    customer.version += 1
    repository.replace_keys(db, who.tenant, customer.id, domain.search_keys(repository.state_of(customer)), set())
    events.customer_deleted(db, who.tenant, str(customer.id))
    return commit_write(db, request, None, status=204)
