"""The forecast's rollup on both database backends: after every kind of change it holds exactly what summing
the deals again would, and a forecast read from it answers what one read from the deals answers.

The use cases are called directly on a migrated database (the consumers' and requests' own
functions, in their own transactions): the rollup's upkeep is a matter of transactions, not
of HTTP. On PostgreSQL, changes of one tenant's deals run side by side from many threads.
"""

from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from services.sales.contract import VIEW_UPDATED
from services.sales.customers.consumers import VIEW_REPLICA
from services.sales.exchange_rates import service as exchange_rates
from services.sales.exchange_rates.schemas import ExchangeRateCreate
from services.sales.forecast import repository, rules, service
from services.sales.forecast.tables import ForecastRollup, ForecastRollupState
from services.sales.opportunities import service as opportunities
from services.sales.opportunities.schemas import OpportunityCreate
from services.sales.opportunities.tables import Opportunity
from shared.consumer import Delivery, apply_all
from shared.db import unit_of_work
from shared.envelope import CloudEvent

pytestmark = pytest.mark.integration

TENANT = "rollup"
NORTH, SOUTH = uuid.UUID(int=7001), uuid.UUID(int=7002)


@pytest.fixture()
def sessions(sales_sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    return sales_sessions


def _view(sessions: sessionmaker[Session], customer: uuid.UUID, version: int, region: str | None) -> None:
    """The customer's view as the view replica's consumer applies it (its on-applied hooks included)."""
    data = {"customer_id": str(customer), "version": version,
            "profile": {"display_name": f"Customer {customer.int}", "kind": "organization", "region": region},
            "kpis": {}, "source_sequences": {}}
    event = CloudEvent(id=str(uuid.uuid4()), source="/crm/customer", type=VIEW_UPDATED.name, subject=str(customer),
                       time=datetime.now(timezone.utc), data=data, tenant=TENANT, sequence=version)
    with sessions.begin() as session:
        apply_all(session, VIEW_REPLICA.name, [Delivery(topic="crm.customer_view.v1", key=str(customer), event=event)],
                  VIEW_REPLICA.handle, dedupe=VIEW_REPLICA.dedupe)


def _open(sessions: sessionmaker[Session], customer: uuid.UUID, amount: str, currency: str, closes: date,
          stage: str = "negotiation", owner: str = "ada") -> uuid.UUID:
    body = OpportunityCreate(customer_id=customer, name="Deal", amount={"amount": amount, "currency": currency},
                             stage=stage, owner=owner, team="east", expected_close_date=closes)
    with unit_of_work(sessions) as session:
        return opportunities.create_opportunity(session, TENANT, body, wait_seconds=0).opportunity.id


def _change(sessions: sessionmaker[Session], deal: uuid.UUID, **patch: Any) -> None:
    with unit_of_work(sessions) as session:
        opportunities.update_opportunity(session, TENANT, deal, patch, check_version=lambda _: None)


def _rate(sessions: sessionmaker[Session], base: str, quote: str, rate: str, day: date) -> None:
    with unit_of_work(sessions) as session:
        exchange_rates.create_rate(session, TENANT, ExchangeRateCreate(base=base, quote=quote, rate=rate,
                                                                      valid_from=day))


def _held(sessions: sessionmaker[Session]) -> dict[rules.RollupKey, tuple[Decimal, int]]:
    with sessions() as session:
        rows = session.scalars(select(ForecastRollup).where(ForecastRollup.tenant_id == TENANT,
                                                            ForecastRollup.opportunities != 0))
        return {rules.RollupKey(r.dimension, r.group_value, r.segment_start, r.currency, r.status, r.category,
                                r.probability): (Decimal(r.amount), r.opportunities) for r in rows}


def _summed_again(sessions: sessionmaker[Session]) -> dict[rules.RollupKey, tuple[Decimal, int]]:
    with sessions() as session:
        return rules.summed(repository.counted_deals(session, TENANT), repository.rate_days(session, TENANT))


def _forecast(sessions: sessionmaker[Session], group_by: rules.GroupBy, start: date, end: date,
              *, from_deals: bool = False) -> list[rules.PeriodFigures]:
    """The forecast as read from the rollup, or (``from_deals``) from the deals alone."""
    with sessions() as session:
        if from_deals:
            session.execute(update(ForecastRollupState).values(built_at=None))
        found = service.forecast(session, TENANT, period="quarter", currency="EUR", group_by=group_by, start=start,
                                 end=end, today=date(2026, 12, 2))
        session.rollback()
        return found.periods


def _build(sessions: sessionmaker[Session]) -> None:
    assert service.build_waiting_rollups(sessions, None) == 1  # type: ignore[arg-type]
    with sessions() as session:
        assert repository.rollup_state(session, TENANT) == "built"


def test_the_rollup_follows_every_change_and_the_forecast_reads_the_same_from_it(
        sessions: sessionmaker[Session]) -> None:
    _view(sessions, NORTH, 1, "North")
    _view(sessions, SOUTH, 1, "South")
    _rate(sessions, "USD", "EUR", "0.9", date(2026, 1, 1))
    early = _open(sessions, NORTH, "100.00", "USD", date(2026, 2, 20))
    _open(sessions, SOUTH, "50.00", "EUR", date(2026, 3, 5), stage="proposal", owner="bob")
    with sessions() as session:
        assert repository.rollup_state(session, TENANT) == "waiting"  # the first deal asked for it
    _build(sessions)
    assert _held(sessions) == _summed_again(sessions) and len(_held(sessions)) == 6  # 2 deals x 3 dimensions

    moving = _open(sessions, NORTH, "80.00", "GBP", date(2026, 5, 10), owner="cy")
    _change(sessions, moving, amount={"amount": "95.50", "currency": "USD"}, expected_close_date=date(2026, 2, 25))
    _change(sessions, early, owner="dee", stage="proposal")
    _change(sessions, early, stage="closed_won", close_reason="Best offer")
    with unit_of_work(sessions) as session:
        opportunities.reopen_opportunity(session, TENANT, early, "qualification")
    # A new rate inside a segment splits it: the deal of 2026-02-25 is then in the segment of 2026-02-22.
    _rate(sessions, "USD", "EUR", "0.8", date(2026, 2, 22))
    _rate(sessions, "EUR", "GBP", "0.85", date(2026, 2, 22))  # the same day again: nothing more to split
    _view(sessions, NORTH, 2, "Alps")  # the customer moved: its deals' region rows move with it
    _view(sessions, NORTH, 1, "North")  # an older version arriving late changes nothing
    held = _held(sessions)
    assert held == _summed_again(sessions)
    regions = {k.group for k in held if k.dimension == "region"}
    assert regions == {"Alps", "South"}
    segments = {k.segment for k in held}
    assert segments == {date(2026, 2, 1), date(2026, 2, 22), date(2026, 3, 1)}

    # Whole segments from the rollup, the edges (mid-February, mid-March) from the deals: the same figures.
    for group_by in ("owner", "team", "region"):
        for start, end in ((date(2026, 1, 1), date(2026, 6, 30)), (date(2026, 2, 10), date(2026, 3, 15))):
            from_rollup = _forecast(sessions, group_by, start, end)
            assert from_rollup == _forecast(sessions, group_by, start, end, from_deals=True)
    (q1,) = [p for p in _forecast(sessions, "owner", date(2026, 1, 1), date(2026, 3, 31)) if p.groups]
    figures = {f.group: f.rounded("EUR") for f in q1.groups}
    # 100 USD (reopened, qualification) on 2026-02-20 at 0.9; 95.50 USD on 2026-02-25 at 0.8 = 76.40.
    assert figures["dee"]["pipeline"] == Decimal("90.00") and figures["cy"]["pipeline"] == Decimal("76.40")

    # A merge moves a deal to another customer, and with it to that customer's region.
    with unit_of_work(sessions) as session:
        deal = session.get(Opportunity, moving)
        assert deal is not None
        deal.customer_id = SOUTH
        opportunities.follow_customer(session, TENANT, deal, NORTH)
    held = _held(sessions)
    assert held == _summed_again(sessions)
    assert sum(n for k, (_, n) in held.items() if k.dimension == "region" and k.group == "South") == 2


def test_changes_side_by_side_lose_nothing(sessions: sessionmaker[Session]) -> None:
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite serves one writer at a time")
    _view(sessions, NORTH, 1, "North")
    deals = [_open(sessions, NORTH, "10.00", "EUR", date(2026, 4, 1 + n)) for n in range(6)]
    _build(sessions)
    failures: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for step in range(8):
                deal = deals[(worker + step) % len(deals)]
                _change(sessions, deal, amount={"amount": f"{10 + worker * 8 + step}.25", "currency": "EUR"},
                        owner=f"owner-{(worker + step) % 3}")
                if step % 4 == 0:
                    _open(sessions, NORTH, "1.00", "EUR", date(2026, 4, 20), owner=f"owner-{worker}")
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    rate = threading.Thread(target=_rate, args=(sessions, "USD", "EUR", "0.9", date(2026, 4, 10)))
    rate.start()
    for thread in [*threads, rate]:
        thread.join(60)
    assert failures == []
    held = _held(sessions)
    assert held == _summed_again(sessions)
    assert sum(n for k, (_, n) in held.items() if k.dimension == "owner") == len(deals) + 6 * 2
    assert {k.segment for k in held} == {date(2026, 4, 1), date(2026, 4, 10)}
