"""Keep the copies of sales' leads, opportunities and exchange rates current.

Each copy keeps the newest version sales reported: an older or repeated event changes nothing, so a
redelivery or a replay is harmless without remembering event ids. A copy follows its customer through
merges and unmerges like the campaign's own records; sales' own re-pointed events then agree with it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from services.campaign import contract
from services.campaign.outcomes import repository
from services.campaign.outcomes.tables import ExchangeRate, LeadOutcome, OpportunityOutcome
from shared.exchange_rates import RateBook


def take_lead(session: Session, tenant: str, lead: contract.SalesLead, at: datetime) -> None:
    row = repository.get_lead(session, lead.lead_id)
    if row is None:
        repository.add(session, LeadOutcome(
            id=lead.lead_id, tenant_id=tenant, customer_id=lead.customer_id, campaign_id=lead.campaign_id,
            opportunity_id=lead.opportunity_id, status=lead.status, created_at=at, version=lead.version))
        return
    if row.tenant_id != tenant or lead.version <= row.version:
        return
    row.customer_id, row.opportunity_id, row.status = lead.customer_id, lead.opportunity_id, lead.status
    row.campaign_id = lead.campaign_id or row.campaign_id
    row.version = lead.version
    row.created_at = min(row.created_at, at)


def take_opportunity(session: Session, tenant: str, opportunity: contract.SalesOpportunity, at: datetime) -> None:
    row = repository.get_opportunity(session, opportunity.opportunity_id)
    if row is None:
        repository.add(session, OpportunityOutcome(
            id=opportunity.opportunity_id, tenant_id=tenant, customer_id=opportunity.customer_id,
            status=opportunity.status, amount=Decimal(opportunity.amount.amount),
            currency=opportunity.amount.currency, created_at=at,
            won_at=at if opportunity.status == "won" else None, version=opportunity.version))
        return
    if row.tenant_id != tenant or opportunity.version <= row.version:
        return
    if opportunity.status == "won" and row.status != "won":
        row.won_at = at
    elif opportunity.status != "won":
        row.won_at = None
    row.customer_id, row.status = opportunity.customer_id, opportunity.status
    row.amount, row.currency = Decimal(opportunity.amount.amount), opportunity.amount.currency
    row.version = opportunity.version


def take_rate(session: Session, tenant: str, rate: contract.SalesExchangeRate) -> None:
    if repository.get_rate(session, rate.rate_id) is not None:
        return
    repository.add(session, ExchangeRate(id=rate.rate_id, tenant_id=tenant, base=rate.base, quote=rate.quote,
                                         rate=Decimal(rate.rate), valid_from=rate.valid_from))


def won_value(opportunity: OpportunityOutcome, currency: str, rates: RateBook) -> Decimal | None:
    """A won deal's amount in ``currency`` at the rate of the day it was won; None: open, lost, or no rate."""
    if opportunity.won_at is None:
        return None
    return rates.convert(opportunity.amount, opportunity.currency, currency, opportunity.won_at.date())


def follow_customer(session: Session, tenant: str, record: LeadOutcome | OpportunityOutcome,
                    previous: uuid.UUID) -> None:
    """A copy moved with its customer: nothing to announce, it is sales' fact, and sales announces it."""


def erase_customer(session: Session, tenant: str, customer_id: uuid.UUID) -> None:
    """The copies hold ids, statuses and amounts only: an erasure leaves them, for the campaigns' figures."""
