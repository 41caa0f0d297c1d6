"""Every query of the pricing policy."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.sales.price_quotes.tables import PricingPolicy


def get_policy(session: Session, tenant: str) -> PricingPolicy | None:
    return session.scalar(select(PricingPolicy).where(PricingPolicy.tenant_id == tenant))
