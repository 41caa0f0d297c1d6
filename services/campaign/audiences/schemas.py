"""Request and response bodies of the audiences API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from services.campaign.audiences import rules
from shared.replica import EmbeddedCustomer
from shared.types import MoneyIn

AudienceField = Literal[rules.FIELDS]  # type: ignore[valid-type]
Operator = Literal[rules.OPS]  # type: ignore[valid-type]
Text = Annotated[str, Field(min_length=1, max_length=200)]


class Condition(BaseModel):
    """One comparison with a field of the customer's view; which operators and values a field takes is in
    the field's description (``rules``: text fields eq/ne/in/not_in, tags contains/not_contains/
    contains_any/contains_all, numbers and money eq/ne/gt/gte/lt/lte)."""

    model_config = ConfigDict(extra="forbid")

    field: AudienceField
    op: Operator
    value: Text | float | Annotated[list[Text], Field(min_length=1, max_length=500)] | MoneyIn = Field(
        description="A text (eq, ne, contains, not_contains), a list of texts (in, not_in, contains_any, "
                    "contains_all), a number (churn_risk, open_tickets, last_contact_days) or money "
                    "(lifetime_value, compared in its currency).")


class AllOf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    all: list[RuleNode] = Field(min_length=1, max_length=100, description="Every one of these matches.")


class AnyOf(BaseModel):
    model_config = ConfigDict(extra="forbid")

    any: list[RuleNode] = Field(min_length=1, max_length=100, description="At least one of these matches.")


class NoneOf(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    not_: list[RuleNode] = Field(alias="not", min_length=1, max_length=100, description="None of these matches.")


RuleGroup = Union[AllOf, AnyOf, NoneOf]
RuleNode = Union[Condition, AllOf, AnyOf, NoneOf]
for _model in (AllOf, AnyOf, NoneOf):
    _model.model_rebuild()


class AudienceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text
    rules: RuleGroup | None = Field(default=None, description=f"Groups nest at most {rules.MAX_DEPTH} deep and hold "
                                                              f"at most {rules.MAX_CONDITIONS} conditions in all.")
    static_customer_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100_000,
                                                 description="Customers the audience holds whatever its rules say.")


class RulesPreview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: RuleGroup


class AudienceOut(BaseModel):
    id: uuid.UUID
    name: str
    rules: RuleGroup | None
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
