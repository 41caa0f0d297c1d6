"""Every query of the forecast: deals summed in SQL per stretch, group, currency, status and category.

The database does the heavy part (one pass over the tenant's dated deals, a few hundred
rows back at most); conversion happens in Python with the handful of rates the stretches
need. On PostgreSQL the sums are exact ``numeric``; SQLite keeps numbers as binary floats,
so there sums come back rounded to the amount column's four decimals, which is exact for
sums of everyday size (the development database, not the production one).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import case, func, literal, or_, select, text
from sqlalchemy.orm import Session

from services.sales.customers.tables import CustomerReplica
from services.sales.forecast.tables import BY_CLOSE_DATE
from services.sales.forecast.rules import COUNTED_STATUSES, OMITTED, GroupBy, Sums
from services.sales.opportunities.tables import Opportunity

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
                 otherwise: list[date], until: date) -> list[Sums]:
    """The tenant's open and won deals closing in ``[otherwise[0], until]``, summed per stretch (its first day).

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
    ).where(day >= otherwise[0], day <= until).subquery()
    keys = (dated.c.stretch, dated.c.grp, dated.c.currency, dated.c.status, dated.c.category, dated.c.probability)
    _room_to_hash(session)
    # Plain rows through the session's connection: no ORM result machinery for thousands of tuples.
    rows = session.connection().execute(select(*keys, func.sum(dated.c.amount), func.count()).group_by(*keys))
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

