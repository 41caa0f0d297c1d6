"""Request and response bodies of the audiences API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from services.campaign.audiences import rules
from shared.replica import EmbeddedCustomer
from shared.types import AMOUNT_PATTERN

AudienceField = Literal[rules.FIELDS]  # type: ignore[valid-type]
Operator = Literal[rules.OPS]  # type: ignore[valid-type]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class MoneyValue(BaseModel):
    """Money a lifetime value is compared with; the currency must be an ISO 4217 code (the rules check it)."""

    model_config = ConfigDict(extra="forbid")

    amount: Annotated[str, Field(pattern=AMOUNT_PATTERN, examples=["1000.00"])]
    currency: Annotated[str, Field(pattern="^[A-Z]{3}$", examples=["EUR"])]


class Condition(BaseModel):
    """One comparison with a field of the customer's view. Text fields take eq, ne, in and not_in; tags
    contains, not_contains, contains_any and contains_all; numbers and money eq, ne, gt, gte, lt and lte."""

    model_config = ConfigDict(extra="forbid")

    field: AudienceField
    op: Operator
    value: Text | float | Annotated[list[Text], Field(min_length=1, max_length=500)] | MoneyValue = Field(
        description="A text (eq, ne, contains, not_contains), a list of texts (in, not_in, contains_any, "
                    "contains_all), a number (churn_risk, open_tickets, last_contact_days) or money "
                    "(lifetime_value, compared in its currency).")


# Groups nest two deep, spelled out level by level: a recursive schema would let documents (and the
# generators that read them) nest without end, and a segment is an AND of ORs with an exception or two
# (all: [condition, {any: [...]}, {not: [...]}]); deeper logic is rarely what a marketer means.
def _group_models(level: int, inner: Any) -> tuple[type[BaseModel], type[BaseModel], type[BaseModel]]:
    """The three kinds of group at one level of nesting, holding ``inner`` items."""
    items = Annotated[list[inner], Field(min_length=1, max_length=100)]  # type: ignore[valid-type]
    strict = ConfigDict(extra="forbid", populate_by_name=True)
    return (
        create_model(f"AllOf{level}", __config__=strict,
                     all=(items, Field(description="Every one of these matches."))),
        create_model(f"AnyOf{level}", __config__=strict,
                     any=(items, Field(description="At least one of these matches."))),
        create_model(f"NoneOf{level}", __config__=strict,
                     not_=(items, Field(alias="not", description="None of these matches."))),
    )


_INNER = _group_models(2, Condition)
_OUTER = _group_models(1, Union[Condition, _INNER[0], _INNER[1], _INNER[2]])
RuleGroup = Union[_OUTER[0], _OUTER[1], _OUTER[2]]


class AudienceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text
    rules: RuleGroup | None = Field(default=None, description=f"Groups nest at most {rules.MAX_DEPTH} deep and hold "  # type: ignore[valid-type]
                                                              f"at most {rules.MAX_CONDITIONS} conditions in all.")
    static_customer_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100_000,
                                                 description="Customers the audience holds whatever its rules say.")


class RulesPreview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: RuleGroup  # type: ignore[valid-type]


class AudienceOut(BaseModel):
    id: uuid.UUID
    name: str
    rules: RuleGroup | None  # type: ignore[valid-type]
    static_customer_ids: list[uuid.UUID]
    clock_dependent: bool = Field(description="A rule reads the clock (last_contact_days): the audience is also "
                                              "evaluated again periodically, not only when a view changes.")
    evaluated_at: datetime = Field(description="When the whole replica was last evaluated against it; views "
                                               "changed since have been evaluated one by one as they came.")
    version: int
    created_at: datetime
    updated_at: datetime


class PreviewOut(BaseModel):
    count: int = Field(description="How many customers the audience holds.")
    sample: list[EmbeddedCustomer] = Field(description="The first of them, in customer id order.")
    evaluated_at: datetime
