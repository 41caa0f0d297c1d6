"""What cross-sell offers keep: segments whose baskets changed, and a hash of each customer's published offers."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base
from shared.db import SequenceType


class SegmentTouch(Base):
    """A customer segment (group and tier; None: the customer has none) whose baskets changed: an order of one
    of its customers was delivered, invoiced or returned in full. Appended, never updated, so concurrent orders
    never contend for a row; the offers job reads a batch and deletes what it read."""

    __tablename__ = "offer_segment_touches"

    id: Mapped[int] = mapped_column(SequenceType, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_group: Mapped[str | None] = mapped_column(String(100))
    value_tier: Mapped[str | None] = mapped_column(String(100))
    touched_at: Mapped[datetime]


class OfferPublication(Base):
    """The hash of the offers last published for a customer: the same offers are not published again."""

    __tablename__ = "offer_publications"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    offers_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime]
