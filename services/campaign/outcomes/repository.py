"""Every query of the copied leads, opportunities and exchange rates."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.campaign.outcomes.tables import ExchangeRate, LeadOutcome, OpportunityOutcome
from shared.exchange_rates import Rate, RateBook


def get_lead(session: Session, lead_id: uuid.UUID) -> LeadOutcome | None:
    return session.get(LeadOutcome, lead_id)


def get_opportunity(session: Session, opportunity_id: uuid.UUID) -> OpportunityOutcome | None:
    return session.get(OpportunityOutcome, opportunity_id)


def add(session: Session, row: LeadOutcome | OpportunityOutcome | ExchangeRate) -> None:
    session.add(row)


def get_rate(session: Session, rate_id: uuid.UUID) -> ExchangeRate | None:
    return session.get(ExchangeRate, rate_id)


def rate_book(session: Session, tenant: str) -> RateBook:
    """Every rate of the tenant: a handful of currency pairs, read once per report or simulation."""
    return RateBook(Rate(r.base, r.quote, r.rate, r.valid_from)
                    for r in session.scalars(select(ExchangeRate).where(ExchangeRate.tenant_id == tenant)))


def leads_of(session: Session, tenant: str, customer_ids: set[uuid.UUID]) -> list[LeadOutcome]:
    if not customer_ids:
        return []
    return list(session.scalars(select(LeadOutcome).where(
        LeadOutcome.tenant_id == tenant, LeadOutcome.customer_id.in_(customer_ids))))


def leads_from(session: Session, tenant: str, campaign_ids: set[uuid.UUID]) -> list[LeadOutcome]:
    """The leads the campaigns' responses made, whoever their customer is (a lead may have none yet)."""
    if not campaign_ids:
        return []
    return list(session.scalars(select(LeadOutcome).where(
        LeadOutcome.tenant_id == tenant, LeadOutcome.campaign_id.in_(campaign_ids))))


def opportunities_of(session: Session, tenant: str, customer_ids: set[uuid.UUID]) -> list[OpportunityOutcome]:
    if not customer_ids:
        return []
    return list(session.scalars(select(OpportunityOutcome).where(
        OpportunityOutcome.tenant_id == tenant, OpportunityOutcome.customer_id.in_(customer_ids))))


def opportunities(session: Session, tenant: str, ids: set[uuid.UUID]) -> list[OpportunityOutcome]:
    if not ids:
        return []
    return list(session.scalars(select(OpportunityOutcome).where(
        OpportunityOutcome.tenant_id == tenant, OpportunityOutcome.id.in_(ids))))


def won_opportunities(session: Session, tenant: str) -> list[OpportunityOutcome]:
    return list(session.scalars(select(OpportunityOutcome).where(
        OpportunityOutcome.tenant_id == tenant, OpportunityOutcome.status == "won")))


def campaign_leads(session: Session, tenant: str) -> list[LeadOutcome]:
    """The leads any campaign's responses made and sales turned into an opportunity."""
    return list(session.scalars(select(LeadOutcome).where(
        LeadOutcome.tenant_id == tenant, LeadOutcome.campaign_id.is_not(None),
        LeadOutcome.opportunity_id.is_not(None))))
