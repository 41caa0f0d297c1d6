"""Response bodies of the receivables API (it takes no body, only query parameters)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from services.sales.receivables.rules import GroupBy
from shared.types import Money


class BucketsOut(BaseModel):
    """What was owed per bucket of days past due on the as-of day, and their sum."""

    model_config = ConfigDict(populate_by_name=True)

    current: Money = Field(description="Not yet due (0 days past due or fewer).")
    days_1_30: Money = Field(alias="1_30", serialization_alias="1_30")
    days_31_60: Money = Field(alias="31_60", serialization_alias="31_60")
    days_61_90: Money = Field(alias="61_90", serialization_alias="61_90")
    over_90: Money = Field(description="91 days past due or more.")
    total: Money
    invoices: int = Field(description="Invoices owing something on the as-of day.")


class CurrencyAgeingOut(BucketsOut):
    currency: str = Field(description="The invoices' own currency: amounts are never summed across currencies.")


class ConvertedOut(BucketsOut):
    """In the tenant's currency at the rate of the as-of day; currencies without a rate that day are left out
    and named in ``unconverted``."""

    unconverted: list[str] = Field(description="Currencies with no rate into the tenant's currency that day.")


class ReceivablesGroupOut(BaseModel):
    group: str | None = Field(description="The customer id, owner or region; null for invoices without one.")
    by_currency: list[CurrencyAgeingOut]
    converted: ConvertedOut


class ReceivablesTotalsOut(BaseModel):
    by_currency: list[CurrencyAgeingOut]
    converted: ConvertedOut


class ReceivablesOut(BaseModel):
    as_of: date
    group_by: GroupBy
    currency: str = Field(description="The tenant's currency (the sales policy's), of the converted figures.")
    groups: list[ReceivablesGroupOut]
    totals: ReceivablesTotalsOut
