"""Response bodies of the profitability API (it takes no body, only query parameters)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from services.sales.profitability.rules import Dimension
from shared.types import Money


class FiguresOut(BaseModel):
    """One set of figures, all in one currency (see the route's description for each)."""

    gross_revenue: Money = Field(description="Quantity times unit (list) price of the invoiced lines.")
    discounts: Money = Field(description="Gross revenue less what the lines were sold for, and the orders' "
                                         "loyalty discounts.")
    loyalty_discounts: Money = Field(description="The loyalty (points redeemed) part of the discounts, shared "
                                                 "among each order's lines by their totals.")
    net_revenue: Money = Field(description="What the lines were invoiced for: their totals less their share of the "
                                           "loyalty discount.")
    returns: Money = Field(description="What came back, at the value credited for it.")
    corrections: Money = Field(description="Correction credit notes (no product: category null).")
    cost_of_goods: Money = Field(description="Quantity sold times the product's cost price.")
    returned_cost: Money = Field(description="The cost of what came back (back in stock).")
    contribution_margin: Money = Field(description="Net revenue - returns - corrections - (cost of goods - "
                                                   "returned cost).")
    margin_percent: str | None = Field(description="Contribution margin over net revenue, in percent; null when "
                                                   "there is no net revenue.")


class UnconvertedOut(FiguresOut):
    currency: str = Field(description="A currency with no rate into the reporting currency on some day: its "
                                      "amounts of those days, unconverted.")


class GroupFiguresOut(BaseModel):
    figures: FiguresOut = Field(description="In the reporting currency.")
    unconverted: list[UnconvertedOut] = Field(description="Amounts left out of `figures`: no rate that day.")
    uncosted: list[str] = Field(description="SKUs sold or returned without a cost price (no cost counted).")


class ProfitabilityGroupOut(GroupFiguresOut):
    key: dict[str, str | None] = Field(description="The group's value per dimension of group_by (null: none).")


class ProfitabilityOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    currency: str = Field(description="The reporting currency.")
    group_by: list[Dimension]
    category_depth: int
    groups: list[ProfitabilityGroupOut]
    total: GroupFiguresOut
