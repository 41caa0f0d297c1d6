"""Request and response bodies of classification: group rules, value tiers and the distribution."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ConditionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1, max_length=100, examples=["employees"])
    op: str = Field(examples=["gte"], description="eq, ne, in, not_in, gt, gte, lt, lte, contains, exists")
    value: Any = Field(default=None, examples=[1000])


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str = Field(min_length=1, max_length=100, examples=["large enterprise"])
    when: list[ConditionIn] = Field(default_factory=list, max_length=20, description="All must hold; none: always.")


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: str = Field(min_length=1, max_length=20, examples=["A"])
    share: float = Field(description="Fraction of all customers, highest value first.", examples=[0.2])


class ClassificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[RuleIn] = Field(default_factory=list, max_length=100, description="Evaluated in order; first match wins.")
    default_group: str = Field(default="unclassified", min_length=1, max_length=100)
    tiers: list[TierIn] | None = Field(default=None, max_length=10, description="Default: A 20%, B 30%, C 50%.")


class DistributionRow(BaseModel):
    customer_group: str | None
    value_tier: str | None
    customers: int
    value: str


class ClassificationOut(BaseModel):
    rules: list[dict[str, Any]]
    default_group: str
    tiers: list[dict[str, Any]]
    cutoffs: list[str | None] = Field(description="Lowest value in each tier at the last full evaluation.")
    version: int
    evaluated_at: datetime | None
    reclassified: int | None = Field(default=None, description="Customers whose group or tier changed (on a write).")
    distribution: list[DistributionRow]
