"""The campaign sends table and the addresses no campaign sends to any more."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.campaign.database import Base


class CampaignSend(Base):
    """One member's message of one campaign: at most one per membership, whatever happens.

    ``queued`` -> ``sending`` (being handed to the sender, at most one per worker at a time) -> ``sent``,
    later perhaps ``bounced``; ``suppressed`` (no consent at send time, no address, a bounced address, the
    frequency cap) and ``unconfirmed`` (the worker stopped while handing it over: never sent again) end it.
    """

    __tablename__ = "campaign_sends"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[uuid.UUID]
    member_id: Mapped[uuid.UUID]
    customer_id: Mapped[uuid.UUID]
    channel: Mapped[str] = mapped_column(String(10))
    variant: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(300))
    # Where it went, as it was at send time (None before, and after an erasure).
    address: Mapped[str | None] = mapped_column(String(320))
    # Made with the send, before it leaves: the same on any retry, and how a bounce finds its send.
    message_id: Mapped[str] = mapped_column(String(200))
    queued_at: Mapped[datetime]
    # A worker's claim on a queued or sending row; once past, another worker may take it.
    claimed_until: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int]
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("member_id", name="uq_campaign_sends_member"),
        UniqueConstraint("message_id", name="uq_campaign_sends_message_id"),
        Index("ix_campaign_sends_campaign", "campaign_id", "member_id"),
        Index("ix_campaign_sends_due", "campaign_id", "status", "next_attempt_at"),
        Index("ix_campaign_sends_contacts", "tenant_id", "customer_id", "channel", "sent_at"),
        Index("ix_campaign_sends_recent", "tenant_id", "sent_at"),
    )


class SuppressedAddress(Base):
    """An address no campaign of the tenant sends to on the channel (a hard bounce), kept as a hash so that it
    outlives an erasure without naming anyone."""

    __tablename__ = "suppressed_addresses"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(300))
    send_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime]


class FrequencyCap(Base):
    """At most ``max_contacts`` sends to one customer on one channel in ``period_days``, across campaigns."""

    __tablename__ = "frequency_caps"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    max_contacts: Mapped[int]
    period_days: Mapped[int]
    updated_at: Mapped[datetime]
