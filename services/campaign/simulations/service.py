"""Simulate a campaign's plan and its alternatives: gather the candidates, suppress as a send would, learn
the rates from the tenant's history on the channel, and let the rules add it up.

Suppression is what a send would decide now: no ``opt_in`` on the channel in the view (or a customer the
replica does not know) is ``no_consent``; reaching the channel's frequency cap already is
``frequency_cap``. The history is the last year of the tenant's other campaigns on the same channel; the
value tier is each customer's tier now.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from services.campaign.audiences import service as audiences
from services.campaign.campaigns import repository as campaigns
from services.campaign.campaigns import service as campaign_cases
from services.campaign.campaigns.tables import Campaign
from services.campaign.customers import repository as customers
from services.campaign.outcomes import repository as outcomes
from services.campaign.outcomes import service as outcomes_service
from services.campaign.reports.rules import INTEREST_KINDS, value_tier
from services.campaign.responses import repository as responses
from services.campaign.sends import repository as sends
from services.campaign.sends.rules import send_channel
from services.campaign.simulations import rules
from services.campaign.simulations.rules import Expected, Observed, Rate
from services.campaign.simulations.schemas import PlanIn
from shared.db import utcnow
from shared.errors import InvalidInput, NotFound

HISTORY = timedelta(days=365)


@dataclass(frozen=True)
class TierResult:
    tier: str
    reachable: int
    rates: dict[str, Rate]
    expected: Expected


@dataclass(frozen=True)
class PlanResult:
    name: str
    channel: str
    audience_id: uuid.UUID | None
    audience: int
    no_consent: int
    frequency_cap: int
    reachable: int
    expected: Expected
    revenue: Decimal | None
    cost: Decimal
    tiers: list[TierResult]


@dataclass(frozen=True)
class Simulation:
    campaign: Campaign
    plans: list[PlanResult]
    average_deal: Decimal | None
    average_deal_sample: int


def simulate(session: Session, tenant: str, campaign_id: uuid.UUID, alternatives: list[PlanIn]) -> Simulation:
    campaign = campaign_cases.get_campaign(session, tenant, campaign_id)
    for index, plan in enumerate(alternatives):
        if plan.budget is not None and plan.budget.currency != campaign.budget_currency:
            raise InvalidInput.on(f"plans.{index}.budget.currency",
                                  f"a plan is priced in the campaign's currency, {campaign.budget_currency}")
    average_deal, sample = _average_deal(session, tenant, campaign.budget_currency)
    planned = PlanIn(name="as planned")
    results = [_plan(session, campaign, plan, index, average_deal) for index, plan in
               enumerate([planned, *alternatives], start=-1)]
    return Simulation(campaign=campaign, plans=results, average_deal=average_deal, average_deal_sample=sample)


def _plan(session: Session, campaign: Campaign, plan: PlanIn, index: int, average_deal: Decimal | None) -> PlanResult:
    tenant = campaign.tenant_id
    channel = plan.channel or campaign.channel
    audience_id = plan.audience_id if plan.audience_id is not None else campaign.audience_id
    candidates = _candidates(session, campaign, plan.audience_id, index)
    replicas = customers.find_customers(session, tenant, candidates)
    consent_channel = send_channel(channel)
    capped = _capped(session, tenant, consent_channel)
    by_tier: dict[str, int] = defaultdict(int)
    no_consent = frequency_cap = 0
    for customer_id in candidates:
        replica = replicas.get(customer_id)
        view = replica.view if replica is not None else None
        if (((view or {}).get("profile") or {}).get("consent") or {}).get(consent_channel) != "opt_in":
            no_consent += 1
        elif customer_id in capped:
            frequency_cap += 1
        else:
            by_tier[value_tier(view)] += 1
    history = _history(session, campaign, channel)
    channel_rates = rules.channel_rates(channel, _total(history))
    tiers = [_tier(tier, reachable, history.get(tier, Observed()), channel_rates)
             for tier, reachable in sorted(by_tier.items())]
    total = Expected(0, 0, 0, 0)
    for tier in tiers:
        total = rules.add(total, tier.expected)
    cost = plan.budget.amount if plan.budget is not None else campaign.budget_amount
    return PlanResult(name=plan.name, channel=channel, audience_id=audience_id, audience=len(candidates),
                      no_consent=no_consent, frequency_cap=frequency_cap, reachable=sum(by_tier.values()),
                      expected=total, revenue=rules.revenue(total.won_deals, average_deal), cost=cost, tiers=tiers)


def _tier(tier: str, reachable: int, observed: Observed, channel_rates: dict[str, Rate]) -> TierResult:
    rates = rules.tier_rates(observed, channel_rates)
    return TierResult(tier, reachable, rates, rules.expected(reachable, rates))


def _candidates(session: Session, campaign: Campaign, audience_id: uuid.UUID | None, index: int) -> set[uuid.UUID]:
    """A plan's members: another audience's, else the campaign's frozen members once launched, else its
    audience's now and those added by hand."""
    if audience_id is not None:
        try:
            return set(audiences.member_ids(session, campaign.tenant_id, audience_id))
        except NotFound:
            raise InvalidInput.on(f"plans.{index}.audience_id", f"no audience {audience_id}") from None
    members = {c for c, m in campaigns.members_of(session, campaign.id).items() if m.status == "member"}
    if campaign.status != "draft" or campaign.audience_id is None:
        return members
    return members | set(audiences.member_ids(session, campaign.tenant_id, campaign.audience_id))


