"""Events the sales service publishes on ``crm.sales.v1``, keyed by customer id."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.outbox import append_event
from shared.topics import SALES


def opportunity_type(action: str) -> str:
    """``crm.sales.opportunity.<created|updated|won|lost>.v1``."""
    return f"crm.sales.opportunity.{action}.v1"


def opportunity_changed(
    session: Session, tenant: str, action: str, opportunity: dict[str, Any], changes: dict[str, Any] | None = None
) -> None:
    data = {
        "opportunity_id": opportunity["id"],
        "customer_id": opportunity["customer_id"],
        "name": opportunity["name"],
        "amount": opportunity["amount"],
        "stage": opportunity["stage"],
        "status": opportunity["status"],
        "probability": opportunity["probability"],
        "version": opportunity["version"],
    }
    if changes is not None:
        data["changes"] = changes
    append_event(session, topic=SALES, event_type=opportunity_type(action), subject=opportunity["customer_id"],
                 tenant=tenant, data=data)
