"""HTTP edges of opportunities: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from services.sales import contract
from services.sales.opportunities import service
from services.sales.opportunities.schemas import (
    ForecastCategory,
    LineOut,
    OpportunityCreate,
    OpportunityOut,
    OpportunityPatch,
    Owner,
    ReopenIn,
    StageChangeOut,
    StageName,
    Status,
    Team,
)
from services.sales.opportunities.tables import StageChange
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, check_if_match, etag, feature_router, next_cursor, patience, written
from shared.replica import embedded
from shared.types import Money

router = feature_router(tags=["opportunities"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]
# Reopening a closed deal rewrites what was reported as won or lost: a manager's decision.
Approver = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE, contract.APPROVE_SCOPE))]


def line_out(line: dict[str, Any], currency: str) -> LineOut:
    return LineOut(product_id=line["product_id"], quantity=line["quantity"],
                   unit_price=Money(amount=line["unit_price"], currency=currency),
                   discount_percent=line["discount_percent"],
                   line_total=Money.of(Decimal(line["line_total"]), currency),
                   price_book_id=line["price_book_id"], reason=line["reason"])


def opportunity_out(shown: service.Shown) -> OpportunityOut:
    opportunity = shown.opportunity
    return OpportunityOut(
        id=opportunity.id,
        customer_id=opportunity.customer_id,
        customer=embedded(shown.customer, opportunity.customer_id),
        name=opportunity.name,
        amount=Money.of(opportunity.amount, opportunity.currency),
        stage=opportunity.stage,
        status=opportunity.status,  # type: ignore[arg-type]
        forecast_category=opportunity.forecast_category,  # type: ignore[arg-type]
        probability=opportunity.probability,
        owner=opportunity.owner,
        team=opportunity.team,
        lines=[line_out(line, opportunity.currency) for line in opportunity.lines or []],
        close_reason=opportunity.close_reason,
        competitor=opportunity.competitor,
        expected_close_date=opportunity.expected_close_date,
        version=opportunity.version,
        created_at=opportunity.created_at,
        updated_at=opportunity.updated_at,
        closed_at=opportunity.closed_at,
    )


def stage_change_out(change: StageChange) -> StageChangeOut:
    return StageChangeOut(id=change.id, opportunity_id=change.opportunity_id, from_stage=change.from_stage,
                          to_stage=change.to_stage, amount=Money.of(change.amount, change.currency),
                          changed_by=change.changed_by, changed_at=change.changed_at)


@router.post("/opportunities", status_code=201, response_model=OpportunityOut, summary="Open an opportunity")
def create_opportunity(body: OpportunityCreate, request: Request, response: Response, db: DbSession,
                       who: Writer) -> OpportunityOut:
    """Lines without a unit price are priced from the applicable price book; a discount above the tenant's
    threshold needs ``sales:approve``."""
    created = service.create_opportunity(db, who.tenant, body, wait_seconds=patience(request), by=who.subject,
                                         may_approve=who.allows(contract.APPROVE_SCOPE))
    written(response, version=created.opportunity.version, location=f"/v1/opportunities/{created.opportunity.id}")
    return opportunity_out(created)


@router.get("/opportunities", response_model=Page[OpportunityOut], summary="List opportunities")
def list_opportunities(
    db: DbSession,
    who: Reader,
    paging: Paging,
    customer_id: uuid.UUID | None = None,
    stage: StageName | None = None,
    status: Status | None = None,
    owner: Owner | None = None,
    team: Team | None = None,
    forecast_category: ForecastCategory | None = None,
) -> Page[OpportunityOut]:
    shown = service.list_opportunities(db, who.tenant, paging, {
        "customer_id": customer_id, "stage": stage, "status": status, "owner": owner, "team": team,
        "forecast_category": forecast_category})
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
    """Winning needs a close_reason, losing also a competitor; a closed deal keeps its stage and figures."""
    patch = body.model_dump(exclude_unset=True)
    if "lines" in patch:
        patch["lines"] = body.lines  # priced by the service from the parsed lines
    changed = service.update_opportunity(db, who.tenant, opportunity_id, patch,
                                         check_version=lambda version: check_if_match(request, version),
                                         by=who.subject, may_approve=who.allows(contract.APPROVE_SCOPE))
    written(response, version=changed.opportunity.version)
    return opportunity_out(changed)


@router.post("/opportunities/{opportunity_id:uuid}/reopen", response_model=OpportunityOut,
             summary="Reopen a won or lost opportunity into an open stage (needs sales:approve; honours If-Match)",
             responses={412: {"description": "If-Match names a version that is no longer current."}})
def reopen_opportunity(opportunity_id: uuid.UUID, body: ReopenIn, request: Request, response: Response,
                       db: DbSession, who: Approver) -> OpportunityOut:
    reopened = service.reopen_opportunity(db, who.tenant, opportunity_id, body.stage, by=who.subject,
                                          check_version=lambda version: check_if_match(request, version))
    written(response, version=reopened.opportunity.version)
    return opportunity_out(reopened)


@router.get("/opportunities/{opportunity_id:uuid}/history", response_model=Page[StageChangeOut],
            summary="An opportunity's stage changes, oldest first")
def stage_history(opportunity_id: uuid.UUID, db: DbSession, who: Reader, paging: Paging) -> Page[StageChangeOut]:
    changes = service.stage_history(db, who.tenant, opportunity_id, paging)
    return Page(items=[stage_change_out(c) for c in changes[: paging.limit]],
                next_cursor=next_cursor([c.id for c in changes], paging.limit))
