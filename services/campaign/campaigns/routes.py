"""HTTP edges of campaigns, their launch, costs and members: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response

from services.campaign import contract
from services.campaign.campaigns import service
from services.campaign.campaigns.schemas import (
    CampaignCreate,
    CampaignOut,
    CampaignPatch,
    Channel,
    CostIn,
    CostOut,
    LaunchOut,
    MemberAdd,
    MemberOut,
    MemberStatus,
    Status,
)
from services.campaign.campaigns.tables import Campaign, CampaignCost
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, check_if_match, etag, feature_router, next_cursor, patience, written
from shared.replica import embedded
from shared.types import Money

router = feature_router(tags=["campaigns"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


def campaign_out(campaign: Campaign) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        channel=campaign.channel,  # type: ignore[arg-type]
        budget=Money.of(campaign.budget_amount, campaign.budget_currency),
        actual_cost=Money.of(campaign.spent_amount, campaign.budget_currency),
        status=campaign.status,  # type: ignore[arg-type]
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        objective=campaign.objective,
        owner=campaign.owner,
        audience_id=campaign.audience_id,
        variants=campaign.variants,  # type: ignore[arg-type]
        test_share=campaign.test_share,
        winner_metric=campaign.winner_metric,  # type: ignore[arg-type]
        test_window_hours=campaign.test_window_hours,
        winner=campaign.winner,
        winner_chosen_at=campaign.winner_chosen_at,
        winner_reason=campaign.winner_reason,
        launched_at=campaign.launched_at,
        version=campaign.version,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
    )


def member_out(shown: service.Shown) -> MemberOut:
    member = shown.member
    return MemberOut(
        id=member.id,
        campaign_id=member.campaign_id,
        customer_id=member.customer_id,
        customer=embedded(shown.customer, member.customer_id),
        status=member.status,  # type: ignore[arg-type]
        variant=member.variant,
        added_at=member.added_at,
        updated_at=member.updated_at,
    )


def cost_out(cost: CampaignCost) -> CostOut:
    return CostOut(id=cost.id, campaign_id=cost.campaign_id, amount=Money.of(cost.amount, cost.currency),
                   incurred_on=cost.incurred_on, description=cost.description, created_at=cost.created_at)


def members_page(shown: list[service.Shown], paging: Paging) -> Page[MemberOut]:
    return Page(items=[member_out(s) for s in shown[: paging.limit]],
                next_cursor=next_cursor([s.member.id for s in shown], paging.limit))


@router.post("/campaigns", status_code=201, response_model=CampaignOut, summary="Plan a campaign")
def create_campaign(body: CampaignCreate, response: Response, db: DbSession, who: Writer) -> CampaignOut:
    campaign = service.create_campaign(db, who.tenant, body)
    written(response, version=campaign.version, location=f"/v1/campaigns/{campaign.id}")
    return campaign_out(campaign)


@router.get("/campaigns", response_model=Page[CampaignOut], summary="List campaigns")
def list_campaigns(
    db: DbSession, who: Reader, paging: Paging, status: Status | None = None, channel: Channel | None = None
) -> Page[CampaignOut]:
    rows = service.list_campaigns(db, who.tenant, paging, {"status": status, "channel": channel})
    return Page(items=[campaign_out(c) for c in rows[: paging.limit]],
                next_cursor=next_cursor([c.id for c in rows], paging.limit))


# Declared before /campaigns/{campaign_id}, which would otherwise take "memberships" for a campaign id.
@router.get("/campaigns/memberships", response_model=Page[MemberOut], summary="One customer's campaign memberships")
def list_memberships(customer_id: uuid.UUID, db: DbSession, who: Reader, paging: Paging) -> Page[MemberOut]:
    return members_page(service.list_memberships(db, who.tenant, customer_id, paging), paging)


@router.get("/campaigns/{campaign_id:uuid}", response_model=CampaignOut, summary="Read a campaign")
def get_campaign(campaign_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> CampaignOut:
    campaign = service.get_campaign(db, who.tenant, campaign_id)
    response.headers["ETag"] = etag(campaign.version)
    return campaign_out(campaign)


@router.patch("/campaigns/{campaign_id:uuid}", response_model=CampaignOut, summary="Change a campaign (honours If-Match)")
def patch_campaign(campaign_id: uuid.UUID, body: CampaignPatch, request: Request, response: Response, db: DbSession,
                   who: Writer) -> CampaignOut:
    campaign = service.update_campaign(db, who.tenant, campaign_id, body.model_dump(exclude_unset=True),
                                       check_version=lambda version: check_if_match(request, version))
    written(response, version=campaign.version)
    return campaign_out(campaign)


@router.post("/campaigns/{campaign_id:uuid}/launch", response_model=LaunchOut,
             summary="Launch a draft: freeze its audience into members, give each a variant (honours If-Match)")
def launch_campaign(campaign_id: uuid.UUID, request: Request, response: Response, db: DbSession,
                    who: Writer) -> LaunchOut:
    launched = service.launch_campaign(db, who.tenant, campaign_id,
                                       check_version=lambda version: check_if_match(request, version))
    written(response, version=launched.campaign.version)
    return LaunchOut(campaign=campaign_out(launched.campaign), members=launched.members,
                     by_variant=launched.by_variant, awaiting_winner=launched.awaiting_winner)


@router.post("/campaigns/{campaign_id:uuid}/costs", status_code=201, response_model=CostOut,
             summary="Book a cost the campaign actually had")
def add_cost(campaign_id: uuid.UUID, body: CostIn, response: Response, db: DbSession, who: Writer) -> CostOut:
    cost = service.add_cost(db, who.tenant, campaign_id, body)
    written(response, location=f"/v1/campaigns/{campaign_id}/costs/{cost.id}")
    return cost_out(cost)


@router.get("/campaigns/{campaign_id:uuid}/costs", response_model=Page[CostOut], summary="List a campaign's costs")
def list_costs(campaign_id: uuid.UUID, db: DbSession, who: Reader, paging: Paging) -> Page[CostOut]:
    rows = service.list_costs(db, who.tenant, campaign_id, paging)
    return Page(items=[cost_out(c) for c in rows[: paging.limit]],
                next_cursor=next_cursor([c.id for c in rows], paging.limit))


@router.post("/campaigns/{campaign_id:uuid}/members", status_code=201, response_model=MemberOut,
             summary="Add a customer to a campaign")
def add_member(campaign_id: uuid.UUID, body: MemberAdd, request: Request, response: Response, db: DbSession,
               who: Writer) -> MemberOut:
    added = service.add_member(db, who.tenant, campaign_id, body.customer_id, wait_seconds=patience(request))
    written(response, location=f"/v1/campaigns/{campaign_id}/members/{body.customer_id}")
    return member_out(added)


@router.get("/campaigns/{campaign_id:uuid}/members", response_model=Page[MemberOut], summary="List a campaign's members")
def list_members(
    campaign_id: uuid.UUID, db: DbSession, who: Reader, paging: Paging, status: MemberStatus | None = None
) -> Page[MemberOut]:
    return members_page(service.list_members(db, who.tenant, campaign_id, paging, status), paging)


@router.delete("/campaigns/{campaign_id:uuid}/members/{customer_id:uuid}", status_code=204, response_model=None,
               summary="Remove a customer from a campaign")
def remove_member(campaign_id: uuid.UUID, customer_id: uuid.UUID, db: DbSession, who: Writer) -> None:
    service.remove_member(db, who.tenant, campaign_id, customer_id)
