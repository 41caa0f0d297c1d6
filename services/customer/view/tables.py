"""Tables of the unified view the customer service builds from every service's events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.customer.database import Base


class CustomerView(Base):
    """The unified view of one customer, as last published on ``crm.customer_view.v1``."""

    __tablename__ = "customer_views"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    profile: Mapped[dict[str, Any] | None]
    # The customer-topic sequence the profile came from: the newest document wins in any read order,
    # also while the customer is merged away (an unmerge then shows the newest, not the order read).
    profile_sequence: Mapped[int | None] = mapped_column(BigInteger)
    kpis: Mapped[dict[str, Any]]
    # The last outbox sequence applied from each source service, for read-your-writes.
    source_sequences: Mapped[dict[str, Any]]
    # The time of the latest event applied: the view is "as of" then, whatever the wall clock says.
    updated_at: Mapped[datetime]
    # The organization this customer belongs to, for group roll-ups.
    parent_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # Set when the customer was deleted: later events about them are ignored, whatever order they come in.
    removed_at: Mapped[datetime | None]
    # Set while the customer is merged into another: events about it go to the survivor's view.
    merged_into: Mapped[uuid.UUID | None]
    # The view as last published, in canonical JSON: served as stored to callers who may see
    # personal data, so the hottest read parses and validates nothing. None when not published.
    document: Mapped[str | None] = mapped_column(Text)


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


class TimelineRecord(Base):
    """One interaction of a customer with any service, linking to the resource it concerns."""

    __tablename__ = "timeline_entries"

    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[uuid.UUID]
    occurred_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500))
    resource: Mapped[str | None] = mapped_column(String(300))
    # Whose timeline it was before a merge folded it into the survivor's (so an unmerge can give it back).
    original_customer_id: Mapped[uuid.UUID | None]

    __table_args__ = (Index("ix_timeline_customer", "customer_id", "event_id"),)
