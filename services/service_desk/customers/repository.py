"""Every query of the customer replica: the customer a ticket is for, and whether it is known."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from services.service_desk import contract
from services.service_desk.customers.tables import CustomerReplica
from services.service_desk.mail.repository import keep_addresses
from shared.replica import ViewReplica


def _follow_view(session: Session, customer_id: uuid.UUID, tenant: str | None, view: dict[str, Any] | None) -> None:
    keep_addresses(session, customer_id, tenant, view)
    # A tier or group that moved picks the customer's tickets' SLA policies anew (imported here: sla reads
    # this module).
    from services.service_desk.sla.service import customer_changed

    customer_changed(session, tenant, customer_id)


# The e-mail channel's address index follows each applied view (who an inbound sender is), and so do the
# customer's tickets' SLA clocks.
REPLICA = ViewReplica(CustomerReplica, reads=contract.VIEW_UPDATED, on_applied=_follow_view)


def find_customer(session: Session, tenant: str, customer_id: uuid.UUID) -> CustomerReplica | None:
    return REPLICA.find(session, tenant, customer_id)


def find_customers(session: Session, tenant: str, ids: set[uuid.UUID]) -> dict[uuid.UUID, CustomerReplica]:
    return REPLICA.find_many(session, tenant, ids)


def require_customer(session: Session, tenant: str, customer_id: uuid.UUID, *,
                     wait_seconds: float = 0.0) -> CustomerReplica:
    """The customer a new record is for: a 422 if the replica does not know it (after ``wait_seconds``)."""
    return REPLICA.require(session, tenant, customer_id, wait_seconds=wait_seconds)
