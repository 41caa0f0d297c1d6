"""Campaign use cases: plan, list, read and change campaigns, manage their members, and move memberships
with their customers' life cycle.

Every function works inside the caller's unit of work and never commits; each change
publishes its event in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from services.campaign import contract
from services.campaign.campaigns import repository, rules
from services.campaign.campaigns.schemas import CampaignCreate
from services.campaign.campaigns.tables import Campaign, CampaignMember
from services.campaign.customers import repository as customers
from services.campaign.customers.tables import CustomerReplica
from shared.contract import EventType
from shared.db import utcnow
from shared.errors import Conflict, NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.outbox import publish
from shared.types import Money

# What a PATCH may change, read before the change to diff against.
CAMPAIGN_FIELDS = ("name", "channel", "budget_amount", "budget_currency", "status", "starts_on", "ends_on")


@dataclass(frozen=True)
class Shown:
    """A membership with its customer as the replica knows it (None: erased or not replicated yet)."""

    member: CampaignMember
    customer: CustomerReplica | None


def create_campaign(session: Session, tenant: str, body: CampaignCreate) -> Campaign:
    budget = rules.check_budget(body.budget.amount, body.budget.currency)
    rules.check_dates(body.starts_on, body.ends_on)
    now = utcnow()
    campaign = Campaign(
        id=new_id(), tenant_id=tenant, name=body.name, channel=body.channel, budget_amount=budget,
        budget_currency=body.budget.currency, status="draft", starts_on=body.starts_on, ends_on=body.ends_on,
        version=1, created_at=now, updated_at=now,
    )
    session.add(campaign)
    publish(session, contract.CAMPAIGN_CREATED, contract.CampaignCreated(campaign=_facts(campaign)),
            subject=str(campaign.id), tenant=tenant)
    return campaign


def list_campaigns(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Campaign]:
    """The page's campaigns, plus one more if there is a next page."""
    return repository.list_campaigns(session, tenant, page, filters)


def get_campaign(session: Session, tenant: str, campaign_id: uuid.UUID) -> Campaign:
    campaign = repository.get_campaign(session, tenant, campaign_id)
    if campaign is None:
        raise NotFound(f"No campaign {campaign_id}.")
    return campaign


def update_campaign(session: Session, tenant: str, campaign_id: uuid.UUID, patch: dict[str, Any], *,
                    check_version: Callable[[int], None]) -> Campaign:
    """Apply a partial update; ``check_version`` refuses a stale one (the client's If-Match)."""
    campaign = get_campaign(session, tenant, campaign_id)
    check_version(campaign.version)
    fields = rules.patch_fields(patch)
    diff = rules.change_campaign({name: getattr(campaign, name) for name in CAMPAIGN_FIELDS}, fields)
    if diff:
        for name, change in diff.items():
            setattr(campaign, name, change["new"])
        campaign.version += 1
        campaign.updated_at = utcnow()
        publish(session, contract.CAMPAIGN_UPDATED, contract.CampaignChanged(campaign=_facts(campaign), changes=diff),
                subject=str(campaign.id), tenant=tenant)
    return campaign


def add_member(session: Session, tenant: str, campaign_id: uuid.UUID, customer_id: uuid.UUID, *,
               wait_seconds: float) -> Shown:
    """The customer joins the campaign; a customer who left it before joins again under the same membership."""
    customer = customers.require_customer(session, tenant, customer_id, wait_seconds=wait_seconds)
    campaign = get_campaign(session, tenant, campaign_id)
    rules.check_can_add_member(campaign.status)
    member = repository.get_member(session, campaign_id, customer_id)
    now = utcnow()
    if member is not None and member.status == "member":
        raise Conflict(f"Customer {customer_id} is already a member of this campaign.")
    if member is None:
        member = CampaignMember(id=new_id(), tenant_id=tenant, campaign_id=campaign_id, customer_id=customer_id,
                                added_at=now)
        session.add(member)
    member.status = "member"
    member.updated_at = now
    _member_changed(session, tenant, contract.MEMBER_ADDED, member, campaign.name)
    return Shown(member, customer)


def list_members(session: Session, tenant: str, campaign_id: uuid.UUID, page: PageRequest,
                 status: str | None) -> list[Shown]:
    """The page's members of one campaign, plus one more if there is a next page."""
    get_campaign(session, tenant, campaign_id)
    return _shown(session, tenant, repository.list_members(session, campaign_id, page, status))


def list_memberships(session: Session, tenant: str, customer_id: uuid.UUID, page: PageRequest) -> list[Shown]:
    """The page of one customer's memberships in every campaign, plus one more if there is a next page."""
    return _shown(session, tenant, repository.list_memberships(session, tenant, customer_id, page))


def remove_member(session: Session, tenant: str, campaign_id: uuid.UUID, customer_id: uuid.UUID) -> None:
    campaign = get_campaign(session, tenant, campaign_id)
    member = repository.get_member(session, campaign_id, customer_id)
    if member is None or member.status != "member":
        raise NotFound(f"Customer {customer_id} is not a member of campaign {campaign_id}.")
    member.status = "removed"
    member.updated_at = utcnow()
    _member_changed(session, tenant, contract.MEMBER_REMOVED, member, campaign.name)


def movable_members(session: Session, members: list[CampaignMember], survivor: uuid.UUID) -> list[CampaignMember]:
    """One membership per customer and campaign: a membership the survivor already has in that campaign wins."""
    return [m for m in members if repository.get_member(session, m.campaign_id, survivor) is None]


def follow_customer(session: Session, tenant: str, member: CampaignMember, previous: uuid.UUID) -> None:
    """The previous customer leaves the campaign and the new one joins it, as far as anyone else can tell."""
    member.updated_at = utcnow()
    campaign = repository.campaign_of(session, member)
    name = campaign.name if campaign is not None else ""
    _member_changed(session, tenant, contract.MEMBER_MOVED, member, name, customer_id=previous, status="removed")
    _member_changed(session, tenant, contract.MEMBER_MOVED, member, name)


def erase_customer(session: Session, tenant: str, customer_id: uuid.UUID) -> None:
    """Memberships name no one once the customer is erased: they stay, for the campaign's figures."""


def _shown(session: Session, tenant: str, members: list[CampaignMember]) -> list[Shown]:
    found = customers.find_customers(session, tenant, {m.customer_id for m in members})
    return [Shown(m, found.get(m.customer_id)) for m in members]


def _facts(campaign: Campaign) -> contract.CampaignFacts:
    return contract.CampaignFacts(
        id=campaign.id, name=campaign.name, channel=campaign.channel,
        budget=Money.of(campaign.budget_amount, campaign.budget_currency), status=campaign.status,
        starts_on=campaign.starts_on, ends_on=campaign.ends_on, version=campaign.version,
        created_at=campaign.created_at, updated_at=campaign.updated_at,
    )


def _member_changed(session: Session, tenant: str, event_type: EventType, member: CampaignMember, campaign_name: str, *,
                    customer_id: uuid.UUID | None = None, status: str | None = None) -> None:
    """A member event about ``customer_id`` (default: the member's customer), keyed by that customer."""
    about = customer_id or member.customer_id
    publish(session, event_type, contract.MemberChanged(
        member_id=member.id, campaign_id=member.campaign_id, campaign_name=campaign_name, customer_id=about,
        status=status or member.status), subject=str(about), tenant=tenant)
