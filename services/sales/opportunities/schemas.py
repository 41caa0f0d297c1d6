"""Request and response bodies of the opportunities API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from services.sales.opportunities import rules
from services.sales.pipeline_stages.schemas import ForecastCategory, StageName, without_null
from shared.replica import EmbeddedCustomer
from shared.types import AmountIn, CurrencyCode, IsoDate, Money, MoneyIn

Status = Literal["open", "won", "lost"]
Owner = Annotated[str, Field(min_length=1, max_length=200, description="Who works the deal (a user's id).")]
Team = Annotated[str, Field(min_length=1, max_length=100)]
CloseReason = Annotated[str, Field(min_length=1, max_length=500, description="Why the deal was won or lost.")]
Competitor = Annotated[str, Field(min_length=1, max_length=200, description="The company a lost deal went to.")]
_AS_TEXT = PlainSerializer(lambda d: format(d, "f"), return_type=str)
Quantity = Annotated[Decimal, BeforeValidator(rules.quantity), _AS_TEXT, WithJsonSchema(
    {"type": "string", "pattern": rules.QUANTITY.pattern, "description": "A positive decimal string, e.g. \"2.5\"."})]
Percent = Annotated[Decimal, BeforeValidator(rules.percent), _AS_TEXT, WithJsonSchema(
    {"type": "string", "pattern": rules.PERCENT.pattern, "description": "0 to 100, e.g. \"12.5\"."})]


class LineIn(BaseModel):
    """A product of the deal; without ``unit_price`` it is priced from the applicable price book."""

    model_config = ConfigDict(extra="forbid")

    product_id: uuid.UUID
    quantity: Quantity
    unit_price: AmountIn | None = Field(
        default=None, description="In the opportunity's currency; null or left out: the price book's price.")
    discount_percent: Percent | None = Field(default=None, description="Null or left out: none.")


Lines = Annotated[list[LineIn], Field(max_length=rules.MAX_LINES)]


def _nullable_only_when_optional(schema: dict[str, Any]) -> None:
    without_null(schema, rules.REQUIRED)


def _amount_or_lines(schema: dict[str, Any]) -> None:
    """rules.check_amount_source as a schema: an amount, or lines and the currency to price them in."""
    without_null(schema, ("amount", "currency", "stage", "lines"))
    schema["anyOf"] = [
        {"required": ["amount"], "properties": {"currency": False}},
        {"required": ["lines", "currency"], "properties": {"amount": False, "lines": {"minItems": 1}}},
    ]


class OpportunityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_amount_or_lines)

    customer_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    amount: MoneyIn | None = Field(
        default=None, description="Required without lines; with lines it is their sum, and may be left out.")
    currency: CurrencyCode | None = Field(
        default=None, description="Only with lines and no amount: the currency the lines are priced in.")
    stage: StageName | None = Field(default=None, description="Default: the pipeline's first open stage.")
    expected_close_date: IsoDate | None = None
    owner: Owner | None = None
    team: Team | None = None
    lines: Lines | None = None
    close_reason: CloseReason | None = None
    competitor: Competitor | None = None


class OpportunityPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_nullable_only_when_optional)
    # None only as the default (a field not sent): null is refused (rules.patch_fields), so the schema leaves it out.
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    amount: MoneyIn | None = None
    stage: StageName | None = None
    expected_close_date: IsoDate | None = None
    owner: Owner | None = None
    team: Team | None = None
    lines: Lines | None = Field(default=None, description="Replaces every line; [] removes them.")
    close_reason: CloseReason | None = None
    competitor: Competitor | None = None


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: StageName = Field(description="The open stage the deal goes back to.")


class LineOut(BaseModel):
    product_id: uuid.UUID
    quantity: str
    unit_price: Money
    discount_percent: str
    line_total: Money
    price_book_id: uuid.UUID | None = Field(description="The book the price came from; null for a price given.")
    reason: str = Field(description="Why this price: the price book's choice, or that it was given.")


class OpportunityOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    customer: EmbeddedCustomer
    name: str
    amount: Money
    stage: str
    status: Status
    forecast_category: ForecastCategory
    probability: int
    owner: str | None
    team: str | None
    lines: list[LineOut]
    close_reason: str | None
    competitor: str | None
    expected_close_date: date | None
    version: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class StageChangeOut(BaseModel):
    id: uuid.UUID
    opportunity_id: uuid.UUID
    from_stage: str | None = Field(description="null: the deal was opened in to_stage.")
    to_stage: str
    amount: Money = Field(description="What the deal was worth at the change.")
    changed_by: str | None = Field(description="The subject of the token that made the change.")
    changed_at: datetime
