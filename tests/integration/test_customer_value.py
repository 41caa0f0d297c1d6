"""Value tiers that follow sales, on SQLite and PostgreSQL: a deal won in the sales service moves its
customer's value, tier and group through Kafka, in the tenant's value currency; a merge carries the
figures to the survivor and an unmerge gives them back; every contact point's view shows the tier;
the periodic job ranks a tenant nobody ranked on request."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from services.customer.classification.jobs import rank_due_tenants
from services.customer.classification.jobs import CustomerSettings
from services.customer.classification.tables import ClassificationSettings
from shared.db import make_engine, make_sessions, utcnow
from tests import factories
from tests.support.system import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

# Won deals are what these tenants' values add up (the paid-revenue basis is the order-to-cash walk's).
SETTINGS = {"currency": "EUR", "exchange_rates": {"USD": "0.5"}, "default_group": "everyone", "value_basis": "won_deals",
            "rules": [{"group": "big spender", "when": [{"field": "won_value", "op": "gte", "value": 1000}]}]}


# Every customer here is "<name> Value", without contact points.
VALUE = {"family_name": "Value", "emails": []}


def _lifetime(amount: str) -> dict[str, Any]:
    return {"lifetime_value": {"amount": amount, "currency": "EUR"}}


def _win(client: httpx.Client, customer: dict[str, Any], token: dict[str, str], amount: str,
         currency: str) -> dict[str, Any]:
    # Sales takes deals for customers it has seen: the token makes it wait for this one.
    deal = factories.opportunity(client, customer, token, name=f"Deal {amount} {currency}", amount=amount,
                                 currency=currency, stage="negotiation")
    won = client.patch(f"/v1/opportunities/{deal['id']}", json={"stage": "closed_won", "close_reason": "best offer"})
    assert won.status_code == 200, won.text
    return won.json()


def _classification(client: httpx.Client, customer_id: str) -> tuple[str, str]:
    customer = client.get(f"/v1/customers/{customer_id}").json()
    return customer["customer_group"], customer["value_tier"]


def _announced(system: System, tenant: str, customer_id: str) -> list[dict[str, Any]]:
    rows = system.sql("customer", "SELECT data FROM outbox WHERE tenant_id = :t AND type = 'crm.customer.classified.v1' "
                                  "AND key = :k ORDER BY sequence", t=tenant, k=customer_id)
    return [r[0] if isinstance(r[0], dict) else json.loads(r[0]) for r in rows]


def test_a_won_deal_moves_value_tier_and_group_in_the_value_currency(system: System) -> None:
    with system.client() as client:
        anchor, _ = factories.person(client, "Anchor", **VALUE, **_lifetime("400.00"))
        (buyer, buyer_token), (browser, browser_token) = (factories.person(client, "Buyer", **VALUE),
                                                          factories.person(client, "Browser", **VALUE))
        for n in range(2):
            factories.person(client, f"Other{n}", **VALUE)
        put = client.put("/v1/classification", json=SETTINGS)
        assert put.status_code == 200, put.text
        assert put.json()["cutoffs"][0] == "400.0000"  # the anchor alone reached tier A
        assert _classification(client, buyer["id"]) == ("everyone", "C")

        _win(client, buyer, buyer_token, "3000.00", "USD")  # 1,500 EUR at the tenant's rate
        eventually(lambda: _classification(client, buyer["id"]) == ("big spender", "A"), timeout=30,
                   what="the won deal to reclassify its customer")
        announced = _announced(system, client.tenant, buyer["id"])  # type: ignore[attr-defined]
        assert announced[-1]["value"] == "1500.0000" and announced[-1]["previous"] == {
            "customer_group": "everyone", "value_tier": "C"}

        # Every contact point's view shows the tier the deal earned, without the profile being edited.
        def view_tier() -> str | None:
            view = client.get(f"/v1/customers/{buyer['id']}/view")
            return view.json()["profile"].get("value_tier") if view.status_code == 200 else None

        eventually(lambda: view_tier() == "A", timeout=30, what="the view to show the new tier")

        # No rate for SEK: the deal counts for nothing rather than at a guessed rate, and the gap is reported.
        _win(client, browser, browser_token, "90000.00", "SEK")
        eventually(lambda: "SEK" in client.get("/v1/classification").json()["currencies_without_rate"], timeout=30,
                   what="the SEK deal to be known")
        assert _classification(client, browser["id"]) == ("everyone", "C")
        rated = client.put("/v1/classification", json=SETTINGS | {"exchange_rates": {"USD": "0.5", "SEK": "0.1"}},
                           headers={"If-Match": client.get("/v1/classification").headers["ETag"]})
        assert rated.status_code == 200, rated.text
        assert rated.json()["currencies_without_rate"] == []
        # 9,000 EUR now: the top 20% (one customer of five) is the browser; the buyer and the anchor are next.
        assert _classification(client, browser["id"]) == ("big spender", "A")
        assert _classification(client, buyer["id"]) == ("big spender", "B")
        assert _classification(client, anchor["id"]) == ("everyone", "B")
        distribution = {(d["customer_group"], d["value_tier"]): (d["customers"], d["value"])
                        for d in rated.json()["distribution"]}
        assert distribution == {("big spender", "A"): (1, "9000"), ("big spender", "B"): (1, "1500"),
                                ("everyone", "B"): (1, "400"), ("everyone", "C"): (2, "0")}



def test_merge_carries_sales_figures_to_the_survivor_and_unmerge_gives_them_back(system: System) -> None:
    with system.client() as client:
        factories.person(client, "Anchor", **VALUE, **_lifetime("400.00"))
        (survivor, _), (duplicate, duplicate_token) = (factories.person(client, "Survivor", **VALUE),
                                                         factories.person(client, "Duplicate", **VALUE))
        assert client.put("/v1/classification", json=SETTINGS).status_code == 200
        _win(client, duplicate, duplicate_token, "2000.00", "EUR")
        eventually(lambda: _classification(client, duplicate["id"]) == ("big spender", "A"), timeout=30,
                   what="the duplicate's win to count")

        merged = client.post(f"/v1/customers/{survivor['id']}/merge", json={"duplicate_ids": [duplicate["id"]]})
        assert merged.status_code == 200, merged.text
        # The sales service re-points the deal to the survivor; its figures follow it here.
        eventually(lambda: _classification(client, survivor["id"]) == ("big spender", "A"), timeout=30,
                   what="the re-pointed deal to count for the survivor")

        undone = client.post(f"/v1/customers/{survivor['id']}/unmerge", json={"merge_id": merged.json()["merge_id"]})
        assert undone.status_code == 200, undone.text
        eventually(lambda: _classification(client, survivor["id"]) == ("everyone", "C")
                   and _classification(client, duplicate["id"]) == ("big spender", "A"), timeout=30,
                   what="the deal to count for its own customer again")
        system.wait_drained()
        figures = system.sql("customer", "SELECT display_name, won_deals FROM customers WHERE tenant_id = :t "
                             "ORDER BY display_name", t=client.tenant)  # type: ignore[attr-defined]
        assert figures == [("Anchor Value", 0), ("Duplicate Value", 1), ("Survivor Value", 0)]


def test_a_tenant_never_ranked_is_ranked_by_the_periodic_job(system: System) -> None:
    engine = make_engine(system.database_urls["customer"])
    sessions = make_sessions(engine)
    every_hour = CustomerSettings(service="customer", classification_rank_seconds=3600)
    try:
        with system.client() as client:
            top, _ = factories.person(client, "Top", **VALUE, **_lifetime("5000.00"))
            for n in range(4):
                factories.person(client, f"Low{n}", **VALUE, **_lifetime(f"{n + 1}.00"))
            # Never ranked: there are no cut-offs to place anybody above the last tier yet.
            assert _classification(client, top["id"]) == ("unclassified", "C")

            assert client.tenant in rank_due_tenants(sessions, every_hour)  # type: ignore[attr-defined]
            assert _classification(client, top["id"]) == ("unclassified", "A")
            assert client.get("/v1/classification").json()["cutoffs"][0] == "5000.0000"

            def view_tier() -> str | None:
                view = client.get(f"/v1/customers/{top['id']}/view")
                return view.json()["profile"].get("value_tier") if view.status_code == 200 else None

            eventually(lambda: view_tier() == "A", timeout=30, what="the view to show the ranked tier")
            # Ranked within the hour: the next run leaves the tenant alone.
            assert client.tenant not in rank_due_tenants(sessions, every_hour)  # type: ignore[attr-defined]

            def an_hour_passes() -> None:
                with sessions.begin() as db:
                    db.get(ClassificationSettings, client.tenant).evaluated_at = utcnow() - timedelta(hours=2)  # type: ignore[union-attr,attr-defined]

            # An hour on, nothing moved: the ranking would come out the same, so it is skipped.
            an_hour_passes()
            assert client.tenant not in rank_due_tenants(sessions, every_hour)  # type: ignore[attr-defined]
            # A value moved: the next run ranks again, and the customer climbs.
            low = client.get("/v1/customers", params={"name": "Low0"}).json()["items"][0]
            assert client.patch(f"/v1/customers/{low['id']}", json={
                "lifetime_value": {"amount": "9000.00", "currency": "EUR"}}).status_code == 200
            an_hour_passes()
            assert client.tenant in rank_due_tenants(sessions, every_hour)  # type: ignore[attr-defined]
            assert (_classification(client, low["id"]), _classification(client, top["id"])) == (
                ("unclassified", "A"), ("unclassified", "B"))

    finally:
        engine.dispose()
