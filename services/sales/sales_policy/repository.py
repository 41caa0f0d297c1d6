"""Every query of the sales policies."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.sales.sales_policy.tables import SalesPolicy


def get_policy(session: Session, tenant: str, *, lock: bool = False) -> SalesPolicy | None:
    query = select(SalesPolicy).where(SalesPolicy.tenant_id == tenant)
    return session.scalar(query.with_for_update() if lock else query)
