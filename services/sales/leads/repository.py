"""Every query of the leads tables, and the customers' match keys kept as the view replica applies views."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from services.sales.leads import rules
from services.sales.leads.tables import CustomerMatchKey, Lead, LeadHistory, ScoringRuleSet
from shared.db import hold_lock
from shared.http import PageRequest
from shared.ids import new_id

KEY_COLUMNS = {rules.EMAIL: Lead.email_key, rules.PHONE: Lead.phone_key, rules.DOMAIN: Lead.domain_key}
FILTERS = ("status", "source", "team", "owner", "customer_id")


def get_lead(session: Session, tenant: str, lead_id: uuid.UUID) -> Lead | None:
    return session.scalar(select(Lead).where(Lead.tenant_id == tenant, Lead.id == lead_id))


def list_leads(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Lead]:
    """One page in id order, plus one row more if there is a next page."""
    query = select(Lead).where(Lead.tenant_id == tenant)
    for name in FILTERS:
        if filters.get(name) is not None:
            query = query.where(getattr(Lead, name) == filters[name])
    if page.after is not None:
        query = query.where(Lead.id > page.after)
    return list(session.scalars(query.order_by(Lead.id).limit(page.limit + 1)))


def lock_intake(session: Session, tenant: str, *, whole: bool) -> None:
    """Creations take it shared, side by side; an import batch takes it whole (``whole``), alone. A batch
    checks thousands of keys at once: more key locks than PostgreSQL's lock table is sized for."""
    hold_lock(session, f"lead-intake:{tenant}", shared=not whole)


def lock_keys(session: Session, tenant: str, keys: list[tuple[str, str]]) -> None:
    """Serialise creations sharing a match key until the transaction ends, so two concurrent copies of
    one lead cannot both find no duplicate."""
    for kind, value in sorted(keys):  # one order everywhere: no deadlock between two creations
        hold_lock(session, f"lead:{tenant}:{kind}:{value}")


def open_leads_by_key(session: Session, tenant: str, keys: rules.MatchKeys) -> dict[str, list[Lead]]:
    """Open leads sharing each key, oldest first."""
    found: dict[str, list[Lead]] = {}
    for kind, value in keys.pairs():
        found[kind] = list(session.scalars(select(Lead).where(
            Lead.tenant_id == tenant, KEY_COLUMNS[kind] == value, Lead.status.in_(rules.OPEN_STATUSES))
            .order_by(Lead.created_at, Lead.id).limit(1)))
    return found


def open_lead_of_customer(session: Session, tenant: str, customer_id: uuid.UUID) -> Lead | None:
    return session.scalar(select(Lead).where(
        Lead.tenant_id == tenant, Lead.customer_id == customer_id, Lead.status.in_(rules.OPEN_STATUSES))
        .order_by(Lead.created_at, Lead.id).limit(1))


def customers_by_key(session: Session, tenant: str, keys: rules.MatchKeys) -> dict[str, list[uuid.UUID]]:
    """Replicated customers sharing each key, in id order."""
    found: dict[str, list[uuid.UUID]] = {}
    for kind, value in keys.pairs():
        found[kind] = list(session.scalars(select(CustomerMatchKey.customer_id).where(
            CustomerMatchKey.tenant_id == tenant, CustomerMatchKey.kind == kind, CustomerMatchKey.value == value)
            .order_by(CustomerMatchKey.customer_id).limit(1)))
    return found


def leads_of(session: Session, tenant: str, customer_id: uuid.UUID) -> list[Lead]:
    return list(session.scalars(select(Lead).where(Lead.tenant_id == tenant, Lead.customer_id == customer_id)
                                .order_by(Lead.id)))


# --- workload and queues -------------------------------------------------------------------


def loads_of(session: Session, tenant: str, team: str) -> dict[str, int]:
    """Each owner's open (new or working) leads in the team."""
    rows = session.execute(select(Lead.owner, func.count()).where(
        Lead.tenant_id == tenant, Lead.team == team, Lead.owner.is_not(None),
        Lead.status.in_(rules.ACTIVE_STATUSES)).group_by(Lead.owner))
    return {str(owner): int(count) for owner, count in rows}


