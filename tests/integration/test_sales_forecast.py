"""The forecast through the running system: deals in three currencies, dated rates around a mid-quarter change,
reported in two currencies, by owner and by the region of each customer's replicated view."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests import factories
from tests.support.system import System

pytestmark = pytest.mark.integration

Json = dict[str, Any]


def _rate(client: httpx.Client, base: str, quote: str, rate: str, valid_from: str) -> httpx.Response:
    body = {"base": base, "quote": quote, "rate": rate, "valid_from": valid_from}
    return client.post("/v1/exchange-rates", json=body)


def _groups(body: Json, period: str) -> dict[str | None, Json]:
    (found,) = [p for p in body["periods"] if p["period"] == period]
    return {g["group"]: g for g in found["groups"]}


def _money(group: Json, *measures: str) -> list[str]:
    return [f'{group[m]["amount"]} {group[m]["currency"]}' for m in measures]


def test_forecast_converts_each_deal_at_its_dated_rate_and_lists_a_currency_without_one(system: System) -> None:
    with system.client() as client:
        north, north_token = factories.person(client, "Nora", region="North")
        south, south_token = factories.person(client, "Sven", region="South")
        for rate in (_rate(client, "USD", "EUR", "0.9", "2026-01-01"), _rate(client, "USD", "EUR", "0.8", "2026-02-15"),
                     _rate(client, "EUR", "GBP", "0.85", "2025-06-01")):
            assert rate.status_code == 201, rate.text
        assert rate.json()["rate"] == "0.85" and rate.headers["location"] == f"/v1/exchange-rates/{rate.json()['id']}"
        again = _rate(client, "USD", "EUR", "0.95", "2026-01-01")
        assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
        same = _rate(client, "EUR", "EUR", "1", "2026-01-01")
        assert same.status_code == 422 and same.json()["errors"][0]["field"] == "quote"
        assert _rate(client, "USD", "EUR", "0", "2026-03-01").status_code == 422
        listed = client.get("/v1/exchange-rates", params={"base": "USD"}).json()["items"]
        assert sorted(r["valid_from"] for r in listed) == ["2026-01-01", "2026-02-15"]

        def deal(customer: Json, token: dict[str, str], amount: str, currency: str, closes: str | None,
                 stage: str, owner: str) -> None:
            factories.opportunity(client, customer, token, amount=amount, currency=currency, stage=stage, owner=owner,
                                  expected_close_date=closes)

        deal(north, north_token, "100.00", "USD", "2026-02-14", "negotiation", "ada")   # commit, 0.9 -> 90 EUR
        deal(north, north_token, "100.00", "USD", "2026-02-15", "proposal", "ada")      # best case, 0.8 -> 80 EUR
        deal(south, south_token, "85.00", "GBP", "2026-03-31", "prospecting", "bob")    # pipeline, 1/0.85 -> 100 EUR
        deal(south, south_token, "40.00", "CHF", "2026-03-01", "negotiation", "bob")    # no CHF rate: listed
        deal(south, south_token, "10.00", "EUR", None, "prospecting", "bob")            # undated: counted apart
        won = factories.opportunity(client, north, north_token, amount="50.00", currency="EUR", owner="ada",
                                    expected_close_date="2026-01-20")
        closed = client.patch(f"/v1/opportunities/{won['id']}", headers={"If-Match": f'"{won["version"]}"'},
                              json={"stage": "closed_won", "close_reason": "Best offer"})
        assert closed.status_code == 200, closed.text

        query = {"period": "quarter", "from": "2026-01-01", "to": "2026-06-30"}
        in_eur = client.get("/v1/forecast", params=query | {"currency": "EUR", "group_by": "owner"})
        assert in_eur.status_code == 200, in_eur.text
        body = in_eur.json()
        assert [p["period"] for p in body["periods"]] == ["2026-Q1", "2026-Q2"]
        q1 = _groups(body, "2026-Q1")
        assert _money(q1["ada"], "pipeline", "best_case", "commit", "weighted", "closed_won") == [
            "170.00 EUR", "170.00 EUR", "90.00 EUR", "107.50 EUR", "50.00 EUR"]  # weighted: 90 x 75% + 80 x 50%
        assert q1["ada"]["unconverted"] == []
        assert _money(q1["bob"], "pipeline", "commit", "weighted") == ["100.00 EUR", "0.00 EUR", "10.00 EUR"]
        assert q1["bob"]["unconverted"] == [
            {"amount": "40.00", "currency": "CHF", "status": "open", "opportunities": 1}]
        assert body["undated"] == [{"group": "bob", "opportunities": 1}]

        in_usd = client.get("/v1/forecast", params=query | {"currency": "USD", "group_by": "region"}).json()
        q1 = _groups(in_usd, "2026-Q1")
        # North: 200 USD open as they are; 50 EUR won on 2026-01-20 at 1 / 0.9.
        assert _money(q1["North"], "pipeline", "best_case", "commit", "closed_won") == [
            "200.00 USD", "200.00 USD", "100.00 USD", "55.56 USD"]
        # South: neither GBP nor CHF has a rate into USD (no cross rates): both listed, nothing added.
        assert _money(q1["South"], "pipeline", "closed_won") == ["0.00 USD", "0.00 USD"]
        assert q1["South"]["unconverted"] == [
            {"amount": "40.00", "currency": "CHF", "status": "open", "opportunities": 1},
            {"amount": "85.00", "currency": "GBP", "status": "open", "opportunities": 1}]

        backwards = client.get("/v1/forecast", params={"currency": "EUR", "from": "2026-02-01", "to": "2026-01-01"})
        assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "to"
