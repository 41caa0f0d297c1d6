"""Every query of pipeline stages, and the one question they ask of opportunities: who is in a stage."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.sales.opportunities.tables import Opportunity
from services.sales.pipeline_stages.tables import PipelineStage


def stages_of(session: Session, tenant: str) -> list[PipelineStage]:
    """Every stage the tenant configured, retired ones included (none: it uses the defaults)."""
    return list(session.scalars(select(PipelineStage).where(PipelineStage.tenant_id == tenant)
                                .order_by(PipelineStage.position, PipelineStage.name)))


def open_deals_in(session: Session, tenant: str, name: str) -> int:
    return int(session.scalar(select(func.count()).select_from(Opportunity).where(
        Opportunity.tenant_id == tenant, Opportunity.stage == name, Opportunity.status == "open")) or 0)
