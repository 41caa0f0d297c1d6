"""HTTP edge of the campaign report: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Query

from services.campaign import contract
from services.campaign.reports import rules, service
from services.campaign.reports.rules import Tally
from services.campaign.reports.schemas import Figures, Model, ReportOut, TierFigures, VariantFigures
from shared.auth import Principal, Scopes
from shared.http import DbSession, feature_router
from shared.types import Money

router = feature_router(tags=["campaigns"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]


def _figures(tally: Tally, report: service.Report) -> dict[str, Any]:
    campaign = report.campaign
    currency = campaign.budget_currency
    cost = rules.share_of_cost(campaign.spent_amount, tally.reached, report.total.reached, tally.members,
                               report.total.members)
    per_lead = rules.cost_per_lead(cost, tally.leads)
    return {
        "members": tally.members, "reached": tally.reached, "delivered": tally.delivered,
        "bounced": tally.bounced, "suppressed": tally.suppressed, "opened": tally.opened,
        "clicked": tally.clicked, "responded": tally.responded, "converted": tally.converted,
        "unsubscribed": tally.unsubscribed,
        "delivery_rate": rules.rate(tally.delivered, tally.reached),
        "bounce_rate": rules.rate(tally.bounced, tally.reached),
        "open_rate": rules.rate(tally.opened, tally.delivered),
        "click_rate": rules.rate(tally.clicked, tally.delivered),
        "response_rate": rules.rate(tally.responded, tally.delivered),
        "conversion_rate": rules.rate(tally.converted, tally.delivered),
        "leads": _count(tally.leads), "opportunities": _count(tally.opportunities),
        "won_deals": _count(tally.won_deals),
        "won_revenue": Money.of(tally.revenue, currency),
        "unconverted_revenue": [Money.of(amount, code) for code, amount in sorted(tally.unconverted.items())],
        "cost": Money.of(cost, currency),
        "cost_per_lead": Money.of(per_lead, currency) if per_lead is not None else None,
        "roi": rules.roi(tally.revenue, cost),
    }


def _count(value: Decimal) -> float:
    return round(float(value), 4)


@router.get("/campaigns/{campaign_id:uuid}/report", response_model=ReportOut,
            summary="Reach, responses, attributed leads, opportunities and won revenue, cost and ROI")
def campaign_report(
    campaign_id: uuid.UUID, db: DbSession, who: Reader, model: Model = "last_touch",
    lookback_days: Annotated[int, Query(ge=1, le=730, description="How long before a conversion a touch "
                                                                  "still earns credit.")] = rules.DEFAULT_LOOKBACK_DAYS,
) -> ReportOut:
    report = service.campaign_report(db, who.tenant, campaign_id, model=model, lookback_days=lookback_days)
    return ReportOut(
        campaign_id=report.campaign.id, model=report.model, lookback_days=report.lookback_days,  # type: ignore[arg-type]
        currency=report.campaign.budget_currency, as_of=report.as_of,
        totals=Figures(**_figures(report.total, report)),
        by_variant=[VariantFigures(variant=name, **_figures(tally, report))
                    for name, tally in sorted(report.by_variant.items(), key=lambda item: item[0] or "")],
        by_value_tier=[TierFigures(value_tier=name, **_figures(tally, report))
                       for name, tally in sorted(report.by_tier.items())],
    )
