"""Events the campaign service publishes on ``crm.campaign.v1``.

Member events are keyed by the customer id (they are facts about a customer);
campaign events, which concern no single customer, are keyed by the campaign id.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.outbox import append_event
from shared.topics import CAMPAIGN


def campaign_changed(
    session: Session, tenant: str, action: str, campaign: dict[str, Any], changes: dict[str, Any] | None = None
) -> None:
    data: dict[str, Any] = {"campaign": campaign}
    if changes is not None:
        data["changes"] = changes
    append_event(session, topic=CAMPAIGN, event_type=f"crm.campaign.campaign.{action}.v1", subject=campaign["id"],
                 tenant=tenant, data=data)


def member_changed(session: Session, tenant: str, action: str, member: dict[str, Any], campaign_name: str) -> None:
    """``crm.campaign.member.<added|removed>.v1``."""
    data = {
        "member_id": member["id"],
        "campaign_id": member["campaign_id"],
        "campaign_name": campaign_name,
        "customer_id": member["customer_id"],
        "status": member["status"],
    }
    append_event(session, topic=CAMPAIGN, event_type=f"crm.campaign.member.{action}.v1", subject=member["customer_id"],
                 tenant=tenant, data=data)
