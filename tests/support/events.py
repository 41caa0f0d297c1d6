"""Hand-made events, for tests that play the part of another service on a topic."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from shared.envelope import CloudEvent


def cloud_event(*, service: str, event_type: str, subject: str, tenant: str, data: dict[str, Any], sequence: int,
                event_id: str | None = None) -> CloudEvent:
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source=f"/crm/{service}",
        type=event_type,
        subject=subject,
        time=datetime.now(timezone.utc),
        data=data,
        tenant=tenant,
        sequence=sequence,
    )


def opportunity_event(*, customer_id: str, tenant: str, amount: str, sequence: int, event_id: str | None = None,
                      opportunity_id: str | None = None, status: str = "open") -> CloudEvent:
    opportunity_id = opportunity_id or str(uuid.uuid4())
    return cloud_event(
        service="sales", event_type="crm.sales.opportunity.created.v1", subject=customer_id, tenant=tenant,
        sequence=sequence, event_id=event_id,
        data={"opportunity_id": opportunity_id, "customer_id": customer_id, "name": "Hand-made",
              "amount": {"amount": amount, "currency": "EUR"}, "stage": "proposal", "status": status,
              "probability": 50, "version": 1},
    )


def ticket_event(*, customer_id: str, tenant: str, sequence: int, status: str | None = "new") -> CloudEvent:
    data: dict[str, Any] = {"ticket_id": str(uuid.uuid4()), "customer_id": customer_id, "subject": "Hand-made",
                            "type": "question", "priority": "normal", "channel": "web", "version": 1}
    if status is not None:
        data["status"] = status
    return cloud_event(service="service_desk", event_type="crm.service_desk.ticket.created.v1", subject=customer_id,
                       tenant=tenant, sequence=sequence, data=data)
