"""HTTP edge of the forecast: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Response

from services.sales import contract
from services.sales.forecast import rules, service
from services.sales.forecast.schemas import ForecastOut, GroupOut, PeriodOut, UndatedOut, UnconvertedOut
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.http import DbSession, feature_router
from shared.types import CurrencyCode, IsoDate, Money

router = feature_router(tags=["forecast"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]


def group_out(figures: rules.Figures, currency: str) -> GroupOut:
    rounded = figures.rounded(currency)
    return GroupOut(group=figures.group, **{m: Money.of(rounded[m], currency) for m in rules.MEASURES},
                    opportunities=figures.opportunities,
                    unconverted=[UnconvertedOut(amount=format(Money.of(u.amount, u.currency).amount, "f"),
                                                currency=u.currency, status=u.status, opportunities=u.opportunities)
                                 for u in figures.unconverted_list()])


def forecast_out(found: service.Forecast) -> ForecastOut:
    return ForecastOut.model_validate({
        "currency": found.currency, "period": found.period, "group_by": found.group_by, "from": found.start,
        "to": found.end,
        "periods": [PeriodOut(period=p.period.key, start=p.period.start, end=p.period.end,
                              groups=[group_out(g, found.currency) for g in p.groups]) for p in found.periods],
        "undated": [UndatedOut(group=group, opportunities=n) for group, n in found.undated],
    })


@router.get("/forecast", response_model=ForecastOut, summary="Forecast per period and owner, team or region",
            description="Open and won deals per month or quarter of their expected close date, each converted into "
                        "the reporting currency at the rate that holds on that date; deals with no rate that day are "
                        "listed under `unconverted` in their own currency, deals without a date under `undated`. "
                        "Without `from`: the current quarter's first day; without `to`: the end of the third quarter "
                        "after `from`'s (so with neither, this quarter and the next three). Categories are "
                        "cumulative: best_case includes commit, pipeline every open deal not omitted.")
def get_forecast(
    db: DbSession,
    who: Reader,
    currency: Annotated[CurrencyCode, Query(description="The reporting currency.")],
    period: rules.PeriodKind = "quarter",
    group_by: rules.GroupBy = "owner",
    from_: Annotated[IsoDate | None, Query(alias="from", description="First day (YYYY-MM-DD).")] = None,
    to: Annotated[IsoDate | None, Query(description="Last day (YYYY-MM-DD), not before from; at most five years "
                                                   "after it.")] = None,
) -> Response:
    found = service.forecast(db, who.tenant, period=period, currency=currency, group_by=group_by, start=from_, end=to,
                             today=utcnow().date())
    # Serialized here, once: a response model returned would be validated again, field by field, and a
    # forecast by owner is thousands of amounts.
    return Response(forecast_out(found).model_dump_json(by_alias=True), media_type="application/json")
