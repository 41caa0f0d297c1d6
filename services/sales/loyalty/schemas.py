"""Request and response bodies of the loyalty API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from services.sales.loyalty import rules
from services.sales.products.schemas import Category, decimal_text
from shared.types import Money, NotBoolean

POINTS_PER_UNIT_PATTERN = r"^(0|[1-9][0-9]{0,2})(\.[0-9]{1,4})?$"
PointsPerUnit = Annotated[
    Decimal, decimal_text(POINTS_PER_UNIT_PATTERN, 'must be a decimal string below 1000, at most 4 decimals, e.g. "1.5"'),
    PlainSerializer(lambda d: format(d.normalize(), "f"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": POINTS_PER_UNIT_PATTERN, "examples": ["1.5"]})]
# A positive decimal string below 10^15 with at most 4 decimals (the column's), zero refused by the pattern.
POINT_VALUE_PATTERN = r"^([1-9][0-9]{0,14}(\.[0-9]{1,4})?|0\.([1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9]))$"
PointValue = Annotated[
    Decimal, decimal_text(POINT_VALUE_PATTERN, 'must be a positive decimal string, at most 4 decimals, e.g. "0.01"'),
    PlainSerializer(lambda d: format(d, "f"), return_type=str),
    WithJsonSchema({"type": "string", "pattern": POINT_VALUE_PATTERN, "examples": ["0.01"]})]
Tier = Annotated[str, Field(min_length=1, max_length=20, examples=["gold"])]
MAX_POINTS = 10**12
Points = Annotated[int, Field(ge=1, le=MAX_POINTS), NotBoolean]


class EarningRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Category | None = Field(default=None, description="A category path prefix; null: any category.")
    value_tier: Tier | None = Field(default=None, description="The customer's value tier; null: any tier.")
    points_per_unit: PointsPerUnit = Field(description="Points per one unit of the tenant currency invoiced.")


class LoyaltyPolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    earning_rules: Annotated[list[EarningRuleIn], Field(max_length=rules.MAX_RULES)] = Field(
        description="The most specific matching rule wins: deeper category prefix first, then a named tier; "
                    "of rules naming the same category and tier, the first listed.")
    point_value: PointValue = Field(description="Money per point, in the tenant currency, when redeemed.")
    expiry_months: Annotated[int, Field(ge=1, le=rules.MAX_EXPIRY_MONTHS), NotBoolean] = Field(
        description="Points are usable through the day this many months after they were earned.")


class EarningRuleOut(BaseModel):
    category: str | None
    value_tier: str | None
    points_per_unit: str


class LoyaltyPolicyOut(BaseModel):
    enabled: bool = Field(description="false: the tenant has no loyalty policy (nothing is earned).")
    earning_rules: list[EarningRuleOut]
    point_value: str | None = Field(description="Money per point (a decimal string) in ``currency``.")
    currency: str | None = Field(description="The tenant currency when the policy was set: points are valued "
                                             "and earned in it.")
    expiry_months: int | None
    version: int = Field(description="0: never set.")
    updated_at: datetime | None


class RedemptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: uuid.UUID = Field(description="A placed or confirmed order of the customer, not yet invoiced.")
    points: Points = Field(description="At most the balance; more than the order is worth takes only the points "
                                       "that cover its total.")


class RedemptionOut(BaseModel):
    movement_id: uuid.UUID
    customer_id: uuid.UUID
    order_id: uuid.UUID
    points: int = Field(description="The points consumed.")
    discount: Money = Field(description="In the order's currency.")
    order_total: Money = Field(description="The order's total after the discount.")
    balance: int


class ExpiringOut(BaseModel):
    points: int
    expires_on: date = Field(description="The last day they are usable.")


class MovementOut(BaseModel):
    id: uuid.UUID
    kind: Literal["earned", "redeemed", "expired"]
    points: int = Field(description="Signed: earned adds, redeemed and expired take away.")
    balance_after: int
    invoice_id: uuid.UUID | None
    order_id: uuid.UUID | None
    expires_on: date | None = Field(description="An earning's last usable day.")
    remaining: int | None = Field(description="What an earning still holds.")
    details: dict[str, Any] | None
    occurred_on: date
    created_at: datetime


class AccountOut(BaseModel):
    customer_id: uuid.UUID
    balance: int
    expiring_next: ExpiringOut | None
    history: list[MovementOut] = Field(description="Newest first.")
    next_cursor: str | None
