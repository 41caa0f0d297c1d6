"""The forecast use cases: the forecast itself (sum the deals, convert each stretch's sums at its dated rate,
round once), and the upkeep of its rollup.

The forecast reads; it never writes and never commits. The rollup (``rules``: counted deals
summed per group and segment) is kept inside the transactions that change what it sums: a
deal's (``deal_changed``), a customer's view (``customer_changed``) and a new exchange rate
(``rate_recorded``). A tenant's first deal marks its rollup as wanted; the worker's build job
(``build_waiting_rollups``) sums its deals once, and from then on its forecasts read whole
segments from the rollup and only the part-segments at the window's edges from the deals.
Until then they read the deals. Writers of one tenant's rollup hold its lock shared; the build
and a rate's split of a segment hold it alone, so they see every writer finished.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from services.sales.exchange_rates import repository as exchange_rates
from services.sales.forecast import repository, rules
from services.sales.opportunities.tables import Opportunity
from shared.db import hold_lock, unit_of_work, utcnow
from shared.settings import Settings


@dataclass(frozen=True)
class Forecast:
    currency: str
    period: rules.PeriodKind
    group_by: rules.GroupBy
    start: date
    end: date
    periods: list[rules.PeriodFigures]
    undated: list[tuple[str | None, int]]


def forecast(session: Session, tenant: str, *, period: rules.PeriodKind, currency: str, group_by: rules.GroupBy,
             start: date | None, end: date | None, today: date) -> Forecast:
    start, end = rules.window(start, end, period, today)
    # Every rate into or out of the reporting currency up to the window's end: a tenant keeps few,
    # and the stretches need each day one of them starts to hold.
    book = exchange_rates.rate_book(session, tenant, currency, until=end)
    # Each currency's deals are summed per stretch of its own rates: a deal in the reporting currency
    # (or one without any rate) only per period.
    stretches = {other: rules.segments(start, end, period, book.change_days(start, end, (other, currency)))
                 for other in book.currencies_quoted_with(currency)}
    sums = _sums(session, tenant, group_by=group_by, stretches=stretches,
                 otherwise=rules.segments(start, end, period, []), start=start, end=end)
    known: dict[tuple[str, date], Decimal | None] = {}

    def rate_of(deal_currency: str, day: date) -> Decimal | None:
        key = (deal_currency, day)
        if key not in known:
            known[key] = book.rate_on(deal_currency, currency, day)
        return known[key]

    periods = rules.forecast(sums, periods=rules.periods_between(start, end, period), kind=period, rate_of=rate_of)
    return Forecast(currency, period, group_by, start, end, periods, _undated(session, tenant, group_by))


def _sums(session: Session, tenant: str, *, group_by: rules.GroupBy, stretches: dict[str, list[date]],
          otherwise: list[date], start: date, end: date) -> list[rules.Sums]:
    """The window's deals summed per stretch: whole segments from the rollup once it is built, the rest from
    the deals."""
    whole = rules.whole_segments(start, end, repository.rate_days(session, tenant)) \
        if repository.rollup_state(session, tenant) == "built" else None
    if whole is None:
        return repository.summed_deals(session, tenant, group_by=group_by, stretches=stretches, otherwise=otherwise,
                                       until=end)
    first, after = whole
    sums = repository.rolled_up_sums(session, tenant, group_by=group_by, stretches=stretches, otherwise=otherwise,
                                     since=first, before=after)
    for since, until in ((start, first - _DAY), (after, end)):
        if since <= until:
            sums += repository.summed_deals(session, tenant, group_by=group_by, stretches=stretches,
                                            otherwise=otherwise, until=until, since=since)
    return sums


def _undated(session: Session, tenant: str, group_by: rules.GroupBy) -> list[tuple[str | None, int]]:
    counted: dict[str | None, int] = {}
    for group, status, category, n in repository.undated_deals(session, tenant, group_by=group_by):
        if rules.counts_in(status, category):
            counted[group] = counted.get(group, 0) + n
    return sorted(counted.items(), key=lambda item: (item[0] is None, item[0] or ""))


# The rollup's upkeep.

def deal_of(opportunity: Opportunity) -> rules.Deal:
    """What the rollup sums of a deal, as it is now (take it before changing the deal, and after)."""
    return rules.Deal(opportunity.owner, opportunity.team, opportunity.region, opportunity.currency,
                      opportunity.status, opportunity.forecast_category, opportunity.probability, opportunity.amount,
                      opportunity.expected_close_date)


def region_of_customer(session: Session, customer_id: uuid.UUID, *, wait: bool = True) -> str | None:
    """The region a deal of the customer is grouped under; ``wait``: see ``repository.customer_region``."""
    return repository.customer_region(session, customer_id, lock=wait)


def deal_changed(session: Session, tenant: str, before: rules.Deal | None, after: rules.Deal | None) -> None:
    """A deal was opened (``before`` None) or changed: its rollup rows follow, in the deal's transaction."""
    if not rules.counted(before) and not rules.counted(after):
        return
    if _writable_rollup(session, tenant):
        repository.add_to_rollup(session, tenant, rules.changes(before, after, repository.rate_days(session, tenant)))


