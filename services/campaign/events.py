"""Events the campaign service publishes on ``crm.campaign.v1``.

Member events are keyed by the customer id (they are facts about a customer);
campaign events, which concern no single customer, are keyed by the campaign id.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from services.campaign.tables import CampaignMember
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


def member_changed(session: Session, tenant: str, action: str, member: CampaignMember, campaign_name: str,
                   *, customer_id: str | None = None, status: str | None = None) -> None:
    """``crm.campaign.member.<added|removed|moved>.v1``, about ``customer_id`` (default: the member's customer)."""
    subject = customer_id or str(member.customer_id)
    data = {
        "member_id": str(member.id),
        "campaign_id": str(member.campaign_id),
        "campaign_name": campaign_name,
        "customer_id": subject,
        "status": status or member.status,
    }
    append_event(session, topic=CAMPAIGN, event_type=f"crm.campaign.member.{action}.v1", subject=subject,
                 tenant=tenant, data=data)
