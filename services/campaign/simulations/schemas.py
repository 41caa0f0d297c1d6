"""Request and response bodies of the campaign simulation."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.campaign.campaigns.schemas import Channel
from shared.types import Money, MoneyIn


class PlanIn(BaseModel):
    """An alternative to simulate beside the campaign as planned: what it changes (the rest stays)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=60)]
    audience_id: uuid.UUID | None = Field(default=None, description="Another audience, as it is now.")
    channel: Channel | None = None
    budget: MoneyIn | None = Field(default=None, description="Another budget, in the campaign's currency.")


class SimulationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plans: list[PlanIn] = Field(default_factory=list, max_length=3,
                                description="Up to three alternatives, simulated beside the campaign as planned.")


class RateOut(BaseModel):
    rate: float = Field(description="Per reachable member, as used.")
    successes: int = Field(description="What the history observed.")
    sample_size: int = Field(description="Delivered members the history holds.")
    basis: str = Field(description="history (30 or more delivered), blended (fewer: shrunk towards the "
                                   "channel's rate or the default), or prior (none).")


class Suppressed(BaseModel):
    no_consent: int
    frequency_cap: int


class ExpectedOut(BaseModel):
    responses: float
    leads: float
    opportunities: float
    won_deals: float
    revenue: Money | None = Field(description="Expected won deals times the average won deal; null without any "
                                              "won deal to learn from.")


class TierOut(BaseModel):
    value_tier: str
    reachable: int
    rates: dict[str, RateOut] = Field(description="response, lead, opportunity, won")
    expected: ExpectedOut


class PlanOut(BaseModel):
    name: str
    channel: str
    audience_id: uuid.UUID | None
    audience: int = Field(description="Members the plan would have now.")
    suppressed: Suppressed
    reachable: int
    expected: ExpectedOut
    cost: Money = Field(description="The plan's budget.")
    cost_per_lead: Money | None
    roi: float | None = Field(description="(expected revenue - cost) / cost")
    by_value_tier: list[TierOut]


class Comparison(BaseModel):
    best_roi: str | None
    best_cost_per_lead: str | None
    most_leads: str | None


class SimulationOut(PlanOut):
    """The campaign as planned (the fields of ``PlanOut``), its alternatives and which is best."""

    campaign_id: uuid.UUID
    average_deal: Money | None = Field(description="The average won deal the revenue is priced with.")
    average_deal_sample: int
    alternatives: list[PlanOut]
    comparison: Comparison
