"""The leads tables: leads, their history, the customers' match keys and each tenant's scoring rules."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.sales.database import Base


class Lead(Base):
    __tablename__ = "leads"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[uuid.UUID | None]
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(40))
    company: Mapped[str | None] = mapped_column(String(200))
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(100))
    industry: Mapped[str | None] = mapped_column(String(100))
    employees: Mapped[int | None]
    # The normalised match keys (rules.match_keys), indexed for the duplicate check.
    email_key: Mapped[str | None] = mapped_column(String(320))
    phone_key: Mapped[str | None] = mapped_column(String(40))
    domain_key: Mapped[str | None] = mapped_column(String(255))
    score: Mapped[int]
    score_reasons: Mapped[list[Any]]
    responses: Mapped[int]
    last_engaged_at: Mapped[datetime | None]
    team: Mapped[str | None] = mapped_column(String(100))
    owner: Mapped[str | None] = mapped_column(String(200))
    # Waiting in its team's queue since (nobody could take it); None once handed out.
    queued_at: Mapped[datetime | None]
    assigned_at: Mapped[datetime | None]
    first_touch_due_at: Mapped[datetime | None]
    touched_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]
    customer_id: Mapped[uuid.UUID | None]
    opportunity_id: Mapped[uuid.UUID | None]
    reason: Mapped[str | None] = mapped_column(String(500))
    # How many history entries it has: the next entry's step, so its history reads in order.
    history_steps: Mapped[int]
    version: Mapped[int]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_leads_tenant_id", "tenant_id", "id"),
        Index("ix_leads_tenant_email_key", "tenant_id", "email_key"),
        Index("ix_leads_tenant_phone_key", "tenant_id", "phone_key"),
        Index("ix_leads_tenant_domain_key", "tenant_id", "domain_key"),
        Index("ix_leads_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_leads_tenant_team_owner", "tenant_id", "team", "owner", "status"),
        Index("ix_leads_tenant_team_queued", "tenant_id", "team", "queued_at"),
        Index("ix_leads_first_touch_due", "first_touch_due_at"),
    )


class LeadHistory(Base):
    """What happened to a lead: created, a duplicate merged in, assigned, queued, a status change, engaged ..."""

    __tablename__ = "lead_history"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    lead_id: Mapped[uuid.UUID]
    step: Mapped[int]
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(20))
    details: Mapped[dict[str, Any]]

    __table_args__ = (Index("ix_lead_history_tenant_lead", "tenant_id", "lead_id", "step"),)


class CustomerMatchKey(Base):
    """A key (e-mail, phone, company domain) a replicated customer is matched by, kept as its view is applied."""

    __tablename__ = "lead_customer_keys"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    value: Mapped[str] = mapped_column(String(320), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_lead_customer_keys_lookup", "tenant_id", "kind", "value"),)


class ScoringRuleSet(Base):
    """A tenant's own scoring rules (without a row: the defaults of rules.DEFAULT_SCORING)."""

    __tablename__ = "lead_scoring_rules"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    rules: Mapped[list[Any]]
    version: Mapped[int]
    updated_at: Mapped[datetime]
