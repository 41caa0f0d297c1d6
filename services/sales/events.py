"""Events the sales service publishes on ``crm.sales.v1``, keyed by customer id."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.sales.domain import probability_of
from services.sales.tables import Opportunity
from shared.outbox import append_event
from shared.topics import SALES
from shared.types import Money


def opportunity_type(action: str) -> str:
    """``crm.sales.opportunity.<created|updated|won|lost>.v1``."""
    return f"crm.sales.opportunity.{action}.v1"


def opportunity_changed(
    session: Session, tenant: str, action: str, opportunity: Opportunity, changes: dict[str, Any] | None = None
) -> None:
    data: dict[str, Any] = {
        "opportunity_id": str(opportunity.id),
        "customer_id": str(opportunity.customer_id),
        "name": opportunity.name,
        "amount": Money.of(opportunity.amount, opportunity.currency).model_dump(mode="json"),
        "stage": opportunity.stage,
        "status": opportunity.status,
        "probability": probability_of(opportunity.stage),
        "version": opportunity.version,
    }
    if changes is not None:
        data["changes"] = changes
    append_event(session, topic=SALES, event_type=opportunity_type(action), subject=str(opportunity.customer_id),
                 tenant=tenant, data=data)