def _capped(session: Session, tenant: str, channel: str) -> set[uuid.UUID]:
    cap = sends.frequency_cap(session, tenant, channel)
    if cap is None:
        return set()
    return sends.contacted_at_least(session, tenant, channel, utcnow() - timedelta(days=cap.period_days),
                                    cap.max_contacts)


def _history(session: Session, campaign: Campaign, channel: str) -> dict[str, Observed]:
    """Per value tier: the members the tenant's other campaigns on the channel delivered to in the last year,
    and how many of them responded and what sales made of them (the leads those campaigns' responses made)."""
    tenant = campaign.tenant_id
    delivered = set(sends.delivered_by(session, tenant, channel, utcnow() - HISTORY, excluding=campaign.id))
    if not delivered:
        return {}
    campaign_ids = {c for c, _ in delivered}
    interested = {(r.campaign_id, r.customer_id) for r in responses.responses_to(session, tenant, campaign_ids)
                  if r.kind in INTEREST_KINDS}
    leads = {(lead.campaign_id, lead.customer_id): lead for lead in outcomes.leads_from(session, tenant, campaign_ids)
             if lead.customer_id is not None}
    opportunity_ids = {lead.opportunity_id for lead in leads.values() if lead.opportunity_id is not None}
    won = {o.id for o in outcomes.opportunities(session, tenant, opportunity_ids) if o.status == "won"}
    replicas = customers.find_customers(session, tenant, {c for _, c in delivered})
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for pair in delivered:
        replica = replicas.get(pair[1])
        lead = leads.get(pair)
        row = counts[value_tier(replica.view if replica is not None else None)]
        row[0] += 1
        row[1] += pair in interested
        row[2] += lead is not None
        row[3] += lead is not None and lead.opportunity_id is not None
        row[4] += lead is not None and lead.opportunity_id in won
    return {tier: Observed(*row) for tier, row in counts.items()}


def _total(history: dict[str, Observed]) -> Observed:
    total = Observed()
    for observed in history.values():
        total = total.plus(observed)
    return total


def _average_deal(session: Session, tenant: str, currency: str) -> tuple[Decimal | None, int]:
    """The average won deal in the campaign's currency (deals without a rate left out), and how many it is of:
    the deals campaign leads made when there are any, else every won deal of the tenant."""
    won = outcomes.won_opportunities(session, tenant)
    from_campaigns = {lead.opportunity_id for lead in outcomes.campaign_leads(session, tenant)}
    chosen = [o for o in won if o.id in from_campaigns] or won
    rates = outcomes.rate_book(session, tenant)
    amounts = [a for o in chosen if (a := outcomes_service.won_value(o, currency, rates)) is not None]
    return rules.average(amounts), len(amounts)
