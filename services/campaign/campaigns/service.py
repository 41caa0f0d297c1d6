"""Campaign use cases: plan, list, read and change campaigns, launch them, book their costs, manage their
members, and move memberships with their customers' life cycle.

A launch freezes who the campaign is for: the audience's members as its stored membership holds them
at that moment join (those a marketer removed by hand stay removed), every member gets its A/B
variant, and the campaign is scheduled (a start day ahead) or running. Later changes to the audience
no longer change the campaign; consent is checked again at each send.

Every function works inside the caller's unit of work and never commits; each change
publishes its event in the same transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from services.campaign import contract
from services.campaign.audiences import service as audiences
from services.campaign.campaigns import repository, rules
from services.campaign.campaigns.schemas import CampaignCreate, CostIn
from services.campaign.campaigns.tables import Campaign, CampaignCost, CampaignMember
from services.campaign.customers import repository as customers
from services.campaign.customers.tables import CustomerReplica
from services.campaign.outcomes import repository as outcomes
from services.campaign.outcomes import service as outcomes_service
from services.campaign.sends import repository as sends
from shared.bulk import write_outbox, write_rows
from shared.contract import EventType
from shared.db import unit_of_work, utcnow
from shared.errors import Conflict, InvalidInput, NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.outbox import outbox_row, publish
from shared.settings import Settings
from shared.types import Money

# What a PATCH may change, read before the change to diff against.
CAMPAIGN_FIELDS = ("name", "channel", "budget_amount", "budget_currency", "status", "starts_on", "ends_on",
                   "objective", "owner", "audience_id", "variants", "test_share", "winner_metric", "test_window_hours")


@dataclass(frozen=True)
class Launched:
    """A launched campaign and who it froze: members per variant, and those waiting for the winner."""

    campaign: Campaign
    members: int
    by_variant: dict[str, int]
    awaiting_winner: int


@dataclass(frozen=True)
class Shown:
    """A membership with its customer as the replica knows it (None: erased or not replicated yet)."""

    member: CampaignMember
    customer: CustomerReplica | None


def create_campaign(session: Session, tenant: str, body: CampaignCreate) -> Campaign:
    budget = rules.check_budget(body.budget.amount, body.budget.currency)
    rules.check_dates(body.starts_on, body.ends_on)
    variants = [v.model_dump(exclude_none=True) for v in body.variants]
    rules.check_variants(variants)
    rules.check_ab_test(variants, body.test_share, body.winner_metric, body.test_window_hours)
    _check_audience(session, tenant, body.audience_id)
    now = utcnow()
    campaign = Campaign(
        id=new_id(), tenant_id=tenant, name=body.name, channel=body.channel, budget_amount=budget,
        budget_currency=body.budget.currency, status="draft", starts_on=body.starts_on, ends_on=body.ends_on,
        objective=body.objective, owner=body.owner, audience_id=body.audience_id, variants=variants,
        test_share=body.test_share, winner_metric=body.winner_metric, test_window_hours=body.test_window_hours,
        winner=None, winner_chosen_at=None, winner_reason=None, launched_at=None, spent_amount=Decimal(0), version=1, created_at=now,
        updated_at=now,
    )
    session.add(campaign)
    publish(session, contract.CAMPAIGN_CREATED, contract.CampaignCreated(campaign=_facts(campaign)),
            subject=str(campaign.id), tenant=tenant)
    return campaign


def list_campaigns(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Campaign]:
    """The page's campaigns, plus one more if there is a next page."""
    return repository.list_campaigns(session, tenant, page, filters)


def get_campaign(session: Session, tenant: str, campaign_id: uuid.UUID, *, for_update: bool = False) -> Campaign:
    campaign = repository.get_campaign(session, tenant, campaign_id, for_update=for_update)
    if campaign is None:
        raise NotFound(f"No campaign {campaign_id}.")
    return campaign


def update_campaign(session: Session, tenant: str, campaign_id: uuid.UUID, patch: dict[str, Any], *,
                    check_version: Callable[[int], None]) -> Campaign:
    """Apply a partial update; ``check_version`` refuses a stale one (the client's If-Match)."""
    campaign = get_campaign(session, tenant, campaign_id, for_update=True)
    check_version(campaign.version)
    fields = rules.patch_fields(patch)
    if fields.get("audience_id") is not None:
        _check_audience(session, tenant, fields["audience_id"])
    current = {name: getattr(campaign, name) for name in CAMPAIGN_FIELDS}
    diff = rules.change_campaign(current, fields)
    after = current | {name: change["new"] for name, change in diff.items()}
    rules.check_ab_test(after["variants"] or [], after["test_share"], after["winner_metric"], after["test_window_hours"])
    if diff:
        _changed(session, tenant, campaign, diff)
    return campaign


