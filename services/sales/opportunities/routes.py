"""HTTP edges of opportunities: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response

from services.sales import contract
from services.sales.opportunities import rules, service
from services.sales.opportunities.schemas import OpportunityCreate, OpportunityOut, OpportunityPatch, Stage, Status
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, check_if_match, etag, feature_router, next_cursor, patience, written
from shared.replica import embedded
from shared.types import Money

router = feature_router(tags=["opportunities"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


def opportunity_out(shown: service.Shown) -> OpportunityOut:
    opportunity = shown.opportunity
    return OpportunityOut(
        id=opportunity.id,
        customer_id=opportunity.customer_id,
        customer=embedded(shown.customer, opportunity.customer_id),
        name=opportunity.name,
        amount=Money.of(opportunity.amount, opportunity.currency),
        stage=opportunity.stage,  # type: ignore[arg-type]
        status=opportunity.status,  # type: ignore[arg-type]
        probability=rules.probability_of(opportunity.stage),
        expected_close_date=opportunity.expected_close_date,
        version=opportunity.version,
        created_at=opportunity.created_at,
        updated_at=opportunity.updated_at,
        closed_at=opportunity.closed_at,
    )


@router.post("/opportunities", status_code=201, response_model=OpportunityOut, summary="Open an opportunity")
def create_opportunity(body: OpportunityCreate, request: Request, response: Response, db: DbSession,
                       who: Writer) -> OpportunityOut:
    created = service.create_opportunity(db, who.tenant, body, wait_seconds=patience(request))
    written(response, version=created.opportunity.version, location=f"/v1/opportunities/{created.opportunity.id}")
    return opportunity_out(created)


@router.get("/opportunities", response_model=Page[OpportunityOut], summary="List opportunities")
def list_opportunities(
    db: DbSession,
    who: Reader,
    paging: Paging,
    customer_id: uuid.UUID | None = None,
    stage: Stage | None = None,
    status: Status | None = None,
) -> Page[OpportunityOut]:
    shown = service.list_opportunities(db, who.tenant, paging, {"customer_id": customer_id, "stage": stage,
                                                                "status": status})
    return Page(items=[opportunity_out(s) for s in shown[: paging.limit]],
                next_cursor=next_cursor([s.opportunity.id for s in shown], paging.limit))


@router.get("/opportunities/{opportunity_id:uuid}", response_model=OpportunityOut, summary="Read an opportunity")
def get_opportunity(opportunity_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> OpportunityOut:
    shown = service.get_opportunity(db, who.tenant, opportunity_id)
    response.headers["ETag"] = etag(shown.opportunity.version)
    return opportunity_out(shown)


@router.patch("/opportunities/{opportunity_id:uuid}", response_model=OpportunityOut,
              summary="Change an opportunity, e.g. move its stage (honours If-Match)")
def patch_opportunity(opportunity_id: uuid.UUID, body: OpportunityPatch, request: Request, response: Response,
                      db: DbSession, who: Writer) -> OpportunityOut:
    changed = service.update_opportunity(db, who.tenant, opportunity_id, body.model_dump(exclude_unset=True),
                                         check_version=lambda version: check_if_match(request, version))
    written(response, version=changed.opportunity.version)
    return opportunity_out(changed)
