"""HTTP edges of exchange rates: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Response

from services.sales import contract
from services.sales.exchange_rates import rules, service
from services.sales.exchange_rates.schemas import ExchangeRateCreate, ExchangeRateOut
from services.sales.exchange_rates.tables import ExchangeRate
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, feature_router, next_cursor, written
from shared.types import CurrencyCode

router = feature_router(tags=["exchange rates"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


def rate_out(rate: ExchangeRate) -> ExchangeRateOut:
    return ExchangeRateOut(id=rate.id, base=rate.base, quote=rate.quote, rate=rules.rate_text(rate.rate),
                           valid_from=rate.valid_from,
                           created_at=rate.created_at)


@router.post("/exchange-rates", status_code=201, response_model=ExchangeRateOut,
             summary="Record a dated exchange rate (a second rate for the same pair and day is a 409)")
def create_rate(body: ExchangeRateCreate, response: Response, db: DbSession, who: Writer) -> ExchangeRateOut:
    created = service.create_rate(db, who.tenant, body)
    written(response, location=f"/v1/exchange-rates/{created.id}")
    return rate_out(created)


@router.get("/exchange-rates", response_model=Page[ExchangeRateOut], summary="List exchange rates")
def list_rates(db: DbSession, who: Reader, paging: Paging, base: CurrencyCode | None = None,
               quote: CurrencyCode | None = None) -> Page[ExchangeRateOut]:
    rates = service.list_rates(db, who.tenant, paging, {"base": base, "quote": quote})
    return Page(items=[rate_out(r) for r in rates[: paging.limit]],
                next_cursor=next_cursor([r.id for r in rates], paging.limit))


@router.get("/exchange-rates/{rate_id:uuid}", response_model=ExchangeRateOut, summary="Read an exchange rate")
def get_rate(rate_id: uuid.UUID, db: DbSession, who: Reader) -> ExchangeRateOut:
    return rate_out(service.get_rate(db, who.tenant, rate_id))