def launch_campaign(session: Session, tenant: str, campaign_id: uuid.UUID, *,
                    check_version: Callable[[int], None]) -> Launched:
    """Freeze the members (the audience's now, and those added by hand), give each its variant, and
    schedule or run the campaign. The campaign row is locked, so two launches cannot both freeze."""
    campaign = get_campaign(session, tenant, campaign_id, for_update=True)
    check_version(campaign.version)
    existing = repository.members_of(session, campaign.id)
    from_audience = _audience_members(session, tenant, campaign.audience_id) if campaign.status == "draft" else []
    joining = [c for c in from_audience if c not in existing]
    current = [m for m in existing.values() if m.status == "member"]
    rules.check_launch(campaign.status, campaign.budget_amount, bool(current or joining))
    variants = [rules.Variant(v["name"], int(v["share"])) for v in campaign.variants]
    everyone = [m.customer_id for m in current] + joining
    assigned = rules.assign_variants([(_digest(campaign.id, c), c) for c in everyone], variants, campaign.test_share)
    for member in current:
        member.variant = assigned[member.customer_id]
    now = utcnow()
    _freeze(session, tenant, campaign, joining, assigned, now)
    _changed(session, tenant, campaign, {
        "status": {"old": campaign.status, "new": rules.status_at_launch(campaign.starts_on, now.date())},
        "launched_at": {"old": None, "new": now}})
    counts = Counter(v for v in assigned.values() if v is not None)
    return Launched(campaign=campaign, members=len(everyone), by_variant=dict(counts),
                    awaiting_winner=sum(1 for v in assigned.values() if v is None) if variants else 0)


def start_due_campaigns(sessions: sessionmaker[Session], settings: Settings) -> int:
    """The ``campaign-start`` job: scheduled campaigns whose start day has come are running now."""
    started = 0
    with unit_of_work(sessions) as session:
        for campaign in repository.scheduled_due(session, utcnow().date()):
            _changed(session, campaign.tenant_id, campaign, {"status": {"old": "scheduled", "new": "running"}})
            started += 1
    return started


def choose_winners(sessions: sessionmaker[Session], settings: Settings) -> int:
    """The ``campaign-start`` job's second half: running A/B tests whose window has passed get their winner,
    which the members outside the test are given. Each campaign row is locked, so a winner is chosen once."""
    chosen = 0
    with unit_of_work(sessions) as session:
        now = utcnow()
        for campaign in repository.tests_due(session, now):
            winner, reason = rules.choose_winner(str(campaign.winner_metric), _variant_results(session, campaign))
            repository.give_waiting_members(session, campaign.id, winner, now)
            sends.release_held(session, campaign.id, winner, now)
            _changed(session, campaign.tenant_id, campaign, {
                "winner": {"old": None, "new": winner}, "winner_chosen_at": {"old": None, "new": now},
                "winner_reason": {"old": None, "new": reason}})
            chosen += 1
    return chosen


def _variant_results(session: Session, campaign: Campaign) -> list[rules.VariantResult]:
    names = [v["name"] for v in campaign.variants]
    metric = str(campaign.winner_metric)
    if metric in rules.RESPONSE_METRICS:
        return [rules.VariantResult(name, members, responders) for name, members, responders
                in repository.variant_results(session, campaign, names)]
    tested = {customer_id: member.variant for customer_id, member in repository.members_of(session, campaign.id).items()
              if member.status == "member" and member.variant is not None}
    leads = {lead.customer_id: lead for lead in outcomes.leads_from(session, campaign.tenant_id, {campaign.id})
             if lead.customer_id in tested}
    members = Counter(tested.values())
    if metric == "leads":
        made = Counter(tested[customer_id] for customer_id in leads)
        return [rules.VariantResult(name, members[name], made[name]) for name in names]
    deals_of = {lead.opportunity_id: customer_id for customer_id, lead in leads.items()
                if lead.opportunity_id is not None}
    rates = outcomes.rate_book(session, campaign.tenant_id)
    revenue: dict[str, Decimal] = {name: Decimal(0) for name in names}
    deals: Counter[str] = Counter()
    for deal in outcomes.opportunities(session, campaign.tenant_id, set(deals_of)):
        amount = outcomes_service.won_value(deal, campaign.budget_currency, rates)
        # None: not won, or in a currency without a rate (which cannot be weighed against the others).
        if amount is not None:
            revenue[tested[deals_of[deal.id]]] += amount
            deals[tested[deals_of[deal.id]]] += 1
    return [rules.VariantResult(name, members[name], deals[name], revenue[name], campaign.budget_currency)
            for name in names]


def add_cost(session: Session, tenant: str, campaign_id: uuid.UUID, body: CostIn) -> CampaignCost:
    """Book money the campaign actually spent; its running total moves in the same transaction."""
    campaign = get_campaign(session, tenant, campaign_id, for_update=True)
    amount = rules.check_cost(body.amount.amount, body.amount.currency, campaign.budget_currency)
    cost = CampaignCost(id=new_id(), tenant_id=tenant, campaign_id=campaign.id, amount=amount,
                        currency=body.amount.currency, incurred_on=body.incurred_on, description=body.description,
                        created_at=utcnow())
    session.add(cost)
    _changed(session, tenant, campaign, {"spent_amount": {"old": campaign.spent_amount,
                                                          "new": campaign.spent_amount + amount}})
    return cost


