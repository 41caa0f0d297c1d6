"""Tables of custom fields: the typed fields a tenant declared for its customers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from services.customer.database import Base


class CustomFieldDefinition(Base):
    """A typed field a tenant declared for its customers."""

    __tablename__ = "custom_field_definitions"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(200))
    choices: Mapped[list[Any] | None]
    required: Mapped[bool]
    version: Mapped[int]
    updated_at: Mapped[datetime]
