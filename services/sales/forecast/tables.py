"""The forecast's own tables: the rollup of every tenant's counted deals, and which tenants have one built;
and its index on the opportunities table (a tenant's deals by expected close date).

The forecast reads one window of close dates of one tenant; the opportunities table belongs
to the opportunities feature, the index to the query that needs it. The rollup is kept by
the deals' own transactions (``service.deal_changed``) and read instead of the deals
wherever whole segments of the window allow (``rules``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base
from services.sales.opportunities.tables import Opportunity

BY_CLOSE_DATE = Index("ix_opportunities_tenant_close_date", Opportunity.tenant_id, Opportunity.expected_close_date)


class ForecastRollup(Base):
    """The counted deals of one group (``rules.NO_GROUP``: none), segment, currency, status, category and
    probability, summed."""

    __tablename__ = "forecast_rollup"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(10), primary_key=True)  # owner, team or region
    segment_start: Mapped[date] = mapped_column(primary_key=True)
    group_value: Mapped[str] = mapped_column(String(200), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), primary_key=True)
    category: Mapped[str] = mapped_column(String(20), primary_key=True)
    probability: Mapped[int] = mapped_column(primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(30, 4))
    # Zero once its last deal left the row: such rows are skipped, not deleted, by the one who empties them.
    opportunities: Mapped[int]


class ForecastRollupState(Base):
    """A tenant whose rollup is wanted: built (``built_at``) or waiting for the build job (None)."""

    __tablename__ = "forecast_rollup_states"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    built_at: Mapped[datetime | None]
