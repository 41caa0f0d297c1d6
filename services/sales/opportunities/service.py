"""Opportunity use cases: open, list, read and change deals, and follow their customers' life cycle.

Every function works inside the caller's unit of work and never commits; each change
publishes its event in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from services.sales import contract
from services.sales.customers import repository as customers
from services.sales.customers.tables import CustomerReplica
from services.sales.opportunities import repository, rules
from services.sales.opportunities.schemas import OpportunityCreate
from services.sales.opportunities.tables import Opportunity
from shared.db import utcnow
from shared.errors import NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.lifecycle import ERASED_TEXT
from shared.outbox import publish
from shared.types import Money


@dataclass(frozen=True)
class Shown:
    """An opportunity with its customer as the replica knows it (None: erased or not replicated yet)."""

    opportunity: Opportunity
    customer: CustomerReplica | None


def create_opportunity(session: Session, tenant: str, body: OpportunityCreate, *, wait_seconds: float) -> Shown:
    amount = rules.check_amount(body.amount.amount, body.amount.currency)
    customer = customers.require_customer(session, tenant, body.customer_id, wait_seconds=wait_seconds)
    now = utcnow()
    status = rules.status_of(body.stage)
    opportunity = Opportunity(
        id=new_id(), tenant_id=tenant, customer_id=body.customer_id, name=body.name, amount=amount,
        currency=body.amount.currency, stage=body.stage, status=status, expected_close_date=body.expected_close_date,
        version=1, created_at=now, updated_at=now, closed_at=now if status != "open" else None,
    )
    session.add(opportunity)
    publish(session, contract.OPPORTUNITY_CREATED, contract.OpportunityCreated(**_facts(opportunity)),
            subject=str(opportunity.customer_id), tenant=tenant)
    return Shown(opportunity, customer)


def list_opportunities(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Shown]:
    """The page's opportunities, plus one more if there is a next page."""
    rows = repository.list_opportunities(session, tenant, page, filters)
    found = customers.find_customers(session, tenant, {o.customer_id for o in rows})
    return [Shown(o, found.get(o.customer_id)) for o in rows]


def get_opportunity(session: Session, tenant: str, opportunity_id: uuid.UUID) -> Shown:
    opportunity = _found(session, tenant, opportunity_id)
    return Shown(opportunity, customers.find_customer(session, tenant, opportunity.customer_id))


def update_opportunity(session: Session, tenant: str, opportunity_id: uuid.UUID, patch: dict[str, Any], *,
                       check_version: Callable[[int], None]) -> Shown:
    """Apply a partial update; ``check_version`` refuses a stale one (the client's If-Match)."""
    opportunity = _found(session, tenant, opportunity_id)
    check_version(opportunity.version)
    fields = rules.patch_fields(patch)
    diff = rules.change_opportunity(opportunity.stage, {name: getattr(opportunity, name) for name in fields}, fields)
    customer = customers.find_customer(session, tenant, opportunity.customer_id)
    if diff:
        old_status = opportunity.status
        for name, change in diff.items():
            setattr(opportunity, name, change["new"])
        opportunity.status = rules.status_of(opportunity.stage)
        opportunity.version += 1
        opportunity.updated_at = utcnow()
        if opportunity.status != "open" and old_status == "open":
            opportunity.closed_at = opportunity.updated_at
        _changed(session, tenant, rules.event_action(old_status, opportunity.status), opportunity, diff)
    return Shown(opportunity, customer)


def follow_customer(session: Session, tenant: str, opportunity: Opportunity, previous: uuid.UUID) -> None:
    """A merge or an unmerge moved the opportunity from ``previous`` to another customer."""
    opportunity.version += 1
    opportunity.updated_at = utcnow()
    _changed(session, tenant, "updated", opportunity,
             {"customer_id": {"old": str(previous), "new": str(opportunity.customer_id)}})


def erase_customer(session: Session, tenant: str, customer_id: uuid.UUID) -> None:
    """The customer is erased: names go; amounts and stages, which are no one's personal data, stay for the figures."""
    for opportunity in repository.opportunities_of(session, tenant, customer_id):
        if opportunity.name != ERASED_TEXT:
            opportunity.name = ERASED_TEXT
            opportunity.version += 1
            opportunity.updated_at = utcnow()
            _changed(session, tenant, "updated", opportunity, {"name": {"erased": True}})


def _found(session: Session, tenant: str, opportunity_id: uuid.UUID) -> Opportunity:
    opportunity = repository.get_opportunity(session, tenant, opportunity_id)
    if opportunity is None:
        raise NotFound(f"No opportunity {opportunity_id}.")
    return opportunity


def _facts(opportunity: Opportunity) -> dict[str, Any]:
    return {
        "opportunity_id": opportunity.id, "customer_id": opportunity.customer_id, "name": opportunity.name,
        "amount": Money.of(opportunity.amount, opportunity.currency), "stage": opportunity.stage,
        "status": opportunity.status, "probability": rules.probability_of(opportunity.stage),
        "version": opportunity.version,
    }


def _changed(session: Session, tenant: str, action: str, opportunity: Opportunity, changes: dict[str, Any]) -> None:
    publish(session, contract.OPPORTUNITY_CHANGED[action],
            contract.OpportunityChanged(**_facts(opportunity), changes=changes),
            subject=str(opportunity.customer_id), tenant=tenant)
