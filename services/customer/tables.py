"""Tables of the customer service: the customer master and the unified view it builds."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base


class Customer(Base):
    """The golden record of a person or an organization."""

    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(String(300))
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    organization_name: Mapped[str | None] = mapped_column(String(200))
    emails: Mapped[list[Any]]
    phones: Mapped[list[Any]]
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_customers_tenant_id", "tenant_id", "id"),
        Index("ix_customers_tenant_country", "tenant_id", "country"),
        Index("ix_customers_tenant_region", "tenant_id", "region"),
    )


class CustomerView(Base):
    """The unified view of one customer, as last published on ``crm.customer_view.v1``."""

    __tablename__ = "customer_views"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    profile: Mapped[dict[str, Any] | None]
    kpis: Mapped[dict[str, Any]]
    # The last outbox sequence applied from each source service, for read-your-writes.
    source_sequences: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class ViewFact(Base):
    """The latest known state of one thing another service owns (an opportunity, a ticket...).

    KPIs are recomputed from facts, never incremented, so a redelivered or late event
    cannot double-count: each fact keeps the sequence of the event that set it.
    """

    __tablename__ = "view_facts"

    source: Mapped[str] = mapped_column(String(40), primary_key=True)
    entity: Mapped[str] = mapped_column(String(40), primary_key=True)
    entity_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID]
    sequence: Mapped[int]
    state: Mapped[dict[str, Any]]

    __table_args__ = (Index("ix_view_facts_customer", "customer_id"),)
