"""The campaign responses table."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.campaign.database import Base


class CampaignResponse(Base):
    """One response of one customer to one campaign; never changed, only moved with a merge."""

    __tablename__ = "campaign_responses"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[uuid.UUID]
    customer_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(20))
    variant: Mapped[str | None] = mapped_column(String(100))
    # The send a tracked link, pixel or unsubscribe came from; a send has at most one response of each kind.
    send_id: Mapped[uuid.UUID | None]
    # When the customer responded (given by the caller, or the time it was recorded).
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_campaign_responses_campaign", "campaign_id", "id"),
        Index("ix_campaign_responses_customer", "tenant_id", "customer_id"),
        UniqueConstraint("send_id", "kind", name="uq_campaign_responses_send_kind"),
    )


class ConsentWithdrawal(Base):
    """An unsubscribe waiting to be carried to the customer master's consent (its consent API), written with
    the response: one per response, sent under the response's id as the idempotency key until it is done."""

    __tablename__ = "consent_withdrawals"

    response_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID]
    channel: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime]  # when the customer unsubscribed (the response's occurred_at)
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime | None]  # None once done
    outcome: Mapped[str | None] = mapped_column(String(20))  # withdrawn, already_opted_out, superseded, customer_gone, refused; None: waiting
    last_error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_consent_withdrawals_due", "next_attempt_at"),)