def list_costs(session: Session, tenant: str, campaign_id: uuid.UUID, page: PageRequest) -> list[CampaignCost]:
    """The page of a campaign's costs, plus one more if there is a next page."""
    get_campaign(session, tenant, campaign_id)
    return repository.list_costs(session, campaign_id, page)


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
                                variant=_late_variant(campaign, customer_id), added_at=now)
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
        budget=Money.of(campaign.budget_amount, campaign.budget_currency),
        actual_cost=Money.of(campaign.spent_amount, campaign.budget_currency), status=campaign.status,
        starts_on=campaign.starts_on, ends_on=campaign.ends_on, objective=campaign.objective, owner=campaign.owner,
        audience_id=campaign.audience_id,
        variants=[contract.VariantFacts(name=v["name"], share=v["share"]) for v in campaign.variants],
        test_share=campaign.test_share, winner_metric=campaign.winner_metric,
        test_window_hours=campaign.test_window_hours, winner=campaign.winner,
        winner_chosen_at=campaign.winner_chosen_at, winner_reason=campaign.winner_reason,
        launched_at=campaign.launched_at, version=campaign.version,
        created_at=campaign.created_at, updated_at=campaign.updated_at,
    )


def _changed(session: Session, tenant: str, campaign: Campaign, diff: dict[str, dict[str, Any]]) -> None:
    for name, change in diff.items():
        setattr(campaign, name, change["new"])
    campaign.version += 1
    campaign.updated_at = utcnow()
    publish(session, contract.CAMPAIGN_UPDATED, contract.CampaignChanged(campaign=_facts(campaign), changes=diff),
            subject=str(campaign.id), tenant=tenant)


def _check_audience(session: Session, tenant: str, audience_id: uuid.UUID | None) -> None:
    if audience_id is not None:
        try:
            audiences.get_audience(session, tenant, audience_id)
        except NotFound:
            raise InvalidInput.on("audience_id", f"no audience {audience_id}") from None


def _audience_members(session: Session, tenant: str, audience_id: uuid.UUID | None) -> list[uuid.UUID]:
    if audience_id is None:
        return []
    _check_audience(session, tenant, audience_id)
    return audiences.member_ids(session, tenant, audience_id)


def _digest(campaign_id: uuid.UUID, customer_id: uuid.UUID) -> str:
    return hashlib.sha256(f"{campaign_id}:{customer_id}".encode()).hexdigest()


def _late_variant(campaign: Campaign, customer_id: uuid.UUID) -> str | None:
    """A member added after the launch: a variant by the shares, from the digest (no test: the split is
    everyone's); in an A/B test, the winner once chosen, until then none."""
    if campaign.status == "draft" or not campaign.variants:
        return None
    if campaign.test_share is not None:
        return campaign.winner
    bucket = int(_digest(campaign.id, customer_id)[:8], 16) % 100
    for variant in campaign.variants:
        bucket -= int(variant["share"])
        if bucket < 0:
            return str(variant["name"])
    return None


def _freeze(session: Session, tenant: str, campaign: Campaign, joining: list[uuid.UUID],
            assigned: dict[uuid.UUID, str | None], now: datetime) -> None:
    """The audience's members join, written set-based with their events (an audience can hold millions)."""
    rows, events = [], []
    for customer_id in joining:
        member_id = new_id()
        rows.append({"id": member_id, "tenant_id": tenant, "campaign_id": campaign.id, "customer_id": customer_id,
                     "status": "member", "variant": assigned[customer_id], "added_at": now, "updated_at": now})
        events.append(outbox_row(contract.MEMBER_ADDED, contract.MemberChanged(
            member_id=member_id, campaign_id=campaign.id, campaign_name=campaign.name, customer_id=customer_id,
            status="member", variant=assigned[customer_id]).model_dump(mode="json"),
            subject=str(customer_id), tenant=tenant, occurred_at=now))
    session.flush()
    write_rows(session, CampaignMember.__table__, rows)  # type: ignore[arg-type]
    write_outbox(session, events)


def _member_changed(session: Session, tenant: str, event_type: EventType, member: CampaignMember, campaign_name: str, *,
                    customer_id: uuid.UUID | None = None, status: str | None = None) -> None:
    """A member event about ``customer_id`` (default: the member's customer), keyed by that customer."""
    about = customer_id or member.customer_id
    publish(session, event_type, contract.MemberChanged(
        member_id=member.id, campaign_id=member.campaign_id, campaign_name=campaign_name, customer_id=about,
        status=status or member.status, variant=member.variant), subject=str(about), tenant=tenant)
