"""The campaign responses table."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String
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
    # When the customer responded (given by the caller, or the time it was recorded).
    occurred_at: Mapped[datetime]
    recorded_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_campaign_responses_campaign", "campaign_id", "id"),
        Index("ix_campaign_responses_customer", "tenant_id", "customer_id"),
    )
