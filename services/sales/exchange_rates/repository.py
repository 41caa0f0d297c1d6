"""Every query of the exchange rates table."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from services.sales.exchange_rates import rules
from services.sales.exchange_rates.tables import ExchangeRate
from shared.http import PageRequest


def get_rate(session: Session, tenant: str, rate_id: uuid.UUID) -> ExchangeRate | None:
    return session.scalar(select(ExchangeRate).where(ExchangeRate.tenant_id == tenant, ExchangeRate.id == rate_id))


def rate_of_day(session: Session, tenant: str, base: str, quote: str, valid_from: date) -> ExchangeRate | None:
    return session.scalar(select(ExchangeRate).where(
        ExchangeRate.tenant_id == tenant, ExchangeRate.base == base, ExchangeRate.quote == quote,
        ExchangeRate.valid_from == valid_from))


def list_rates(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[ExchangeRate]:
    """One page in id order, plus one row more if there is a next page."""
    query = select(ExchangeRate).where(ExchangeRate.tenant_id == tenant)
    for name in ("base", "quote"):
        if filters.get(name) is not None:
            query = query.where(getattr(ExchangeRate, name) == filters[name])
    if page.after is not None:
        query = query.where(ExchangeRate.id > page.after)
    return list(session.scalars(query.order_by(ExchangeRate.id).limit(page.limit + 1)))


def rates_with(session: Session, tenant: str, currency: str, *, until: date,
               others: Iterable[str] | None = None) -> list[ExchangeRate]:
    """The rates between ``currency`` and any other (or only ``others``) that start on or before ``until``."""
    pair = or_(ExchangeRate.base == currency, ExchangeRate.quote == currency)
    if others is not None:
        wanted = list(others)
        pair = or_(and_(ExchangeRate.base == currency, ExchangeRate.quote.in_(wanted)),
                   and_(ExchangeRate.quote == currency, ExchangeRate.base.in_(wanted)))
    return list(session.scalars(select(ExchangeRate).where(
        ExchangeRate.tenant_id == tenant, pair, ExchangeRate.valid_from <= until)))


def rate_book(session: Session, tenant: str, currency: str, others: list[str] | None = None, *,
              until: date) -> rules.RateBook:
    """The rates between ``currency`` and the others (all of them when None) that start on or before ``until``,
    as a book that answers the rate of any day."""
    return rules.RateBook(rules.Rate(r.base, r.quote, r.rate, r.valid_from)
                          for r in rates_with(session, tenant, currency, until=until, others=others))
