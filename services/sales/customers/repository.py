"""Every query of the customer replica: the customer a sales record is for, and whether it is known."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from services.sales import contract
from services.sales.customers.tables import CustomerReplica
from services.sales.forecast import service as forecast
from services.sales.leads.repository import keep_match_keys
from shared.replica import ViewReplica



def _follow_view(session: Session, customer_id: uuid.UUID, tenant: str | None, view: dict[str, Any] | None) -> None:
    """What follows each applied (or forgotten) view: the match keys leads are matched by (e-mail, phone,
    company domain), and the region the forecast groups the customer's deals under."""
    keep_match_keys(session, customer_id, tenant, view)
    forecast.customer_changed(session, customer_id, tenant, view)


REPLICA = ViewReplica(CustomerReplica, reads=contract.VIEW_UPDATED, on_applied=_follow_view)


def find_customer(session: Session, tenant: str, customer_id: uuid.UUID) -> CustomerReplica | None:
    return REPLICA.find(session, tenant, customer_id)


def find_customers(session: Session, tenant: str, ids: set[uuid.UUID]) -> dict[uuid.UUID, CustomerReplica]:
    return REPLICA.find_many(session, tenant, ids)


def require_customer(session: Session, tenant: str, customer_id: uuid.UUID, *,
                     wait_seconds: float = 0.0) -> CustomerReplica:
    """The customer a new record is for: a 422 if the replica does not know it (after ``wait_seconds``)."""
    return REPLICA.require(session, tenant, customer_id, wait_seconds=wait_seconds)
