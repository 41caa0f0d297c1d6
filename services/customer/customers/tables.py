"""Tables of the customer master: customers and the keys they are found by."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from services.customer.database import Base
from shared.db import SequenceType

# Byte order on PostgreSQL too, so that a name prefix is an index range scan
# (``name_search >= 'ab' AND name_search < 'ac'``) and sorting agrees on both backends.
SearchText = String(300).with_variant(String(300, collation="C"), "postgresql")


class Customer(Base):
    """The golden record of a person or an organization."""

    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(String(300))
    # display_name without accents, case-folded: what name search and name sorting use.
    name_search: Mapped[str] = mapped_column(SearchText)
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    organization_name: Mapped[str | None] = mapped_column(String(200))
    emails: Mapped[list[Any]]
    phones: Mapped[list[Any]]
    addresses: Mapped[list[Any]]
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(100))
    industry: Mapped[str | None] = mapped_column(String(100))
    employees: Mapped[int | None]
    annual_revenue: Mapped[dict[str, Any] | None]
    preferred_language: Mapped[str | None] = mapped_column(String(35))
    preferred_currency: Mapped[str | None] = mapped_column(String(3))
    owner: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[Any]]
    custom_fields: Mapped[dict[str, Any]]
    credit_limit: Mapped[dict[str, Any] | None]
    # Kept as a number (not JSON) so the value tiers and their totals are computed by the database.
    lifetime_value_amount: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    lifetime_value_currency: Mapped[str | None] = mapped_column(String(3))
    parent_id: Mapped[uuid.UUID | None]
    organization_id: Mapped[uuid.UUID | None]
    organization_role: Mapped[str | None] = mapped_column(String(100))
    external_id: Mapped[str | None] = mapped_column(String(200))
    customer_group: Mapped[str | None] = mapped_column(String(100))
    value_tier: Mapped[str | None] = mapped_column(String(20))
    # Sales figures, from the deals the sales service reports won (see CustomerDeal).
    won_deals: Mapped[int] = mapped_column(default=0, server_default="0")
    won_value: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    last_won_at: Mapped[datetime | None] = mapped_column(default=None)
    # Paid revenue per currency as the sales service last reported it, and that report's sequence.
    paid_revenue: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    paid_revenue_sequence: Mapped[int | None] = mapped_column(SequenceType, default=None)
    # What the value tiers rank: lifetime value plus paid revenue (or won deals, by the tenant's value basis),
    # in the tenant's value currency.
    value_amount: Mapped[Decimal] = mapped_column(Numeric(20, 4), default=Decimal(0), server_default="0")
    # Set when a merge folded this record into another (the survivor); such records are not listed.
    merged_into: Mapped[uuid.UUID | None]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
    # Set when the customer's personal data was erased (the row stays, anonymised, for its aggregates).
    erased_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_customers_tenant_id", "tenant_id", "id"),
        Index("ix_customers_tenant_name", "tenant_id", "name_search", "id"),
        Index("ix_customers_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_customers_tenant_updated", "tenant_id", "updated_at", "id"),
        # Filter columns end in the id: a filtered page in id order is one index range scan.
        Index("ix_customers_tenant_country", "tenant_id", "country", "id"),
        Index("ix_customers_tenant_region", "tenant_id", "region", "id"),
        Index("ix_customers_tenant_industry", "tenant_id", "industry", "id"),
        Index("ix_customers_tenant_owner", "tenant_id", "owner", "id"),
        Index("ix_customers_tenant_parent", "tenant_id", "parent_id", "id"),
        Index("ix_customers_tenant_organization", "tenant_id", "organization_id", "id"),
        Index("ix_customers_tenant_classification", "tenant_id", "customer_group", "id"),
        Index("ix_customers_tenant_tier", "tenant_id", "value_tier", "id"),
        Index("uq_customers_tenant_external_id", "tenant_id", "external_id", unique=True),
    )


class CustomerKey(Base):
    """One exact-match key of a customer: a normalised e-mail, phone (digits) or tag.

    A separate table rather than JSON queries, so "who has this e-mail / phone / tag"
    is one B-tree lookup on SQLite and PostgreSQL alike (and duplicate detection can
    use the same keys).
    """

    __tablename__ = "customer_keys"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(320), primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
