"""Request and response bodies of classification: group rules, value tiers and the distribution."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from services.customer.classification.rules import FIELDS
from shared.types import CurrencyCode

ValueBasis = Literal["paid_revenue", "won_deals"]
Operator = Literal["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "exists"]
# A view field the rules know, or one of the tenant's custom fields (rules.check_rules).
FIELD_PATTERN = rf"^({'|'.join(re.escape(f) for f in FIELDS)}|custom\..+)$"
# Positive: zero is no rate (rules.check_exchange_rates).
_RATE_TEXT = re.compile(r"^(0\.[0-9]{0,11}[1-9][0-9]{0,11}|[1-9][0-9]{0,11}(\.[0-9]{1,12})?)$")


def _rate(value: object) -> object:
    # A decimal string, as money is written; a float would round before the rule sees it.
    if isinstance(value, str) and _RATE_TEXT.match(value):
        return value
    raise ValueError('must be a positive decimal string, e.g. "0.92"')


Rate = Annotated[Decimal, BeforeValidator(_rate), WithJsonSchema({"type": "string", "pattern": _RATE_TEXT.pattern})]


class ConditionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1, max_length=100, pattern=FIELD_PATTERN, examples=["employees"])
    op: Operator = Field(examples=["gte"])
    value: Any = Field(default=None, examples=[1000])


class RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str = Field(min_length=1, max_length=100, examples=["large enterprise"])
    when: list[ConditionIn] = Field(default_factory=list, max_length=20, description="All must hold; none: always.")


class TierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: str = Field(min_length=1, max_length=20, examples=["A"])
    share: float = Field(gt=0, le=1, description="Fraction of all customers, highest value first.", examples=[0.2])


class ClassificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[RuleIn] = Field(default_factory=list, max_length=100, description="Evaluated in order; first match wins.")
    default_group: str = Field(default="unclassified", min_length=1, max_length=100)
    tiers: list[TierIn] | None = Field(default=None, max_length=10, description="Default: A 20%, B 30%, C 50%.")
    currency: CurrencyCode | None = Field(
        default=None, examples=["EUR"],
        description="The value currency tiers rank in. None: a one-currency tenant, amounts count as they are.")
    exchange_rates: dict[CurrencyCode, Rate] = Field(
        default_factory=dict, max_length=200, examples=[{"USD": "0.92", "SEK": "0.087"}],
        description="Units of the value currency per unit of each other currency. An amount in a currency "
                    "without a rate does not count toward value (it is listed in currencies_without_rate).")
    value_basis: ValueBasis = Field(
        default="paid_revenue",
        description="What value adds to the lifetime value (an opening balance): paid_revenue, what the customer "
                    "paid and kept on its invoices, or won_deals, the deals won (for a tenant that does not "
                    "invoice here).")


class DistributionRow(BaseModel):
    customer_group: str | None
    value_tier: str | None
    customers: int
    value: str = Field(description="Sum of the customers' values (lifetime value plus paid revenue or won deals), in "
                                   "the value currency.")


class ClassificationOut(BaseModel):
    rules: list[dict[str, Any]]
    default_group: str
    tiers: list[dict[str, Any]]
    cutoffs: list[str | None] = Field(description="Lowest value in each tier at the last full evaluation.")
    currency: str | None
    exchange_rates: dict[str, str]
    value_basis: ValueBasis
    currencies_without_rate: list[str] = Field(
        description="Currencies values are held in that have no rate: those amounts count for nothing yet.")
    version: int
    evaluated_at: datetime | None
    reclassified: int | None = Field(default=None, description="Customers whose group or tier changed (on a write).")
    distribution: list[DistributionRow]
