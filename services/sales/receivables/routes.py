"""HTTP edge of receivables ageing: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from services.sales import contract
from services.sales.receivables import rules, service
from services.sales.receivables.schemas import (
    ConvertedOut,
    CurrencyAgeingOut,
    ReceivablesGroupOut,
    ReceivablesOut,
    ReceivablesTotalsOut,
)
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.http import DbSession, feature_router
from shared.types import IsoDate, Money

router = feature_router(tags=["receivables"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]


def _buckets(ageing: rules.Ageing) -> dict[str, object]:
    c = ageing.currency
    a = ageing.amounts
    return {"current": Money.of(a["current"], c), "1_30": Money.of(a["1_30"], c), "31_60": Money.of(a["31_60"], c),
            "61_90": Money.of(a["61_90"], c), "over_90": Money.of(a["over_90"], c),
            "total": Money.of(ageing.total, c), "invoices": ageing.invoices}


def _by_currency(group: rules.Group) -> list[CurrencyAgeingOut]:
    return [CurrencyAgeingOut.model_validate({"currency": code, **_buckets(group.by_currency[code])})
            for code in sorted(group.by_currency)]


def _converted(group: rules.Group) -> ConvertedOut:
    assert group.converted is not None
    return ConvertedOut.model_validate({**_buckets(group.converted), "unconverted": group.unconverted})


def receivables_out(found: rules.Report, as_of: date, group_by: rules.GroupBy) -> ReceivablesOut:
    return ReceivablesOut(
        as_of=as_of, group_by=group_by, currency=found.currency,
        groups=[ReceivablesGroupOut(group=g.group, by_currency=_by_currency(g), converted=_converted(g))
                for g in found.groups],
        totals=ReceivablesTotalsOut(by_currency=_by_currency(found.totals), converted=_converted(found.totals)))


@router.get("/receivables", response_model=ReceivablesOut,
            summary="Receivables ageing per customer, owner or region, as of a day",
            description="What invoices owed on `as_of` (default: today), by days past due: `current` (not yet "
                        "due), `1_30`, `31_60`, `61_90`, `over_90`. Counts invoices issued by that day, less the "
                        "payments received (their `received_on`), credit notes issued and write-offs made by that "
                        "day. Amounts per currency, never summed across currencies, and converted into the "
                        "tenant's currency at the as-of day's rate (currencies without a rate are named in "
                        "`unconverted`, never guessed). Owner: the owner of the deal the order came from; region: "
                        "the customer's region today; invoices without one are in the `null` group.")
def get_receivables(
    db: DbSession,
    who: Reader,
    as_of: Annotated[IsoDate | None, Query(description="The day (YYYY-MM-DD); default today.")] = None,
    group_by: rules.GroupBy = "customer",
) -> ReceivablesOut:
    day = as_of if as_of is not None else utcnow().date()
    return receivables_out(service.receivables(db, who.tenant, as_of=day, group_by=group_by), day, group_by)
