"""Request and response bodies of campaign sends, bounces and frequency caps."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.replica import EmbeddedCustomer

# held: waiting for an A/B test's winner; sending: being handed over now; unconfirmed: the worker stopped while
# handing it over, so it is never sent again (it may have arrived).
SendStatus = Literal["held", "queued", "sending", "sent", "bounced", "suppressed", "unconfirmed"]
SendChannel = Literal["email", "sms", "phone"]


class SendOut(BaseModel):
    id: uuid.UUID
    campaign_id: uuid.UUID
    member_id: uuid.UUID
    customer_id: uuid.UUID
    customer: EmbeddedCustomer
    channel: SendChannel
    variant: str | None
    status: SendStatus
    reason: str | None = Field(description="Why it was suppressed (no_consent, unsubscribed, no_address, "
                                           "bounced_address, frequency_cap, removed, unknown_customer), bounced "
                                           "(the report's status and words) or is unconfirmed.")
    message_id: str = Field(description="The Message-ID it is sent with (e-mail), the same on any retry.")
    attempts: int
    last_error: str | None
    queued_at: datetime
    sent_at: datetime | None = Field(description="When it was handed to the mail server or sender.")
    updated_at: datetime


class BounceOut(BaseModel):
    outcome: Literal["bounced", "already_bounced", "soft_bounce", "delivered"]
    send_id: uuid.UUID
    campaign_id: uuid.UUID
    status: SendStatus


class FrequencyCapIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_contacts: int = Field(ge=1, le=1000, description="The most sends one customer gets on the channel in the "
                                                          "period, over every campaign of the tenant.")
    period_days: int = Field(ge=1, le=366)


class FrequencyCapOut(BaseModel):
    channel: SendChannel
    max_contacts: int
    period_days: int
    updated_at: datetime
