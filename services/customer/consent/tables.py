"""Tables of consent: the current state per customer and channel, and every change ever recorded."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.customer.database import Base
from shared.db import SequenceType


class Consent(Base):
    """The current consent of a customer for one channel."""

    __tablename__ = "consents"

    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(200))
    wording: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int]


class ConsentRecord(Base):
    """Every consent change ever recorded, in order: the proof of what the customer agreed to, when."""

    __tablename__ = "consent_history"

    sequence: Mapped[int] = mapped_column(SequenceType, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID]
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    previous_status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(200))
    wording: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (Index("ix_consent_history_customer", "customer_id", "sequence"),)
