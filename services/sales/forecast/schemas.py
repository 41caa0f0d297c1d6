"""Response bodies of the forecast API (it takes no body, only query parameters)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from services.sales.forecast.rules import GroupBy, PeriodKind
from shared.types import Money


class UnconvertedOut(BaseModel):
    """Deals of one currency and status with no rate into the reporting currency on their close date."""

    amount: str = Field(description="Their total, in their own currency (decimal string).")
    currency: str
    status: str = Field(description="open (they would count in pipeline) or won (closed_won).")
    opportunities: int


class GroupOut(BaseModel):
    group: str | None = Field(description="The owner, team or region; null for deals without one.")
    pipeline: Money
    best_case: Money
    commit: Money
    weighted: Money
    closed_won: Money
    opportunities: int = Field(description="Deals counted in this period and group, converted or not.")
    unconverted: list[UnconvertedOut]


class PeriodOut(BaseModel):
    period: str = Field(examples=["2026-Q4", "2026-10"])
    start: date
    end: date
    groups: list[GroupOut]


class UndatedOut(BaseModel):
    group: str | None
    opportunities: int = Field(description="Open and won deals of the group without an expected close date.")


class ForecastOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    currency: str
    period: PeriodKind
    group_by: GroupBy
    from_: date = Field(alias="from", serialization_alias="from")
    to: date
    periods: list[PeriodOut]
    undated: list[UndatedOut]
