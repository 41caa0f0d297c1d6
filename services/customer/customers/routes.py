"""HTTP edges of the customer master: parse, authorise, call the service, shape the reply.

The customer master's other resources (custom fields, classification, consent,
import, merges, privacy) have their own feature folders beside this one.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request, Response

from services.customer import contract
from services.customer.customers import repository, rules, service
from services.customer.customers.schemas import CustomerCreate, CustomerOut, CustomerPatch, HierarchyOut, Kind
from services.customer.customers.tables import Customer
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, check_if_match, etag, feature_router, written
from shared.openapi import GONE
from shared.types import CountryCode, Timestamp

router = feature_router(tags=["customers"], responses=GONE)

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]
# Names the existing customers a new one shares an e-mail or phone with (see GET /v1/customers/duplicates).
POSSIBLE_DUPLICATES = "CRM-Possible-Duplicates"
# Proxies refuse headers past 4-8 KB: the header names this many ids (37 bytes each), and says how many
# there are in all when it names fewer; the Link points to the full list.
MAX_DUPLICATES_NAMED = 20
DUPLICATES_TRUNCATED = "CRM-Possible-Duplicates-Truncated"
CREATED_HEADERS = {
    POSSIBLE_DUPLICATES: {"description": f"Ids of existing customers sharing an e-mail or phone (at most "
                                         f"{MAX_DUPLICATES_NAMED}, comma-separated).", "schema": {"type": "string"}},
    DUPLICATES_TRUNCATED: {"description": "How many possible duplicates there are, when the list above names "
                                          "only the first ones; Link (rel=duplicates) points to all of them.",
                           "schema": {"type": "integer", "minimum": MAX_DUPLICATES_NAMED + 1}},
    "Link": {"description": "rel=duplicates: where the full list of possible duplicates is.", "schema": {"type": "string"}},
}


def customer_out(customer: Customer, who: Principal | None = None) -> CustomerOut:
    """The API document; personal fields masked unless the caller holds ``customers:pii``."""
    document = repository.document_of(customer)
    if who is not None and not who.allows(contract.PII_SCOPE):
        document = rules.masked(document)
    return CustomerOut.model_validate(document)


@router.post("/customers", status_code=201, response_model=CustomerOut, summary="Create a customer",
             responses={201: {"description": "Created", "headers": CREATED_HEADERS}})
def create_customer(body: CustomerCreate, response: Response, db: DbSession, who: Writer) -> CustomerOut:
    created = service.create_customer(db, who.tenant, body.model_dump(mode="json"))
    written(response, version=created.customer.version, location=f"/v1/customers/{created.customer.id}")
    name_duplicates(response, created.customer.id, created.possible_duplicates)
    return customer_out(created.customer, who)


def name_duplicates(response: Response, customer_id: uuid.UUID, duplicates: list[uuid.UUID]) -> None:
    """The possible-duplicates headers, bounded whatever the number of customers sharing a phone."""
    if not duplicates:
        return
    response.headers[POSSIBLE_DUPLICATES] = ", ".join(str(d) for d in duplicates[:MAX_DUPLICATES_NAMED])
    if len(duplicates) > MAX_DUPLICATES_NAMED:
        response.headers[DUPLICATES_TRUNCATED] = str(len(duplicates))
        response.headers["Link"] = f'</v1/customers/duplicates?customer_id={customer_id}>; rel="duplicates"'


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
    created_after: Timestamp | None = None,
    created_before: Timestamp | None = None,
    updated_after: Timestamp | None = None,
    updated_before: Timestamp | None = None,
) -> Page[CustomerOut]:
    """Every filter narrows the list (AND). Dates: ``*_after`` inclusive, ``*_before`` exclusive."""
    listed = service.search(db, who.tenant, service.Search(
        limit=limit, cursor=cursor, sort=sort, kind=kind, name=name, name_contains=name_contains, email=email,
        phone=phone, tag=tag, equal={
            "country": country, "region": region, "industry": industry, "owner": owner, "parent_id": parent_id,
            "organization_id": organization_id, "customer_group": customer_group, "value_tier": value_tier,
            "external_id": external_id},
        created_after=created_after, created_before=created_before, updated_after=updated_after,
        updated_before=updated_before), sees_pii=who.allows(contract.PII_SCOPE))
    return Page(items=[customer_out(c, who) for c in listed.customers], next_cursor=listed.next_cursor)


@router.get("/customers/{customer_id:uuid}", response_model=CustomerOut, summary="Read a customer",
            responses={308: {"description": "Merged into another customer: Location names the survivor."}})
def get_customer(customer_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> CustomerOut:
    customer = service.found(db, who.tenant, customer_id, redirect=True)
    response.headers["ETag"] = etag(customer.version)
    return customer_out(customer, who)


@router.get("/customers/{customer_id:uuid}/hierarchy", response_model=HierarchyOut,
            summary="An organization's parents and all its subsidiaries")
def get_hierarchy(customer_id: uuid.UUID, db: DbSession, who: Reader) -> HierarchyOut:
    tree = service.hierarchy(db, who.tenant, customer_id)
    return HierarchyOut(customer_id=tree.customer.id, ancestors=[customer_out(c, who) for c in tree.ancestors],
                        descendants=[customer_out(c, who) for c in tree.descendants])


@router.patch("/customers/{customer_id:uuid}", response_model=CustomerOut, summary="Change a customer (honours If-Match)")
def patch_customer(customer_id: uuid.UUID, body: CustomerPatch, request: Request, response: Response, db: DbSession,
                   who: Writer) -> CustomerOut:
    customer = service.change_customer(db, who.tenant, customer_id, body.model_dump(mode="json", exclude_unset=True),
                                       check_version=lambda version: check_if_match(request, version))
    written(response, version=customer.version)
    return customer_out(customer, who)


@router.delete("/customers/{customer_id:uuid}", status_code=204, summary="Delete a customer (honours If-Match)")
def delete_customer(customer_id: uuid.UUID, request: Request, db: DbSession, who: Writer) -> None:
    service.delete_customer(db, who.tenant, customer_id,
                            check_version=lambda version: check_if_match(request, version))