def queued_count(session: Session, tenant: str, team: str) -> int:
    return int(session.scalar(select(func.count()).select_from(Lead).where(
        Lead.tenant_id == tenant, Lead.team == team, Lead.queued_at.is_not(None))) or 0)


def queued_leads(session: Session, tenant: str, team: str, limit: int) -> list[Lead]:
    """The team's waiting leads, first come first served."""
    return list(session.scalars(select(Lead).where(
        Lead.tenant_id == tenant, Lead.team == team, Lead.queued_at.is_not(None))
        .order_by(Lead.queued_at, Lead.id).limit(limit)))


def overdue_leads(session: Session, now: datetime, limit: int) -> list[Lead]:
    """Assigned leads of every tenant past their first-touch time, untouched and not yet flagged."""
    return list(session.scalars(select(Lead).where(
        Lead.first_touch_due_at < now, Lead.touched_at.is_(None), Lead.overdue_at.is_(None),
        Lead.status.in_(rules.ACTIVE_STATUSES)).order_by(Lead.first_touch_due_at, Lead.id).limit(limit)))


# --- history -------------------------------------------------------------------------------


def add_history(session: Session, lead: Lead, action: str, details: dict[str, Any], at: datetime) -> None:
    lead.history_steps += 1
    session.add(LeadHistory(id=new_id(), tenant_id=lead.tenant_id, lead_id=lead.id, step=lead.history_steps, at=at,
                            action=action, details=details))


def history_of(session: Session, tenant: str, lead_id: uuid.UUID, page: PageRequest) -> list[LeadHistory]:
    query = select(LeadHistory).where(LeadHistory.tenant_id == tenant, LeadHistory.lead_id == lead_id)
    if page.after is not None:
        after = session.scalar(select(LeadHistory.step).where(LeadHistory.tenant_id == tenant,
                                                              LeadHistory.lead_id == lead_id,
                                                              LeadHistory.id == page.after))
        query = query.where(LeadHistory.step > (after if after is not None else 0))
    return list(session.scalars(query.order_by(LeadHistory.step).limit(page.limit + 1)))


def erase_history(session: Session, tenant: str, lead_ids: list[uuid.UUID]) -> None:
    """History entries keep what happened, not who it was: their details go."""
    for entry in session.scalars(select(LeadHistory).where(LeadHistory.tenant_id == tenant,
                                                           LeadHistory.lead_id.in_(lead_ids))):
        entry.details = {"erased": True}


# --- scoring rules -------------------------------------------------------------------------


def scoring_rules(session: Session, tenant: str) -> ScoringRuleSet | None:
    return session.get(ScoringRuleSet, tenant)


# --- customers' match keys -----------------------------------------------------------------


def keep_match_keys(session: Session, customer_id: uuid.UUID, tenant: str | None, view: dict[str, Any] | None) -> None:
    """The view replica applied (or forgot) a customer's view: its match keys follow (the replica passes on
    only versions it applied, so ``view`` is the one it holds)."""
    if view is None or tenant is None:
        session.execute(delete(CustomerMatchKey).where(CustomerMatchKey.customer_id == customer_id))
        return
    wanted = rules.customer_keys(view)
    current = {(k.kind, k.value) for k in session.scalars(select(CustomerMatchKey).where(
        CustomerMatchKey.customer_id == customer_id))}
    for kind, value in current - wanted:
        session.execute(delete(CustomerMatchKey).where(CustomerMatchKey.customer_id == customer_id,
                                                       CustomerMatchKey.kind == kind, CustomerMatchKey.value == value))
    session.add_all(CustomerMatchKey(customer_id=customer_id, kind=kind, value=value, tenant_id=tenant)
                    for kind, value in sorted(wanted - current))
