"""HTTP edges of the campaign service: parse, authorise, call the rules, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services.campaign import domain, events, repository
from services.campaign.schemas import (
    CampaignCreate,
    CampaignOut,
    CampaignPatch,
    Channel,
    MemberAdd,
    MemberOut,
    MemberStatus,
    Status,
)
from services.campaign.tables import Campaign, CampaignMember
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.errors import Conflict, NotFound
from shared.http import DbSession, Page, Paging, check_if_match, commit_write, etag, next_cursor, patience
from shared.ids import new_id
from shared.replica import CustomerReplica, embedded, find_customers, require_customer
from shared.types import Money

router = APIRouter(tags=["campaigns"])

Reader = Annotated[Principal, Depends(Scopes("campaigns:read"))]
Writer = Annotated[Principal, Depends(Scopes("campaigns:write"))]

CAMPAIGN_FIELDS = ("name", "channel", "budget_amount", "budget_currency", "status", "starts_on", "ends_on")


def campaign_out(campaign: Campaign) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        channel=campaign.channel,  # type: ignore[arg-type]
        budget=Money.of(campaign.budget_amount, campaign.budget_currency),
        status=campaign.status,  # type: ignore[arg-type]
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        version=campaign.version,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
    )


def member_out(member: CampaignMember, customer: CustomerReplica | None) -> MemberOut:
    return MemberOut(
        id=member.id,
        campaign_id=member.campaign_id,
        customer_id=member.customer_id,
        customer=embedded(customer, member.customer_id),
        status=member.status,  # type: ignore[arg-type]
        added_at=member.added_at,
        updated_at=member.updated_at,
    )


def _found(db: DbSession, tenant: str, campaign_id: uuid.UUID) -> Campaign:
    campaign = repository.get_campaign(db, tenant, campaign_id)
    if campaign is None:
        raise NotFound(f"No campaign {campaign_id}.")
    return campaign


@router.post("/campaigns", status_code=201, response_model=CampaignOut, summary="Plan a campaign")
def create_campaign(body: CampaignCreate, request: Request, db: DbSession, who: Writer) -> Response:
    budget = domain.check_budget(body.budget.amount, body.budget.currency)
    domain.check_dates(body.starts_on, body.ends_on)
    now = utcnow()
    campaign = Campaign(
        id=new_id(), tenant_id=who.tenant, name=body.name, channel=body.channel, budget_amount=budget,
        budget_currency=body.budget.currency, status="draft", starts_on=body.starts_on, ends_on=body.ends_on,
        version=1, created_at=now, updated_at=now,
    )
    db.add(campaign)
    out = campaign_out(campaign)
    events.campaign_changed(db, who.tenant, "created", out.model_dump(mode="json"))
    return commit_write(db, request, out, status=201, version=1, location=f"/v1/campaigns/{campaign.id}")


@router.get("/campaigns", response_model=Page[CampaignOut], summary="List campaigns")
def list_campaigns(
    db: DbSession, who: Reader, paging: Paging, status: Status | None = None, channel: Channel | None = None
) -> Page[CampaignOut]:
    rows = repository.list_campaigns(db, who.tenant, paging, {"status": status, "channel": channel})
    return Page(items=[campaign_out(c) for c in rows[: paging.limit]],
                next_cursor=next_cursor([c.id for c in rows], paging.limit))


# Declared before /campaigns/{campaign_id}, which would otherwise take "memberships" for a campaign id.
@router.get("/campaigns/memberships", response_model=Page[MemberOut], summary="One customer's campaign memberships")
def list_memberships(customer_id: uuid.UUID, db: DbSession, who: Reader, paging: Paging) -> Page[MemberOut]:
    rows = repository.list_memberships(db, who.tenant, customer_id, paging)
    shown = rows[: paging.limit]
    customers = find_customers(db, who.tenant, {m.customer_id for m in shown})
    return Page(items=[member_out(m, customers.get(m.customer_id)) for m in shown],
                next_cursor=next_cursor([m.id for m in rows], paging.limit))


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut, summary="Read a campaign")
def get_campaign(campaign_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> CampaignOut:
    campaign = _found(db, who.tenant, campaign_id)
    response.headers["ETag"] = etag(campaign.version)
    return campaign_out(campaign)


@router.patch("/campaigns/{campaign_id}", response_model=CampaignOut, summary="Change a campaign (honours If-Match)")
def patch_campaign(campaign_id: uuid.UUID, body: CampaignPatch, request: Request, db: DbSession, who: Writer) -> Response:
    campaign = _found(db, who.tenant, campaign_id)
    check_if_match(request, campaign.version)
    fields = domain.patch_fields(body.model_dump(exclude_unset=True))
    diff = domain.change_campaign({name: getattr(campaign, name) for name in CAMPAIGN_FIELDS}, fields)
    if diff:
        for name, change in diff.items():
            setattr(campaign, name, change["new"])
        campaign.version += 1
        campaign.updated_at = utcnow()
        events.campaign_changed(db, who.tenant, "updated", campaign_out(campaign).model_dump(mode="json"), diff)
    return commit_write(db, request, campaign_out(campaign), version=campaign.version)


@router.post("/campaigns/{campaign_id}/members", status_code=201, response_model=MemberOut,
             summary="Add a customer to a campaign")
def add_member(campaign_id: uuid.UUID, body: MemberAdd, request: Request, db: DbSession, who: Writer) -> Response:
    customer = require_customer(db, who.tenant, body.customer_id, wait_seconds=patience(request))
    campaign = _found(db, who.tenant, campaign_id)
    domain.check_can_add_member(campaign.status)
    member = repository.get_member(db, campaign_id, body.customer_id)
    now = utcnow()
    if member is not None and member.status == "member":
        raise Conflict(f"Customer {body.customer_id} is already a member of this campaign.")
    if member is None:
        member = CampaignMember(id=new_id(), tenant_id=who.tenant, campaign_id=campaign_id,
                                customer_id=body.customer_id, added_at=now)
        db.add(member)
    member.status = "member"
    member.updated_at = now
    out = member_out(member, customer)
    events.member_changed(db, who.tenant, "added", member, campaign.name)
    return commit_write(db, request, out, status=201, location=f"/v1/campaigns/{campaign_id}/members/{body.customer_id}")


@router.get("/campaigns/{campaign_id}/members", response_model=Page[MemberOut], summary="List a campaign's members")
def list_members(
    campaign_id: uuid.UUID, db: DbSession, who: Reader, paging: Paging, status: MemberStatus | None = None
) -> Page[MemberOut]:
    _found(db, who.tenant, campaign_id)
    rows = repository.list_members(db, campaign_id, paging, status)
    shown = rows[: paging.limit]
    customers = find_customers(db, who.tenant, {m.customer_id for m in shown})
    return Page(items=[member_out(m, customers.get(m.customer_id)) for m in shown],
                next_cursor=next_cursor([m.id for m in rows], paging.limit))


@router.delete("/campaigns/{campaign_id}/members/{customer_id}", status_code=204,
               summary="Remove a customer from a campaign")
def remove_member(campaign_id: uuid.UUID, customer_id: uuid.UUID, request: Request, db: DbSession, who: Writer) -> Response:
    campaign = _found(db, who.tenant, campaign_id)
    member = repository.get_member(db, campaign_id, customer_id)
    if member is None or member.status != "member":
        raise NotFound(f"Customer {customer_id} is not a member of campaign {campaign_id}.")
    member.status = "removed"
    member.updated_at = utcnow()
    events.member_changed(db, who.tenant, "removed", member, campaign.name)
    return commit_write(db, request, None, status=204)
