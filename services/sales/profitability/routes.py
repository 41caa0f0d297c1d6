"""HTTP edge of profitability: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from services.sales import contract
from services.sales.profitability import rules, service
from services.sales.profitability.schemas import (
    FiguresOut,
    GroupFiguresOut,
    ProfitabilityGroupOut,
    ProfitabilityOut,
    UnconvertedOut,
)
from shared.auth import Principal, Scopes
from shared.http import DbSession, feature_router
from shared.types import CurrencyCode, IsoDate, Money

router = feature_router(tags=["profitability"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]


def _figures(figures: rules.Figures, currency: str) -> dict[str, object]:
    margin = figures.margin_percent
    money = {name: Money.of(getattr(figures, name), currency) for name in rules.FIGURES}
    return {**money, "contribution_margin": Money.of(figures.contribution_margin, currency),
            "margin_percent": format(margin, "f") if margin is not None else None}


def _group(group: rules.Group, currency: str) -> dict[str, object]:
    return {"figures": FiguresOut.model_validate(_figures(group.converted, currency)),
            "unconverted": [UnconvertedOut.model_validate({"currency": code, **_figures(group.unconverted[code], code)})
                            for code in sorted(group.unconverted)],
            "uncosted": sorted(group.uncosted)}


def profitability_out(found: rules.Report, start: date, end: date, depth: int) -> ProfitabilityOut:
    return ProfitabilityOut(
        from_=start, to=end, currency=found.currency, group_by=list(found.group_by), category_depth=depth,
        groups=[ProfitabilityGroupOut(key=dict(zip(found.group_by, g.key, strict=True)), **_group(g, found.currency))
                for g in found.groups],
        total=GroupFiguresOut(**_group(found.total, found.currency)))


@router.get("/profitability", response_model=ProfitabilityOut,
            summary="Revenue, discounts, returns, cost of goods and contribution margin of a period, by segment",
            description="Orders count by their invoices issued from `from` to `to` (both inclusive): gross revenue "
                        "at the lines' unit prices, discounts (loyalty discounts among them, shared among each order's "
                        "lines by their totals), net revenue (what was invoiced); returns credited in the period (and "
                        "returns an invoice of the period left out), correction credit notes; cost of goods at the "
                        "products' cost prices, and the cost of what came back; contribution margin = net revenue "
                        "- returns - corrections - (cost of goods - returned cost), and its percent of net revenue. "
                        "Every amount is converted into `currency` at the rate of its document's day; amounts with "
                        "no rate that day are listed per currency in `unconverted`, never guessed. `group_by`: any "
                        "of category (the product's category path cut to `category_depth` levels), customer_group, "
                        "value_tier, region (the customer's today, from the unified view), channel (the order's), "
                        "owner (of the deal the order came from), comma-separated; empty: one total.")
def get_profitability(
    db: DbSession,
    who: Reader,
    from_: Annotated[IsoDate, Query(alias="from", description="First day (YYYY-MM-DD).")],
    to: Annotated[IsoDate, Query(description="Last day (YYYY-MM-DD), not before from; at most "
                                             f"{rules.MAX_PERIOD_DAYS} days after it.")],
    currency: Annotated[CurrencyCode | None, Query(description="The reporting currency; default the tenant's.")] = None,
    group_by: Annotated[str | None, Query(max_length=200, pattern=rules.GROUP_BY_PATTERN,
                                          description="Comma-separated dimensions, each at most once: "
                                                      + ", ".join(rules.DIMENSIONS) + ".")] = None,
    category_depth: Annotated[int, Query(ge=1, le=rules.MAX_CATEGORY_DEPTH,
                                         description="Levels of the category path grouped by (1: top level).")] = 1,
) -> ProfitabilityOut:
    dimensions = rules.parse_group_by(group_by)
    found = service.profitability(db, who.tenant, start=from_, end=to, currency=currency, group_by=dimensions,
                                  category_depth=category_depth)
    return profitability_out(found, from_, to, category_depth)

