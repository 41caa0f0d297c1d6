"""Pipelines through the running system: a tenant's own stages, a deal moved, won with a reason, reopened only by
a holder of sales:approve, its stage history, and the won event's fields on Kafka."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.sales import contract
from tests.factories import opportunity, person
from tests.support.system import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

Json = dict[str, Any]


def _won_events(system: System, tenant: str, deal_id: str) -> list[Json]:
    events = [json.loads(r.value) for r in system.read_topic(contract.SALES_TOPIC.name) if r.value is not None]
    return [e["data"] for e in events if e.get("tenant") == tenant and e["type"] == contract.OPPORTUNITY_WON.name
            and e["data"]["opportunity_id"] == deal_id]


def test_a_deal_moves_through_the_tenants_own_stages_is_won_reopened_by_a_manager_and_its_history_kept(
        system: System) -> None:
    with system.client() as client:
        tenant: str = client.tenant  # type: ignore[attr-defined]
        customer, token = person(client, "Pia")

        # A tenant that configured nothing has the six defaults; its first change writes them, then itself.
        defaults = client.get("/v1/pipeline-stages").json()["items"]
        assert [(s["name"], s["configured"]) for s in defaults][:2] == [("prospecting", False), ("qualification", False)]
        demo = client.post("/v1/pipeline-stages", json={"name": "demo", "position": 2, "probability": 30,
                                                         "forecast_category": "pipeline"})
        assert demo.status_code == 201, demo.text
        assert demo.headers["Location"] == "/v1/pipeline-stages/demo"
        stale = client.patch("/v1/pipeline-stages/negotiation", json={"probability": 80}, headers={"If-Match": '"7"'})
        assert stale.status_code == 412
        tuned = client.patch("/v1/pipeline-stages/negotiation", json={"probability": 80}, headers={"If-Match": '"1"'})
        assert (tuned.status_code, tuned.headers["ETag"], tuned.json()["probability"]) == (200, '"2"', 80)
        second_won = client.post("/v1/pipeline-stages", json={"name": "won_too", "outcome": "won", "probability": 100,
                                                               "forecast_category": "closed"})
        assert second_won.status_code == 422 and second_won.json()["errors"][0]["field"] == "outcome"

        unknown = client.post("/v1/opportunities", headers=token, json={
            "customer_id": customer["id"], "name": "Kiln", "amount": {"amount": "1.00", "currency": "EUR"},
            "stage": "nowhere"})
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "stage"
        deal = opportunity(client, customer, token, name="Kiln", amount="1200.00", stage="demo", owner="u-pia",
                           team="emea", expected_close_date="2027-02-28")
        assert (deal["forecast_category"], deal["probability"], deal["owner"], deal["team"]) == (
            "pipeline", 30, "u-pia", "emea")
        moved = client.patch(f"/v1/opportunities/{deal['id']}", json={"stage": "negotiation"},
                             headers={"If-Match": '"1"'})
        assert (moved.json()["forecast_category"], moved.json()["probability"]) == ("commit", 80)
        busy = client.delete("/v1/pipeline-stages/negotiation")
        assert busy.status_code == 409

        no_reason = client.patch(f"/v1/opportunities/{deal['id']}", json={"stage": "closed_won"})
        assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "close_reason"
        won = client.patch(f"/v1/opportunities/{deal['id']}", json={"stage": "closed_won",
                                                                    "close_reason": "fastest delivery"})
        assert won.status_code == 200, won.text
        assert (won.json()["status"], won.json()["forecast_category"], won.json()["probability"]) == (
            "won", "closed", 100)
        assert client.patch(f"/v1/opportunities/{deal['id']}", json={"stage": "demo"}).status_code == 409

        with system.client(tenant, scopes=(contract.READ_SCOPE, contract.WRITE_SCOPE)) as clerk:
            refused = clerk.post(f"/v1/opportunities/{deal['id']}/reopen", json={"stage": "demo"})
            assert refused.status_code == 403
            assert refused.headers["content-type"].startswith("application/problem+json")
        assert client.get(f"/v1/opportunities/{deal['id']}").json()["status"] == "won"
        stale = client.post(f"/v1/opportunities/{deal['id']}/reopen", json={"stage": "demo"},
                            headers={"If-Match": f'"{won.json()["version"] - 1}"'})
        assert stale.status_code == 412, stale.text
        reopened = client.post(f"/v1/opportunities/{deal['id']}/reopen", json={"stage": "demo"},
                               headers={"If-Match": f'"{won.json()["version"]}"'})
        assert reopened.status_code == 200, reopened.text
        assert (reopened.json()["status"], reopened.json()["close_reason"], reopened.json()["closed_at"]) == (
            "open", None, None)

        first = client.get(f"/v1/opportunities/{deal['id']}/history", params={"limit": 2}).json()
        rest = client.get(f"/v1/opportunities/{deal['id']}/history",
                          params={"limit": 2, "cursor": first["next_cursor"]}).json()
        history = first["items"] + rest["items"]
        assert rest["next_cursor"] is None
        assert [(h["from_stage"], h["to_stage"]) for h in history] == [
            (None, "demo"), ("demo", "negotiation"), ("negotiation", "closed_won"), ("closed_won", "demo")]
        assert {(h["amount"]["amount"], h["amount"]["currency"], h["changed_by"]) for h in history} == {
            ("1200.00", "EUR", "dev")}

    won_event = eventually(lambda: _won_events(system, tenant, deal["id"]), timeout=30, what="the won event")[0]
    assert {k: won_event[k] for k in ("stage", "status", "forecast_category", "probability", "owner", "team",
                                      "expected_close_date", "close_reason")} == {
        "stage": "closed_won", "status": "won", "forecast_category": "closed", "probability": 100, "owner": "u-pia",
        "team": "emea", "expected_close_date": "2027-02-28", "close_reason": "fastest delivery"}


def test_a_deal_with_lines_is_priced_from_the_price_book_and_worth_their_sum(system: System) -> None:
    with system.client() as client:
        customer, token = person(client, "Lino")
        product = client.post("/v1/products", json={"sku": "KILN-1", "name": "Kiln"})
        assert product.status_code == 201, product.text
        book = client.post("/v1/price-books", json={"name": "List", "currency": "EUR", "valid_from": "2026-01-01",
                                                    "entries": [{"product_id": product.json()["id"],
                                                                 "unit_price": {"amount": "500.00", "currency": "EUR"}}]})
        assert book.status_code == 201, book.text
        lines = [{"product_id": product.json()["id"], "quantity": "2", "discount_percent": "10"},
                 {"product_id": product.json()["id"], "quantity": "1", "unit_price": "20.00"}]
        disagrees = client.post("/v1/opportunities", headers=token, json={
            "customer_id": customer["id"], "name": "Kilns", "amount": {"amount": "1.00", "currency": "EUR"},
            "lines": lines})
        assert disagrees.status_code == 422 and disagrees.json()["errors"][0]["field"] == "amount"
        created = client.post("/v1/opportunities", headers=token, json={
            "customer_id": customer["id"], "name": "Kilns", "currency": "EUR", "lines": lines})
        assert created.status_code == 201, created.text
        deal = created.json()
        assert deal["amount"] == {"amount": "920.00", "currency": "EUR"}
        assert [(line["line_total"]["amount"], line["price_book_id"]) for line in deal["lines"]] == [
            ("900.00", book.json()["id"]), ("20.00", None)]
