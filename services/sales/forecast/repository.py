"""Every query of the forecast: deals (or their rollup) summed in SQL per stretch, group, currency, status and
category; and the rollup's upkeep.

The database does the heavy part (one pass over the tenant's dated deals, a few hundred
rows back at most); conversion happens in Python with the handful of rates the stretches
need. On PostgreSQL the sums are exact ``numeric``; SQLite keeps numbers as binary floats,
so there sums come back rounded to the amount column's four decimals, which is exact for
sums of everyday size (the development database, not the production one).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import case, delete, func, literal, or_, select, text, update
from sqlalchemy.orm import Session

from services.sales.customers.tables import CustomerReplica
from services.sales.exchange_rates.tables import ExchangeRate
from services.sales.forecast.rules import COUNTED_STATUSES, NO_GROUP, OMITTED, Deal, GroupBy, RollupKey, Sums
from services.sales.forecast.tables import BY_CLOSE_DATE, ForecastRollup, ForecastRollupState
from services.sales.opportunities.tables import Opportunity
from shared.db import dialect_insert

# The window of close dates is read by this index (declared with the forecast, on the deals' table).
INDEXES = (BY_CLOSE_DATE,)


def _regions(tenant: str) -> Any:
    """Each customer's region as its published view states it (``profile.region`` of the replica's document).

    Read once per customer in a subquery the planner keeps apart (``OFFSET 0``), not once per
    deal after the join: a view document is large, and parsing one per deal would cost more
    than all the sums.
    """
    region = CustomerReplica.view["profile"]["region"].as_string()
    return (select(CustomerReplica.customer_id, region.label("region"))
            .where(CustomerReplica.tenant_id == tenant).offset(0).subquery("regions"))


def _grouped(tenant: str, group_by: GroupBy, *columns: Any) -> Any:
    """The tenant's open and won deals with their group as ``grp`` (and ``columns``)."""
    if group_by == "region":
        regions = _regions(tenant)
        query = select(regions.c.region.label("grp"), *columns).select_from(Opportunity).outerjoin(
            regions, regions.c.customer_id == Opportunity.customer_id)
    else:
        query = select(getattr(Opportunity, group_by).label("grp"), *columns).select_from(Opportunity)
    return query.where(Opportunity.tenant_id == tenant, Opportunity.status.in_(COUNTED_STATUSES),
                       or_(Opportunity.status != "open", Opportunity.forecast_category != OMITTED))


def _stretch_of(day: Any, starts: list[date], index: dict[date, int]) -> Any:
    """Which stretch a deal's day falls in (the last one starting on or before it), as its place in ``index``.

    A balanced tree of comparisons: a few per deal however many stretches there are, not one per stretch.
    """
    if len(starts) == 1:
        return literal(index[starts[0]])
    middle = len(starts) // 2
    return case((day < starts[middle], _stretch_of(day, starts[:middle], index)),
                else_=_stretch_of(day, starts[middle:], index))


def summed_deals(session: Session, tenant: str, *, group_by: GroupBy, stretches: dict[str, list[date]],
                 otherwise: list[date], until: date, since: date | None = None) -> list[Sums]:
    """The tenant's open and won deals closing in ``[since, until]`` (``since``: ``otherwise[0]`` when None),
    summed per stretch (its first day).

    ``stretches`` holds each currency's stretches; deals in any other currency use ``otherwise``.
    Deals are grouped by probability too (a stage's, so there are few), which spares a product
    per deal: the weighted sum is each group's sum times its probability.
    """
    day = Opportunity.expected_close_date
    starts = sorted({d for found in stretches.values() for d in found} | set(otherwise))
    index = {start: n for n, start in enumerate(starts)}
    stretch = _stretch_of(day, otherwise, index)
    if stretches:
        stretch = case(*[(Opportunity.currency == currency, _stretch_of(day, found, index))
                         for currency, found in sorted(stretches.items())], else_=stretch)
    dated = _grouped(
        tenant, group_by, stretch.label("stretch"), Opportunity.currency.label("currency"),
        Opportunity.status.label("status"), Opportunity.forecast_category.label("category"),
        Opportunity.probability.label("probability"), Opportunity.amount.label("amount"),
    ).where(day >= (since or otherwise[0]), day <= until).subquery()
    keys = (dated.c.stretch, dated.c.grp, dated.c.currency, dated.c.status, dated.c.category, dated.c.probability)
    _room_to_hash(session)
    # Plain rows through the session's connection, fetched at once: no ORM result machinery, and no
    # round of the driver's per-row fetching, for thousands of tuples.
    rows = session.connection().execute(select(*keys, func.sum(dated.c.amount), func.count()).group_by(*keys)).all()
    return [Sums(starts[int(n)], group, currency, status, category, amount, amount * probability, count)
            for n, group, currency, status, category, probability, amount, count in rows]


