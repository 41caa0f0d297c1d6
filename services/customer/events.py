"""Events the customer service publishes: customer master changes and each new view version."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.outbox import append_event
from shared.topics import CUSTOMER, CUSTOMER_VIEW

CREATED = "crm.customer.created.v1"
UPDATED = "crm.customer.updated.v1"
DELETED = "crm.customer.deleted.v1"
VIEW_UPDATED = "crm.customer.view.updated.v1"


def customer_created(session: Session, tenant: str, customer: dict[str, Any]) -> None:
    append_event(session, topic=CUSTOMER, event_type=CREATED, subject=customer["id"], tenant=tenant,
                 data={"customer": customer})


def customer_updated(session: Session, tenant: str, customer: dict[str, Any], changes: dict[str, Any]) -> None:
    append_event(session, topic=CUSTOMER, event_type=UPDATED, subject=customer["id"], tenant=tenant,
                 data={"customer": customer, "changes": changes})


def customer_deleted(session: Session, tenant: str, customer_id: str) -> None:
    append_event(session, topic=CUSTOMER, event_type=DELETED, subject=customer_id, tenant=tenant,
                 data={"customer_id": customer_id})


def view_published(session: Session, tenant: str, view: dict[str, Any]) -> None:
    append_event(session, topic=CUSTOMER_VIEW, event_type=VIEW_UPDATED, subject=view["customer_id"], tenant=tenant,
                 data=view)


def view_removed(session: Session, tenant: str, customer_id: str) -> None:
    """A tombstone: compaction then forgets the customer on the view topic."""
    append_event(session, topic=CUSTOMER_VIEW, event_type=VIEW_UPDATED, subject=customer_id, tenant=tenant, data=None)
