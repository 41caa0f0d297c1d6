"""Each tenant's sales policy: its currency, default credit limit, when orders may be invoiced, payment terms."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base


class SalesPolicy(Base):
    """No row: the defaults (``rules.DEFAULT``)."""

    __tablename__ = "sales_policies"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    # None: a customer without a credit limit of their own is not checked.
    default_credit_limit: Mapped[Decimal | None] = mapped_column(Numeric(20, 4))
    invoice_from: Mapped[str] = mapped_column(String(10))
    payment_terms_days: Mapped[int]
    # Dunning levels [{offset_days, action}] (collections.rules); None: the defaults.
    dunning_levels: Mapped[list[Any] | None]
    version: Mapped[int]
    updated_at: Mapped[datetime]