def _room_to_hash(session: Session) -> None:
    """On PostgreSQL, memory to group in a hash table for the rest of this (read) transaction.

    The planner cannot estimate how few groups the stretch expression makes, expects one per
    deal, and with the default 4 MB would sort 100k rows on disk instead (three times slower).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '64MB'"))


def undated_deals(session: Session, tenant: str, *, group_by: GroupBy) -> list[tuple[str | None, str, str, int]]:
    """Open and won deals without an expected close date: (group, status, category, how many)."""
    undated = _grouped(tenant, group_by, Opportunity.status.label("status"),
                       Opportunity.forecast_category.label("category")).where(
        Opportunity.expected_close_date.is_(None)).subquery()
    keys = (undated.c.grp, undated.c.status, undated.c.category)
    rows = session.execute(select(*keys, func.count()).group_by(*keys))
    return [(group, status, category, int(n)) for group, status, category, n in rows]



def rolled_up_sums(session: Session, tenant: str, *, group_by: GroupBy, stretches: dict[str, list[date]],
                   otherwise: list[date], since: date, before: date) -> list[Sums]:
    """What ``summed_deals`` answers for ``[since, before)``, a run of whole segments, read from the rollup.

    The rollup's rows are per segment; every stretch is a union of segments, so the same tree
    of comparisons, on the segment's first day, places each row in its stretch.
    """
    segment = ForecastRollup.segment_start
    starts = sorted({d for found in stretches.values() for d in found} | set(otherwise))
    index = {start: n for n, start in enumerate(starts)}
    stretch = _stretch_of(segment, otherwise, index)
    if stretches:
        stretch = case(*[(ForecastRollup.currency == currency, _stretch_of(segment, found, index))
                         for currency, found in sorted(stretches.items())], else_=stretch)
    keys = (stretch.label("stretch"), ForecastRollup.group_value, ForecastRollup.currency, ForecastRollup.status,
            ForecastRollup.category, ForecastRollup.probability)
    rows = session.connection().execute(
        select(*keys, func.sum(ForecastRollup.amount), func.sum(ForecastRollup.opportunities))
        .where(ForecastRollup.tenant_id == tenant, ForecastRollup.dimension == group_by, segment >= since,
               segment < before, ForecastRollup.opportunities != 0)
        .group_by(*keys)).all()
    return [Sums(starts[int(n)], None if group == NO_GROUP else group, currency, status, category, amount,
                 amount * probability, int(count))
            for n, group, currency, status, category, probability, amount, count in rows]


def rollup_state(session: Session, tenant: str) -> Literal["built", "waiting", "none"]:
    """Whether the tenant's rollup is built, waiting for the build job, or not wanted yet (no deals so far)."""
    found = session.execute(select(ForecastRollupState.built_at).where(ForecastRollupState.tenant_id == tenant)).first()
    if found is None:
        return "none"
    return "waiting" if found.built_at is None else "built"


def rates_on_day(session: Session, tenant: str, day: date) -> int:
    return int(session.scalar(select(func.count()).select_from(ExchangeRate).where(
        ExchangeRate.tenant_id == tenant, ExchangeRate.valid_from == day)) or 0)


def want_rollup(session: Session, tenant: str) -> None:
    """Mark the tenant's rollup as waiting for the build job (nothing if it is marked already)."""
    statement = dialect_insert(session, ForecastRollupState).values(tenant_id=tenant, built_at=None)
    session.execute(statement.on_conflict_do_nothing(index_elements=["tenant_id"]))


def tenants_waiting(session: Session) -> list[str]:
    return list(session.scalars(select(ForecastRollupState.tenant_id).where(ForecastRollupState.built_at.is_(None))
                                .order_by(ForecastRollupState.tenant_id)))


