"""Request and response bodies of the sales policy."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

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


class SalesPolicyOut(BaseModel):
    currency: str
    default_credit_limit: Money | None
    invoice_from: rules.InvoiceFrom
    payment_terms_days: int
    version: int = Field(description="0: the defaults, never changed.")
    updated_at: datetime | None
