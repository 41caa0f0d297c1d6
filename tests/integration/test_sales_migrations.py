"""The sales service's data migrations on both backends: what a database that already held customers and deals
gets when it is upgraded (match keys for its replicated customers, forecast rollups waiting to be built)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from shared.migrate import upgrade
from tests.support.databases import create_postgres_database, drop_postgres_database

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def sales_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sales.db'}"
        return
    admin = request.getfixturevalue("postgres_url")
    url = create_postgres_database(admin, "crm_test_sales_migrations")
    try:
        yield url
    finally:
        drop_postgres_database(admin, url)


def test_an_upgraded_database_matches_its_customers_and_builds_its_forecast_rollups(sales_url: str) -> None:
    upgrade("sales", sales_url, "sales_0007")
    engine = create_engine(sales_url)
    ann, bob = uuid.UUID(int=1), uuid.UUID(int=2)
    with engine.begin() as connection:
        for customer, view in ((ann, {"profile": {"emails": [{"address": "Ann.Lee@Acme-Tools.example"}],
                                                  "phones": [{"number": "+49 (30) 123-4567"}], "region": "North"}}),
                               (bob, {"profile": {"emails": [], "phones": []}})):
            connection.execute(text(
                "INSERT INTO customer_replicas (customer_id, tenant_id, view_version, display_name, kind, view, "
                "updated_at) VALUES (:id, 'acme', 1, 'Someone', 'person', :view, '2026-01-01 00:00:00')"),
                {"id": customer.hex if sales_url.startswith("sqlite") else str(customer), "view": json.dumps(view)})
        connection.execute(text(
            "INSERT INTO opportunities (id, tenant_id, customer_id, name, amount, currency, stage, status, "
            "forecast_category, probability, version, created_at, updated_at) VALUES (:id, 'acme', :customer, 'Deal', "
            "10, 'EUR', 'proposal', 'open', 'best_case', 50, 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"),
            {"id": uuid.UUID(int=9).hex if sales_url.startswith("sqlite") else str(uuid.UUID(int=9)),
             "customer": ann.hex if sales_url.startswith("sqlite") else str(ann)})
    upgrade("sales", sales_url)
    with engine.connect() as connection:
        keys = sorted((kind, value) for kind, value in connection.execute(text(
            "SELECT kind, value FROM lead_customer_keys WHERE tenant_id = 'acme'")))
        waiting = connection.execute(text("SELECT tenant_id, built_at FROM forecast_rollup_states")).all()
    engine.dispose()
    assert keys == [("domain", "acme-tools.example"), ("email", "ann.lee@acme-tools.example"),
                    ("phone", "+49301234567")]
    assert [tuple(row) for row in waiting] == [("acme", None)]
