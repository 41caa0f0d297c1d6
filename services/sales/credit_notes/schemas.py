"""Request and response bodies of the credit notes API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.types import AmountIn, Money


def _return_or_correction(schema: dict[str, Any]) -> None:
    schema["anyOf"] = [
        {"required": ["return_id"], "properties": {"invoice_id": False, "amount": False}},
        {"required": ["invoice_id", "amount"], "properties": {"return_id": False}},
    ]
    for name in ("return_id", "invoice_id", "amount"):
        prop = schema["properties"][name]
        if "anyOf" in prop:
            prop["anyOf"] = [p for p in prop["anyOf"] if p.get("type") != "null"]


class CreditNoteCreate(BaseModel):
    """For a return (``return_id``: its value, against its order's invoice), or a correction of an invoice."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_return_or_correction)

    return_id: uuid.UUID | None = None
    invoice_id: uuid.UUID | None = None
    amount: AmountIn | None = Field(default=None, description="A correction's amount, in the invoice's currency.")
    reason: str = Field(min_length=1, max_length=500)


class CreditNoteOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    invoice_id: uuid.UUID
    number: str
    kind: Literal["return", "correction"]
    return_id: uuid.UUID | None
    amount: Money
    reason: str
    issued_on: date
    created_at: datetime
