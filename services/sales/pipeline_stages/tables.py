"""The pipeline stages table: a tenant's stages, once it has configured any."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base


class PipelineStage(Base):
    """One stage of a tenant's pipeline; retired stages stay, so closed deals keep naming them."""

    __tablename__ = "pipeline_stages"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    position: Mapped[int]
    probability: Mapped[int]
    forecast_category: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(10))
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]
