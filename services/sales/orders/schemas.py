"""Request and response bodies of the orders API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.sales.opportunities.schemas import LineIn, LineOut, Quantity
from services.sales.opportunities import rules as deal_rules
from shared.replica import EmbeddedCustomer
from shared.types import CurrencyCode, Money, NotBoolean

Status = Literal["placed", "on_hold", "confirmed", "shipped", "delivered", "cancelled", "returned"]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
Channel = Literal["direct", "web", "partner", "campaign", "phone", "email", "retail"]


def _deal_or_lines(schema: dict[str, Any]) -> None:
    """From a won deal (its lines and currency), or lines and the currency to price them in."""
    schema["anyOf"] = [
        {"required": ["opportunity_id"], "properties": {"lines": False, "currency": False}},
        {"required": ["lines", "currency"], "properties": {"opportunity_id": False}},
    ]
    for name in ("opportunity_id", "lines", "currency"):
        prop = schema["properties"][name]
        if "anyOf" in prop:
            prop["anyOf"] = [p for p in prop["anyOf"] if p.get("type") != "null"]


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_deal_or_lines)

    customer_id: uuid.UUID
    opportunity_id: uuid.UUID | None = Field(
        default=None, description="A won deal of this customer: its lines and currency are copied.")
    currency: CurrencyCode | None = Field(default=None, description="Without a deal: the currency to price in.")
    lines: Annotated[list[LineIn], Field(min_length=1, max_length=deal_rules.MAX_LINES)] | None = Field(
        default=None, description="Without a deal: lines without a unit price are priced from the price books.")
    channel: Channel | None = Field(
        default=None, description="How the order came. Default: from a deal a lead was converted into, the channel "
                                  "its lead's source names (web, campaign, partner or referral, phone, email, "
                                  "retail); otherwise direct.")


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class ReturnLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: Annotated[int, Field(ge=0, lt=deal_rules.MAX_LINES, description="The order line's index."), NotBoolean]
    quantity: Quantity


class ReturnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: Annotated[list[ReturnLineIn], Field(min_length=1, max_length=deal_rules.MAX_LINES)]
    reason: Reason | None = None


class CreditOut(BaseModel):
    """The credit check's figures, in the tenant's currency at the day's rates."""

    currency: str
    open_receivables: Money
    uninvoiced_orders: Money
    this_order: Money
    exposure: Money
    credit_limit: Money | None
    headroom: Money | None
    within_limit: bool


class OrderLineOut(LineOut):
    returned_quantity: str


class OrderOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    customer: EmbeddedCustomer
    opportunity_id: uuid.UUID | None
    status: Status
    allowed_actions: list[str] = Field(description="What the order's status allows next.")
    total: Money
    returned: Money = Field(description="The value of what came back.")
    loyalty_discount: Money = Field(description="What redeemed loyalty points took off the total (0: none); "
                                                "the total is after it.")
    lines: list[OrderLineOut]
    credit: CreditOut | None = Field(description="The last credit check (confirm); null: not checked yet.")
    approved_by: str | None
    channel: Channel | None = Field(description="How the order came (null: an order no placement or migration "
                                                "gave one).")
    invoice_id: uuid.UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


class OrderChangeOut(BaseModel):
    id: uuid.UUID
    order_id: uuid.UUID
    from_status: str | None = Field(description="null: the order was placed.")
    to_status: str
    action: str
    changed_by: str | None
    changed_at: datetime
    details: dict[str, Any] | None


class ReturnLineOut(BaseModel):
    line: int
    product_id: uuid.UUID
    quantity: str
    amount: Money


class ReturnOut(BaseModel):
    id: uuid.UUID
    order_id: uuid.UUID
    lines: list[ReturnLineOut]
    amount: Money
    reason: str | None
    created_by: str | None
    created_at: datetime
