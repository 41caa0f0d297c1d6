"""Every query of the customer replica: the customer a membership is for, and whether it is known."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.campaign import contract
from services.campaign.audiences.service import customer_changed
from services.campaign.customers.tables import CustomerReplica
from shared.replica import ViewReplica

# Each applied view re-evaluates the customer against its tenant's audiences, in the same transaction.
REPLICA = ViewReplica(CustomerReplica, reads=contract.VIEW_UPDATED, on_applied=customer_changed)


def find_customer(session: Session, tenant: str, customer_id: uuid.UUID) -> CustomerReplica | None:
    return REPLICA.find(session, tenant, customer_id)


def find_customers(session: Session, tenant: str, ids: set[uuid.UUID]) -> dict[uuid.UUID, CustomerReplica]:
    return REPLICA.find_many(session, tenant, ids)


def require_customer(session: Session, tenant: str, customer_id: uuid.UUID, *,
                     wait_seconds: float = 0.0) -> CustomerReplica:
    """The customer a new record is for: a 422 if the replica does not know it (after ``wait_seconds``)."""
    return REPLICA.require(session, tenant, customer_id, wait_seconds=wait_seconds)