def mark_built(session: Session, tenant: str, at: datetime) -> None:
    session.execute(update(ForecastRollupState).where(ForecastRollupState.tenant_id == tenant).values(built_at=at))


def rate_days(session: Session, tenant: str) -> list[date]:
    """Every day on which one of the tenant's rates (any pair) starts to hold, in order."""
    return list(session.scalars(select(ExchangeRate.valid_from).where(ExchangeRate.tenant_id == tenant)
                                .distinct().order_by(ExchangeRate.valid_from)))


def add_to_rollup(session: Session, tenant: str, changes: list[tuple[RollupKey, Decimal, int]]) -> None:
    """Add each change to its row (creating it), in the order given: the sum is the database's, so two
    transactions adding to one row at once both count."""
    if not changes:
        return
    table = ForecastRollup.__table__
    statement = dialect_insert(session, ForecastRollup)
    statement = statement.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={"amount": table.c.amount + statement.excluded.amount,
              "opportunities": table.c.opportunities + statement.excluded.opportunities})
    session.execute(statement, [_row(tenant, key, amount, n) for key, amount, n in changes])


def insert_rollup(session: Session, tenant: str, rows: dict[RollupKey, tuple[Decimal, int]]) -> None:
    if rows:
        session.execute(ForecastRollup.__table__.insert(),
                        [_row(tenant, key, amount, n) for key, (amount, n) in sorted(rows.items())])


def delete_rollup(session: Session, tenant: str, segment: date | None = None) -> None:
    """The tenant's rollup rows: all of them, or one segment's."""
    statement = delete(ForecastRollup).where(ForecastRollup.tenant_id == tenant)
    if segment is not None:
        statement = statement.where(ForecastRollup.segment_start == segment)
    session.execute(statement)


def counted_deals(session: Session, tenant: str, since: date | None = None, before: date | None = None) -> Iterator[Deal]:
    """The tenant's dated open and won deals (closing in ``[since, before)`` when given), as the rollup sees them."""
    day = Opportunity.expected_close_date
    query = select(Opportunity.owner, Opportunity.team, Opportunity.region, Opportunity.currency, Opportunity.status,
                   Opportunity.forecast_category, Opportunity.probability, Opportunity.amount, day).where(
        Opportunity.tenant_id == tenant, Opportunity.status.in_(COUNTED_STATUSES), day.is_not(None))
    if since is not None:
        query = query.where(day >= since)
    if before is not None:
        query = query.where(day < before)
    for row in session.connection().execute(query):
        yield Deal(*row)


def refresh_regions(session: Session, tenant: str) -> None:
    """Every deal of the tenant takes its customer's region from the replica (each view read once, not once
    per deal; a deal whose customer is not replicated keeps what it had)."""
    regions = _regions(tenant)
    session.execute(update(Opportunity).where(
        Opportunity.tenant_id == tenant, Opportunity.customer_id == regions.c.customer_id,
        Opportunity.region.is_distinct_from(regions.c.region)).values(region=regions.c.region)
        .execution_options(synchronize_session=False))


def customer_region(session: Session, customer_id: uuid.UUID, *, lock: bool = True) -> str | None:
    """The region of the customer's replicated view; ``lock``: read under a share lock on PostgreSQL, so a
    view being applied for the customer waits for this transaction, whose new deal it then moves too."""
    query = select(CustomerReplica.view["profile"]["region"].as_string()).where(
        CustomerReplica.customer_id == customer_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    return session.scalar(query)


def deals_leaving_region(session: Session, tenant: str, customer_id: uuid.UUID,
                         region: str | None) -> list[Opportunity]:
    """The customer's deals whose region is not ``region``, locked for the change."""
    return list(session.scalars(select(Opportunity).where(
        Opportunity.tenant_id == tenant, Opportunity.customer_id == customer_id,
        Opportunity.region.is_distinct_from(region)).order_by(Opportunity.id).with_for_update()))


def _row(tenant: str, key: RollupKey, amount: Decimal, n: int) -> dict[str, Any]:
    return {"tenant_id": tenant, "dimension": key.dimension, "segment_start": key.segment, "group_value": key.group,
            "currency": key.currency, "status": key.status, "category": key.category,
            "probability": key.probability, "amount": amount, "opportunities": n}


