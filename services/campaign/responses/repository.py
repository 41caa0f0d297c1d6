"""Every query of the campaign responses table."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.campaign.responses.tables import CampaignResponse
from shared.http import PageRequest


def list_responses(session: Session, campaign_id: uuid.UUID, page: PageRequest,
                   filters: dict[str, Any]) -> list[CampaignResponse]:
    """One page in id order (time-ordered ids: the order they were recorded), plus one row more if there is a next page."""
    query = select(CampaignResponse).where(CampaignResponse.campaign_id == campaign_id)
    for name in ("kind", "customer_id"):
        if filters.get(name) is not None:
            query = query.where(getattr(CampaignResponse, name) == filters[name])
    if page.after is not None:
        query = query.where(CampaignResponse.id > page.after)
    return list(session.scalars(query.order_by(CampaignResponse.id).limit(page.limit + 1)))
