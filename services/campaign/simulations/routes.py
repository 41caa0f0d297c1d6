"""HTTP edge of the campaign simulation: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import Body, Depends

from services.campaign import contract
from services.campaign.simulations import rules, service
from services.campaign.simulations.rules import Expected
from services.campaign.simulations.schemas import (
    Comparison,
    ExpectedOut,
    PlanOut,
    RateOut,
    SimulationIn,
    SimulationOut,
    Suppressed,
    TierOut,
)
from shared.auth import Principal, Scopes
from shared.http import DbSession, feature_router
from shared.types import Money

# A simulation writes nothing: its transaction is only read.
router = feature_router(tags=["campaigns"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]


def _expected(expected: Expected, revenue: Decimal | None, currency: str) -> ExpectedOut:
    return ExpectedOut(responses=round(expected.responses, 2), leads=round(expected.leads, 2),
                       opportunities=round(expected.opportunities, 2), won_deals=round(expected.won_deals, 2),
                       revenue=Money.of(revenue, currency) if revenue is not None else None)


def _plan(plan: service.PlanResult, currency: str, average_deal: Decimal | None) -> PlanOut:
    per_lead = rules.cost_per_lead(plan.cost, plan.expected.leads)
    return PlanOut(
        name=plan.name, channel=plan.channel, audience_id=plan.audience_id, audience=plan.audience,
        suppressed=Suppressed(no_consent=plan.no_consent, frequency_cap=plan.frequency_cap),
        reachable=plan.reachable, expected=_expected(plan.expected, plan.revenue, currency),
        cost=Money.of(plan.cost, currency),
        cost_per_lead=Money.of(per_lead, currency) if per_lead is not None else None,
        roi=rules.roi(plan.revenue, plan.cost),
        by_value_tier=[TierOut(value_tier=tier.tier, reachable=tier.reachable,
                               rates={stage: RateOut(rate=round(r.rate, 6), successes=r.successes,
                                                     sample_size=r.sample_size, basis=r.basis)
                                      for stage, r in tier.rates.items()},
                               expected=_expected(tier.expected, rules.revenue(tier.expected.won_deals, average_deal),
                                                  currency))
                       for tier in plan.tiers])


@router.post("/campaigns/{campaign_id:uuid}/simulate", response_model=SimulationOut,
             summary="Simulate the campaign as planned and up to three alternatives, side by side")
def simulate_campaign(campaign_id: uuid.UUID, db: DbSession, who: Reader,
                      body: Annotated[SimulationIn | None, Body()] = None) -> SimulationOut:
    simulation = service.simulate(db, who.tenant, campaign_id, body.plans if body is not None else [])
    currency = simulation.campaign.budget_currency
    shown = [_plan(plan, currency, simulation.average_deal) for plan in simulation.plans]
    planned, alternatives = shown[0], shown[1:]
    return SimulationOut(
        **planned.model_dump(), campaign_id=simulation.campaign.id,
        average_deal=Money.of(simulation.average_deal, currency) if simulation.average_deal is not None else None,
        average_deal_sample=simulation.average_deal_sample, alternatives=alternatives,
        comparison=Comparison(
            best_roi=rules.best([(p.name, p.roi) for p in shown], highest=True),
            best_cost_per_lead=rules.best([(p.name, float(p.cost_per_lead.amount) if p.cost_per_lead else None)
                                           for p in shown], highest=False),
            most_leads=rules.best([(p.name, p.expected.leads) for p in shown], highest=True)))
