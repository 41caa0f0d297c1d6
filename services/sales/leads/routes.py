"""HTTP edges of leads: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request, Response

from services.sales import contract
from services.sales.leads import service
from services.sales.leads.schemas import (
    ConvertIn,
    DisqualifyIn,
    HistoryOut,
    LeadCreate,
    LeadOut,
    LeadPatch,
    QualifyIn,
    ScoreReason,
    ScoringRuleIn,
    ScoringRulesIn,
    ScoringRulesOut,
    Source,
    Status,
)
from services.sales.leads.rules import ScoringRule
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, check_if_match, etag, feature_router, next_cursor, patience, written
from shared.openapi import UNAVAILABLE
from shared.replica import embedded

router = feature_router(tags=["leads"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


def lead_out(shown: service.Shown) -> LeadOut:
    lead = shown.lead
    return LeadOut(
        id=lead.id, status=lead.status, source=lead.source, campaign_id=lead.campaign_id,  # type: ignore[arg-type]
        email=lead.email, phone=lead.phone, company=lead.company, given_name=lead.given_name,
        family_name=lead.family_name, country=lead.country, region=lead.region, industry=lead.industry,
        employees=lead.employees, score=lead.score,
        score_reasons=[ScoreReason.model_validate(r) for r in lead.score_reasons], responses=lead.responses,
        last_engaged_at=lead.last_engaged_at, team=lead.team, owner=lead.owner, queued=lead.queued_at is not None,
        first_touch_due_at=lead.first_touch_due_at, overdue=lead.overdue_at is not None,
        customer_id=lead.customer_id,
        customer=embedded(shown.customer, lead.customer_id) if lead.customer_id else None,
        opportunity_id=lead.opportunity_id, reason=lead.reason, duplicate_of=shown.duplicate_of,
        matched_on=shown.matched_on, version=lead.version, created_at=lead.created_at, updated_at=lead.updated_at,
    )


@router.post("/leads", status_code=201, response_model=LeadOut, summary="Create a lead (de-duplicated)",
             responses={200: {"model": LeadOut, "description": (
                 "A duplicate of an open lead (same e-mail, phone or company domain, or the same customer): "
                 "folded into that lead's history, which is answered with duplicate_of and matched_on.")}})
def create_lead(body: LeadCreate, request: Request, response: Response, db: DbSession, who: Writer) -> LeadOut:
    """A new lead is scored and routed; it links the customer whose e-mail, phone or company domain it shares.

    A lead duplicating an open lead is not created: it is merged into the existing lead's
    history (filling in only what that lead did not know), and the answer is that lead,
    with ``200`` instead of ``201``. Free-mail domains (gmail.com, outlook.com, web.de ...)
    are no company domain.
    """
    shown = service.create_lead(db, who.tenant, body, wait_seconds=patience(request))
    if shown.duplicate_of is not None:
        response.status_code = 200
        written(response, version=shown.lead.version)
    else:
        written(response, version=shown.lead.version, location=f"/v1/leads/{shown.lead.id}")
    return lead_out(shown)


@router.get("/leads", response_model=Page[LeadOut], summary="List leads")
def list_leads(
    db: DbSession,
    who: Reader,
    paging: Paging,
    status: Status | None = None,
    source: Source | None = None,
    team: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    owner: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    customer_id: uuid.UUID | None = None,
) -> Page[LeadOut]:
    shown = service.list_leads(db, who.tenant, paging, {"status": status, "source": source, "team": team,
                                                        "owner": owner, "customer_id": customer_id})
    return Page(items=[lead_out(s) for s in shown[: paging.limit]],
                next_cursor=next_cursor([s.lead.id for s in shown], paging.limit))


@router.get("/leads/{lead_id:uuid}", response_model=LeadOut, summary="Read a lead")
def get_lead(lead_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> LeadOut:
    shown = service.get_lead(db, who.tenant, lead_id)
    response.headers["ETag"] = etag(shown.lead.version)
    return lead_out(shown)


@router.patch("/leads/{lead_id:uuid}", response_model=LeadOut,
              summary="Change a lead's contact fields, or start working it (honours If-Match)")
def patch_lead(lead_id: uuid.UUID, body: LeadPatch, request: Request, response: Response, db: DbSession,
               who: Writer) -> LeadOut:
    changed = service.update_lead(db, who.tenant, lead_id, body.model_dump(exclude_unset=True),
                                  check_version=lambda version: check_if_match(request, version))
    written(response, version=changed.lead.version)
    return lead_out(changed)


@router.post("/leads/{lead_id:uuid}/qualify", response_model=LeadOut, summary="Qualify a lead (honours If-Match)")
def qualify_lead(lead_id: uuid.UUID, body: QualifyIn, request: Request, response: Response, db: DbSession,
                 who: Writer) -> LeadOut:
    changed = service.qualify(db, who.tenant, lead_id, body.reason,
                              check_version=lambda version: check_if_match(request, version))
    written(response, version=changed.lead.version)
    return lead_out(changed)


@router.post("/leads/{lead_id:uuid}/disqualify", response_model=LeadOut,
             summary="Disqualify a lead, with the reason (honours If-Match)")
def disqualify_lead(lead_id: uuid.UUID, body: DisqualifyIn, request: Request, response: Response, db: DbSession,
                    who: Writer) -> LeadOut:
    changed = service.disqualify(db, who.tenant, lead_id, body.reason,
                                 check_version=lambda version: check_if_match(request, version))
    written(response, version=changed.lead.version)
    return lead_out(changed)


@router.post("/leads/{lead_id:uuid}/convert", response_model=LeadOut, responses=UNAVAILABLE,
             summary="Convert a lead into a customer and an opportunity")
def convert_lead(lead_id: uuid.UUID, body: ConvertIn, request: Request, response: Response, db: DbSession,
                 who: Writer) -> LeadOut:
    """Links ``customer_id``, else the customer the lead matched, else creates one in the customer service
    (as the caller, who then needs ``customers:write``; one customer per lead, however often retried),
    then opens the opportunity. The customer service unreachable: 503, nothing converted."""
    new_customer = service.customer_service(request.app.state.settings.customer_api,
                                            request.headers.get("authorization"))
    converted = service.convert(db, who.tenant, lead_id, body, new_customer=new_customer,
                                wait_seconds=patience(request), by=who.subject)
    written(response, version=converted.lead.version)
    return lead_out(converted)


@router.get("/leads/{lead_id:uuid}/history", response_model=Page[HistoryOut], summary="A lead's history")
def lead_history(lead_id: uuid.UUID, db: DbSession, who: Reader, paging: Paging) -> Page[HistoryOut]:
    """Oldest first: created, merged duplicates, assignments, queueing, status changes, engagement, conversion."""
    entries = service.history(db, who.tenant, lead_id, paging)
    return Page(items=[HistoryOut(id=e.id, at=e.at, action=e.action, details=e.details)
                       for e in entries[: paging.limit]],
                next_cursor=next_cursor([e.id for e in entries], paging.limit))


def scoring_out(found: tuple[list[ScoringRule], bool, int]) -> ScoringRulesOut:
    rules, defaults, version = found
    return ScoringRulesOut(rules=[ScoringRuleIn(rule=r.rule, field=r.field, values=list(r.values),  # type: ignore[arg-type]
                                                min=r.minimum, max=r.maximum, points=r.points) for r in rules],
                           defaults=defaults, version=version)


@router.get("/lead-scoring-rules", response_model=ScoringRulesOut, summary="The tenant's lead scoring rules")
def get_scoring_rules(response: Response, db: DbSession, who: Reader) -> ScoringRulesOut:
    """Each matching rule adds its points to a lead's score and is listed in its ``score_reasons``."""
    found = service.scoring_rules_of(db, who.tenant)
    response.headers["ETag"] = etag(found[2])
    return scoring_out(found)


@router.put("/lead-scoring-rules", response_model=ScoringRulesOut,
            summary="Replace the tenant's lead scoring rules (honours If-Match)")
def put_scoring_rules(body: ScoringRulesIn, request: Request, response: Response, db: DbSession,
                      who: Writer) -> ScoringRulesOut:
    """Text fields (industry, country, region, source, customer_tier) match ``values``; numbers (employees,
    responses, recency_days) match ``min``..``max``. Leads are scored with them from their next change."""
    found = service.replace_scoring_rules(db, who.tenant, body,
                                          check_version=lambda version: check_if_match(request, version))
    written(response, version=found[2])
    return scoring_out(found)
