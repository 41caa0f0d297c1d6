"""Tables of the customer master: customers, their search keys, custom field definitions,
classification settings, the deals that move value tiers, and consent (current state and history)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, SequenceType

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
    # What the value tiers rank: lifetime value plus won deals, in the tenant's value currency.
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


class ClassificationSettings(Base):
    """A tenant's group rules and value tiers, and the value cut-offs of the last full evaluation."""

    __tablename__ = "classification_settings"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rules: Mapped[list[Any]]
    default_group: Mapped[str] = mapped_column(String(100))
    tiers: Mapped[list[Any]]
    # The lowest value that reached each tier at the last full evaluation: single writes use them.
    cutoffs: Mapped[list[Any]]
    # Values in other currencies are converted with these rates; no currency: amounts count as they are.
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    # What the last full ranking saw (customers, and the sum and sum of squares of their values): the
    # periodic ranking skips a tenant whose population has not moved since.
    ranked_population: Mapped[list[Any] | None] = mapped_column(default=None)
    exchange_rates: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    version: Mapped[int]
    evaluated_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class CustomerDeal(Base):
    """An opportunity as the sales service last reported it: what a customer's sales figures are summed from.

    Kept per opportunity (not as running totals) so a redelivered, late or re-pointed
    deal (a merge moves it) changes the figures exactly once, in the right place.
    """

    __tablename__ = "customer_deals"

    opportunity_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    currency: Mapped[str] = mapped_column(String(3))
    won_at: Mapped[datetime | None]
    sequence: Mapped[int] = mapped_column(SequenceType)

    __table_args__ = (Index("ix_customer_deals_customer", "tenant_id", "customer_id"),)


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
