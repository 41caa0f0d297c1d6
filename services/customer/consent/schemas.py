"""Request and response bodies of consent."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Channel = Literal["email", "sms", "phone"]
Status = Literal["opt_in", "opt_out", "unknown"]


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status
    source: str = Field(min_length=1, max_length=200, examples=["web signup form"],
                        description="Where the customer gave or withdrew consent.")
    wording: str | None = Field(default=None, max_length=5000, description="The exact text the customer was shown.")
    recorded_at: AwareDatetime | None = Field(default=None, description="When the customer said so (default: now).")


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
