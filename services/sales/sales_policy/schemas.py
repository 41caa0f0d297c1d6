"""Request and response bodies of the sales policy."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.sales.collections.rules import MAX_LEVELS
from services.sales.collections.schemas import DunningLevelIn, DunningLevelOut
from services.sales.sales_policy import rules
from shared.types import AmountIn, CurrencyCode, Money, NotBoolean


class SalesPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: CurrencyCode = Field(description="The tenant's currency: credit exposure is summed in it.")
    default_credit_limit: AmountIn | None = Field(
        default=None, description="In the tenant's currency, for customers without a limit of their own; "
                                  "null: those customers are not credit-checked.")
    invoice_from: rules.InvoiceFrom = Field(default="shipped", description="The first order status an invoice "
                                                                          "may be issued in.")
    payment_terms_days: Annotated[int, Field(ge=0, le=rules.MAX_TERMS_DAYS), NotBoolean] = 30
    dunning_levels: Annotated[list[DunningLevelIn], Field(json_schema_extra={"maxItems": MAX_LEVELS})] | None = Field(
        default=None, description="The steps of collecting an unpaid invoice, offsets strictly rising; null or "
                                  "left out: the defaults (reminder 1, second_reminder 14, call 30, "
                                  "hold_new_orders 45 days past due); []: no dunning.")


class SalesPolicyOut(BaseModel):
    currency: str
    default_credit_limit: Money | None
    invoice_from: rules.InvoiceFrom
    payment_terms_days: int
    dunning_levels: list[DunningLevelOut] = Field(description="The dunning levels in force (the defaults "
                                                                    "when the tenant set none).")
    version: int = Field(description="0: the defaults, never changed.")
    updated_at: datetime | None
