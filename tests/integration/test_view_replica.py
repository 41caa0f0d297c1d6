"""The view replica the other services keep: newest version wins, in one statement, on both database backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from services.sales.contract import VIEW_UPDATED
from services.sales.customers.consumers import VIEW_REPLICA
from services.sales.customers.tables import CustomerReplica
from shared.consumer import Delivery, apply_all
from shared.db import make_engine, make_sessions
from shared.envelope import CloudEvent
from shared.migrate import upgrade
from tests.support.databases import create_postgres_database, drop_postgres_database

pytestmark = pytest.mark.integration

CUSTOMER = uuid.UUID(int=42)


@pytest.fixture(params=["sqlite", "postgresql"])
def sales_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sales.db'}"
        upgrade("sales", url)
        yield url
        return
    admin = request.getfixturevalue("postgres_url")
    url = create_postgres_database(admin, "crm_test_replica")
    try:
        upgrade("sales", url)
        yield url
    finally:
        drop_postgres_database(admin, url)


def _version(version: int, name: str) -> Delivery:
    view = {"customer_id": str(CUSTOMER), "version": version, "profile": {"display_name": name, "kind": "person"},
            "kpis": {}, "source_sequences": {}}
    event = CloudEvent(id=str(uuid.UUID(int=100 + version)), source="/crm/customer", type=VIEW_UPDATED.name,
                       subject=str(CUSTOMER), time=datetime.now(timezone.utc), data=view, tenant="acme",
                       sequence=version)
    return Delivery(topic="crm.customer_view.v1", key=str(CUSTOMER), event=event)


def _held(sessions) -> tuple[int, str, int] | None:  # type: ignore[no-untyped-def]
    with sessions() as session:
        row = session.scalar(select(CustomerReplica).where(CustomerReplica.customer_id == CUSTOMER))
        return None if row is None else (row.view_version, row.display_name, row.view["version"])


def test_the_newest_view_version_wins_whatever_order_versions_arrive_in(sales_url: str) -> None:
    engine = make_engine(sales_url)
    sessions = make_sessions(engine)
    try:
        def apply(*deliveries: Delivery) -> None:
            with sessions.begin() as session:
                apply_all(session, VIEW_REPLICA.name, list(deliveries), VIEW_REPLICA.handle)

        apply(_version(2, "Ann Two"))
        assert _held(sessions) == (2, "Ann Two", 2)
        apply(_version(1, "Ann One"))  # late: must not win
        assert _held(sessions) == (2, "Ann Two", 2)
        apply(_version(4, "Ann Four"), _version(3, "Ann Three"))  # one batch, out of order
        assert _held(sessions) == (4, "Ann Four", 4)
        apply(Delivery(topic="crm.customer_view.v1", key=str(CUSTOMER), event=None))  # tombstone: forgotten
        assert _held(sessions) is None
        apply(_version(5, "Ann Five"))
        assert _held(sessions) == (5, "Ann Five", 5)
    finally:
        engine.dispose()
