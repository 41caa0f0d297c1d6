"""The campaign report: gather the campaign's members, sends and responses, every touch of its customers
and what sales made of them, then let the rules count, attribute and price it.

The value tier is the customer's tier now (the view replica's); a customer the replica no longer knows
(erased) counts as unclassified. The cost is the costs booked so far; a variant's or a tier's part of it
follows the messages it took. Won revenue in another currency than the budget's is converted at the rate
of the day it was won, and listed apart (never in the ROI) when sales has no rate for it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from services.campaign.campaigns import repository as campaigns
from services.campaign.campaigns import service as campaign_cases
from services.campaign.campaigns.tables import Campaign, CampaignMember
from services.campaign.customers import repository as customers
from services.campaign.outcomes import repository as outcomes
from services.campaign.outcomes import service as outcomes_service
from services.campaign.outcomes.tables import LeadOutcome
from services.campaign.reports import rules
from services.campaign.reports.rules import Tally, Touch
from services.campaign.responses import repository as responses
from services.campaign.sends import repository as sends
from shared.db import utcnow
from shared.exchange_rates import RateBook


@dataclass
class Report:
    campaign: Campaign
    model: str
    lookback_days: int
    as_of: datetime
    total: Tally = field(default_factory=Tally)
    by_variant: dict[str | None, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_tier: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))

    def groups(self, variant: str | None, tier: str) -> tuple[Tally, Tally, Tally]:
        return self.total, self.by_variant[variant], self.by_tier[tier]


@dataclass(frozen=True)
class _Facts:
    """What the report reads, once."""

    members: dict[uuid.UUID, CampaignMember]  # by customer, removed ones too
    variants: dict[uuid.UUID, str | None]  # member customer -> variant
    tiers: dict[uuid.UUID, str]
    touches: dict[uuid.UUID, list[Touch]]  # customer -> touches of any campaign
    led: list[LeadOutcome]  # the leads this campaign's responses made
    rates: RateBook


def campaign_report(session: Session, tenant: str, campaign_id: uuid.UUID, *, model: str,
                    lookback_days: int) -> Report:
    campaign = campaign_cases.get_campaign(session, tenant, campaign_id)
    report = Report(campaign=campaign, model=model, lookback_days=lookback_days, as_of=utcnow())
    facts = _facts(session, tenant, campaign)
    _count_reach(session, report, facts)
    _attribute(session, tenant, report, facts, timedelta(days=lookback_days))
    return report


def _facts(session: Session, tenant: str, campaign: Campaign) -> _Facts:
    members = campaigns.members_of(session, campaign.id)
    variants = {customer_id: member.variant for customer_id, member in members.items()}
    led = outcomes.leads_from(session, tenant, {campaign.id})
    known = set(variants) | {lead.customer_id for lead in led if lead.customer_id is not None}
    touches: dict[uuid.UUID, list[Touch]] = defaultdict(list)
    for response in responses.responses_of(session, tenant, known):
        if response.kind in rules.TOUCH_KINDS:
            # A response to this campaign counts for the variant its member was given (one recorded over the
            # API may name none).
            variant = (variants.get(response.customer_id) or response.variant if response.campaign_id == campaign.id
                       else response.variant)
            touches[response.customer_id].append(Touch(response.campaign_id, variant, response.occurred_at))
    tiers = {customer_id: rules.value_tier(replica.view)
             for customer_id, replica in customers.find_customers(session, tenant, known).items()}
    return _Facts(members=members, variants=variants, tiers=tiers, touches=touches, led=led,
                  rates=outcomes.rate_book(session, tenant))


def _tier(facts: _Facts, customer_id: uuid.UUID | None) -> str:
    return facts.tiers.get(customer_id, rules.UNCLASSIFIED) if customer_id is not None else rules.UNCLASSIFIED


def _count_reach(session: Session, report: Report, facts: _Facts) -> None:
    campaign = report.campaign
    for customer_id, member in facts.members.items():
        if member.status == "member":
            for tally in report.groups(member.variant, _tier(facts, customer_id)):
                tally.members += 1
    for customer_id, variant, status in sends.send_statuses(session, campaign.id):
        for tally in report.groups(variant, _tier(facts, customer_id)):
            tally.count_send(status)
    kinds: dict[uuid.UUID, set[str]] = defaultdict(set)
    for response in responses.responses_to(session, campaign.tenant_id, {campaign.id}):
        kinds[response.customer_id].add(response.kind)
    for customer_id, seen in kinds.items():
        for tally in report.groups(facts.variants.get(customer_id), _tier(facts, customer_id)):
            tally.count_responses(seen)


def _attribute(session: Session, tenant: str, report: Report, facts: _Facts, lookback: timedelta) -> None:
    campaign, model = report.campaign, report.model
    customer_ids = set(facts.touches)
    leads = {lead.id: lead for lead in [*outcomes.leads_of(session, tenant, customer_ids), *facts.led]}
    for lead in leads.values():
        customer = lead.customer_id  # None: a lead without a customer yet, with no touches and no variant
        touches = rules.lead_touches(facts.touches.get(customer, []) if customer else [], lead.campaign_id,
                                     facts.variants.get(customer) if customer else None, lead.created_at, lookback)
        for touch, credit in _ours(campaign, rules.credits(touches, lead.created_at, model, lookback)):
            for tally in report.groups(touch.variant, _tier(facts, lead.customer_id)):
                tally.leads += credit
    for opportunity in outcomes.opportunities_of(session, tenant, customer_ids):
        touches = facts.touches[opportunity.customer_id]
        tier = _tier(facts, opportunity.customer_id)
        for touch, credit in _ours(campaign, rules.credits(touches, opportunity.created_at, model, lookback)):
            for tally in report.groups(touch.variant, tier):
                tally.opportunities += credit
        if opportunity.won_at is None:
            continue
        converted = outcomes_service.won_value(opportunity, campaign.budget_currency, facts.rates)
        for touch, credit in _ours(campaign, rules.credits(touches, opportunity.won_at, model, lookback)):
            for tally in report.groups(touch.variant, tier):
                tally.won_deals += credit
                if converted is not None:
                    tally.revenue += converted * credit
                else:
                    tally.unconverted[opportunity.currency] = (
                        tally.unconverted.get(opportunity.currency, Decimal(0)) + opportunity.amount * credit)


def _ours(campaign: Campaign, shared_out: list[tuple[Touch, Decimal]]) -> list[tuple[Touch, Decimal]]:
    return [(touch, credit) for touch, credit in shared_out if touch.campaign_id == campaign.id]