def customer_changed(session: Session, customer_id: uuid.UUID, tenant: str | None,
                     view: dict[str, Any] | None) -> None:
    """The replica applied a customer's view (the one it now holds): its deals take the view's region.

    A forgotten (erased) customer's deals keep the region they had: a sales region is no one's
    personal data, and the figures of the past stay where they were.
    """
    if tenant is None or view is None:
        return
    region = (view.get("profile") or {}).get("region")
    moving = repository.deals_leaving_region(session, tenant, customer_id, region)
    if not moving:
        return
    writable = any(rules.counted(deal_of(o)) for o in moving) and _writable_rollup(session, tenant)
    days = repository.rate_days(session, tenant) if writable else []
    delta: list[tuple[rules.RollupKey, Decimal, int]] = []
    for opportunity in moving:
        before = deal_of(opportunity)
        opportunity.region = region
        if writable:
            delta += rules.changes(before, deal_of(opportunity), days)
    # One sorted pass over every row the moves touch: the same lock order as any other writer's.
    repository.add_to_rollup(session, tenant, rules.merged(delta))


def rate_recorded(session: Session, tenant: str, day: date) -> None:
    """A rate starting on ``day`` was just recorded (and flushed): the rollup's segment holding that day splits
    there, summed again from its deals."""
    if repository.rollup_state(session, tenant) == "none":
        return
    hold_lock(session, _lock(tenant))
    if repository.rollup_state(session, tenant) != "built" or repository.rates_on_day(session, tenant, day) > 1:
        return
    before = [d for d in repository.rate_days(session, tenant) if d != day]
    segment = rules.segment_of(day, before)
    if segment == day:  # the first of a month: a segment starts there already
        return
    after = rules.segment_end(segment, before)
    repository.delete_rollup(session, tenant, segment)
    deals = repository.counted_deals(session, tenant, since=segment, before=after)
    repository.insert_rollup(session, tenant, rules.summed(deals, sorted([*before, day])))


def build_rollup(session: Session, tenant: str) -> None:
    """Sum every counted deal of the tenant into its rollup, from scratch, and mark it built."""
    hold_lock(session, _lock(tenant))
    # The delete comes first: on SQLite it is what takes the database's write lock, so the deals
    # read next cannot change before this transaction ends.
    repository.delete_rollup(session, tenant)
    repository.insert_rollup(session, tenant, rules.summed(repository.counted_deals(session, tenant),
                                                           repository.rate_days(session, tenant)))
    repository.mark_built(session, tenant, utcnow())


def build_waiting_rollups(sessions: sessionmaker[Session], settings: Settings) -> int:
    """The build job: every waiting tenant's rollup built, one transaction each; answers how many."""
    with unit_of_work(sessions) as session:
        waiting = repository.tenants_waiting(session)
    for tenant in waiting:
        # Regions first, in their own transaction: the build then holds the tenant's lock without waiting
        # for any deal's row lock (writers take row locks before the lock, so the other order could deadlock).
        with unit_of_work(sessions) as session:
            repository.refresh_regions(session, tenant)
        with unit_of_work(sessions) as session:
            build_rollup(session, tenant)
    return len(waiting)


def _writable_rollup(session: Session, tenant: str) -> bool:
    """Whether this transaction must change the tenant's rollup (it is built); from here on the transaction
    holds the rollup's lock shared. A tenant without a rollup is marked as wanting one."""
    # This transaction's own writes go first: on SQLite they take the database's write lock, so the
    # state read next holds until the end (a build cannot slip in between).
    session.flush()
    # Held from here to the end, so no build can start or finish under this transaction's feet.
    hold_lock(session, _lock(tenant), shared=True)
    state = repository.rollup_state(session, tenant)
    if state == "none":
        repository.want_rollup(session, tenant)
    return state == "built"


def _lock(tenant: str) -> str:
    return f"forecast-rollup:{tenant}"


_DAY = timedelta(days=1)
