"""Request and response bodies of the campaign report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared.types import Money

Model = Literal["first_touch", "last_touch", "linear"]


class Figures(BaseModel):
    """One group's figures. Rates are fractions (0.25 is 25 %), ``null`` when there is nothing to divide by."""

    members: int = Field(description="Members at the campaign now (removed ones not counted).")
    reached: int = Field(description="Messages handed to the channel: delivered, bounced or unconfirmed.")
    delivered: int
    bounced: int
    suppressed: int = Field(description="Members never sent to: no consent at send time, a cap, no address...")
    opened: int = Field(description="Customers who opened.")
    clicked: int = Field(description="Customers who clicked a link.")
    responded: int = Field(description="Customers who clicked, replied, registered or converted.")
    converted: int = Field(description="Customers who converted.")
    unsubscribed: int
    delivery_rate: float | None = Field(description="delivered / reached")
    bounce_rate: float | None = Field(description="bounced / reached")
    open_rate: float | None = Field(description="opened / delivered")
    click_rate: float | None = Field(description="clicked / delivered")
    response_rate: float | None = Field(description="responded / delivered")
    conversion_rate: float | None = Field(description="converted / delivered")
    leads: float = Field(description="Leads attributed by the chosen model (fractional under linear).")
    opportunities: float = Field(description="Opportunities attributed by the chosen model.")
    won_deals: float = Field(description="Won opportunities attributed by the chosen model.")
    won_revenue: Money = Field(description="Attributed won revenue, in the budget's currency.")
    unconverted_revenue: list[Money] = Field(
        description="Attributed won revenue in currencies sales has no rate for on the day it was won: "
                    "listed, never added to won_revenue or the ROI.")
    cost: Money = Field(description="The costs booked; a variant's or tier's part follows the messages it took.")
    cost_per_lead: Money | None
    roi: float | None = Field(description="(won_revenue - cost) / cost")


class VariantFigures(Figures):
    variant: str | None = Field(description="The A/B variant; null: members without one.")


class TierFigures(Figures):
    value_tier: str = Field(description="The customer's value tier now; 'unclassified' when it has none.")


class ReportOut(BaseModel):
    campaign_id: uuid.UUID
    model: Model
    lookback_days: int = Field(description="How long before a conversion a touch still earns credit.")
    currency: str = Field(description="The budget's currency, in which money is shown.")
    as_of: datetime
    totals: Figures
    by_variant: list[VariantFigures]
    by_value_tier: list[TierFigures]
