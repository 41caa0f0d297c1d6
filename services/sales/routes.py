"""HTTP edges of the sales service: parse, authorise, call the rules, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services.sales import domain, events, repository
from services.sales.schemas import OpportunityCreate, OpportunityOut, OpportunityPatch, Stage, Status
from services.sales.tables import Opportunity
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.errors import NotFound
from shared.http import DbSession, Page, Paging, check_if_match, commit_write, etag, next_cursor, patience
from shared.ids import new_id
from shared.replica import CustomerReplica, embedded, find_customer, find_customers, require_customer
from shared.types import Money

router = APIRouter(tags=["opportunities"])

Reader = Annotated[Principal, Depends(Scopes("sales:read"))]
Writer = Annotated[Principal, Depends(Scopes("sales:write"))]


def opportunity_out(opportunity: Opportunity, customer: CustomerReplica | None) -> OpportunityOut:
    return OpportunityOut(
        id=opportunity.id,
        customer_id=opportunity.customer_id,
        customer=embedded(customer, opportunity.customer_id),
        name=opportunity.name,
        amount=Money.of(opportunity.amount, opportunity.currency),
        stage=opportunity.stage,  # type: ignore[arg-type]
        status=opportunity.status,  # type: ignore[arg-type]
        probability=domain.probability_of(opportunity.stage),
        expected_close_date=opportunity.expected_close_date,
        version=opportunity.version,
        created_at=opportunity.created_at,
        updated_at=opportunity.updated_at,
        closed_at=opportunity.closed_at,
    )


def _found(db: DbSession, tenant: str, opportunity_id: uuid.UUID) -> Opportunity:
    opportunity = repository.get_opportunity(db, tenant, opportunity_id)
    if opportunity is None:
        raise NotFound(f"No opportunity {opportunity_id}.")
    return opportunity


@router.post("/opportunities", status_code=201, response_model=OpportunityOut, summary="Open an opportunity")
def create_opportunity(body: OpportunityCreate, request: Request, db: DbSession, who: Writer) -> Response:
    amount = domain.check_amount(body.amount.amount, body.amount.currency)
    customer = require_customer(db, who.tenant, body.customer_id, wait_seconds=patience(request))
    now = utcnow()
    status = domain.status_of(body.stage)
    opportunity = Opportunity(
        id=new_id(), tenant_id=who.tenant, customer_id=body.customer_id, name=body.name, amount=amount,
        currency=body.amount.currency, stage=body.stage, status=status, expected_close_date=body.expected_close_date,
        version=1, created_at=now, updated_at=now, closed_at=now if status != "open" else None,
    )
    db.add(opportunity)
    out = opportunity_out(opportunity, customer)
    events.opportunity_changed(db, who.tenant, domain.event_action(None, status), opportunity)
    return commit_write(db, request, out, status=201, version=1, location=f"/v1/opportunities/{opportunity.id}")


@router.get("/opportunities", response_model=Page[OpportunityOut], summary="List opportunities")
def list_opportunities(
    db: DbSession,
    who: Reader,
    paging: Paging,
    customer_id: uuid.UUID | None = None,
    stage: Stage | None = None,
    status: Status | None = None,
) -> Page[OpportunityOut]:
    rows = repository.list_opportunities(db, who.tenant, paging, {"customer_id": customer_id, "stage": stage, "status": status})
    shown = rows[: paging.limit]
    customers = find_customers(db, who.tenant, {o.customer_id for o in shown})
    return Page(items=[opportunity_out(o, customers.get(o.customer_id)) for o in shown],
                next_cursor=next_cursor([o.id for o in rows], paging.limit))


@router.get("/opportunities/{opportunity_id}", response_model=OpportunityOut, summary="Read an opportunity")
def get_opportunity(opportunity_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> OpportunityOut:
    opportunity = _found(db, who.tenant, opportunity_id)
    response.headers["ETag"] = etag(opportunity.version)
    return opportunity_out(opportunity, find_customer(db, who.tenant, opportunity.customer_id))


@router.patch("/opportunities/{opportunity_id}", response_model=OpportunityOut,
              summary="Change an opportunity, e.g. move its stage (honours If-Match)")
def patch_opportunity(
    opportunity_id: uuid.UUID, body: OpportunityPatch, request: Request, db: DbSession, who: Writer
) -> Response:
    opportunity = _found(db, who.tenant, opportunity_id)
    check_if_match(request, opportunity.version)
    fields = domain.patch_fields(body.model_dump(exclude_unset=True))
    diff = domain.change_opportunity(opportunity.stage, {name: getattr(opportunity, name) for name in fields}, fields)
    customer = find_customer(db, who.tenant, opportunity.customer_id)
    if diff:
        old_status = opportunity.status
        for name, change in diff.items():
            setattr(opportunity, name, change["new"])
        opportunity.status = domain.status_of(opportunity.stage)
        opportunity.version += 1
        opportunity.updated_at = utcnow()
        if opportunity.status != "open" and old_status == "open":
            opportunity.closed_at = opportunity.updated_at
        events.opportunity_changed(db, who.tenant, domain.event_action(old_status, opportunity.status), opportunity, diff)
    return commit_write(db, request, opportunity_out(opportunity, customer), version=opportunity.version)

