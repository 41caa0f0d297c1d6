"""Exchange-rate use cases: record, list and read dated rates, and the rate that holds on a day.

A rate is a dated fact: once recorded it is not changed (a second rate for the same pair and
day is a 409); a new rate from a later day supersedes it from that day on. Every function
works inside the caller's unit of work and never commits; a new rate publishes its event in
the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.sales import contract
from services.sales.exchange_rates import repository, rules
from services.sales.exchange_rates.schemas import ExchangeRateCreate
from services.sales.exchange_rates.tables import ExchangeRate
from services.sales.forecast import service as forecast
from shared.db import utcnow
from shared.errors import Conflict, NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.outbox import publish


def create_rate(session: Session, tenant: str, body: ExchangeRateCreate) -> ExchangeRate:
    rules.check_pair(body.base, body.quote)
    rate = rules.check_rate(body.rate)
    if repository.rate_of_day(session, tenant, body.base, body.quote, body.valid_from) is not None:
        raise _taken(body)
    record = ExchangeRate(id=new_id(), tenant_id=tenant, base=body.base, quote=body.quote, rate=rate,
                          valid_from=body.valid_from, created_at=utcnow())
    try:
        # A concurrent request for the same pair and day may have won since the check: a 409 too, not a 500.
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        raise _taken(body) from None
    forecast.rate_recorded(session, tenant, record.valid_from)
    payload = contract.ExchangeRateCreated(rate_id=record.id, base=record.base, quote=record.quote,
                                           rate=rules.rate_text(rate), valid_from=record.valid_from)
    publish(session, contract.EXCHANGE_RATE_CREATED, payload, subject=str(record.id), tenant=tenant)
    return record


def list_rates(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[ExchangeRate]:
    """The page's rates, plus one more if there is a next page."""
    return repository.list_rates(session, tenant, page, filters)


def get_rate(session: Session, tenant: str, rate_id: uuid.UUID) -> ExchangeRate:
    found = repository.get_rate(session, tenant, rate_id)
    if found is None:
        raise NotFound(f"No exchange rate {rate_id}.")
    return found


def rate_on(session: Session, tenant: str, base: str, quote: str, on: date) -> Decimal | None:
    """What one ``base`` is worth in ``quote`` on ``on`` (``rules``: the pair or its inverse); None: no rate holds."""
    if base == quote:
        return Decimal(1)
    return rate_book(session, tenant, quote, [base], until=on).rate_on(base, quote, on)


def rate_book(session: Session, tenant: str, currency: str, others: list[str] | None = None, *,
              until: date) -> rules.RateBook:
    """The rates between ``currency`` and the others (all of them when None) that start on or before ``until``."""
    return repository.rate_book(session, tenant, currency, others, until=until)


def _taken(body: ExchangeRateCreate) -> Conflict:
    return Conflict(f"{body.base}/{body.quote} already has a rate from {body.valid_from.isoformat()}; a rate is not "
                    f"changed once recorded: give a new rate the day it starts to hold.")
