"""Request and response bodies of consent."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.types import Timestamp

Channel = Literal["email", "sms", "phone"]
Status = Literal["opt_in", "opt_out", "unknown"]


def _opt_in_wording(schema: dict[str, Any]) -> None:
    """rules: an opt-in records the wording the customer was shown (more than blanks)."""
    schema["if"] = {"required": ["status"], "properties": {"status": {"const": "opt_in"}}}
    schema["then"] = {"required": ["wording"], "properties": {"wording": {"type": "string", "pattern": r"\S"}}}


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_opt_in_wording)

    status: Status
    source: str = Field(min_length=1, max_length=200, examples=["web signup form"],
                        description="Where the customer gave or withdrew consent.")
    wording: str | None = Field(default=None, max_length=5000, description="The exact text the customer was shown.")
    recorded_at: Timestamp | None = Field(default=None, description="When the customer said so (default: now).")


class ConsentOut(BaseModel):
    channel: Channel
    status: Status
    source: str | None
    wording: str | None
    recorded_at: datetime | None
    recorded_by: str | None


class ConsentsOut(BaseModel):
    customer_id: str
    channels: list[ConsentOut]


class ConsentRecordOut(ConsentOut):
    previous_status: Status
