"""Tables of erasures: the audit trail, without personal data."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from services.customer.database import Base


class CustomerErasure(Base):
    """The audit entry of an erasure: who asked, when, which records went. No personal data."""

    __tablename__ = "customer_erasures"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # The customer and every record that had been merged into it (the same person).
    erased_ids: Mapped[list[Any]]
    erased_at: Mapped[datetime]
    requested_by: Mapped[str] = mapped_column(String(200))
