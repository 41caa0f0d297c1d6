"""Prices per segment through the running system, on SQLite and PostgreSQL: the customer service classifies a
customer into a group and tier, the unified view carries them through Kafka to the sales replica, and a quote
picks the book of that segment over the generic one; a discount above the tenant's threshold is refused
without sales:approve and accepted with it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests import factories
from tests.support.system import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

# Retail companies are wholesale customers; the most valuable half of the customers is tier A.
CLASSIFICATION = {"default_group": "standard", "currency": "EUR",
                  "rules": [{"group": "wholesale", "when": [{"field": "industry", "op": "eq", "value": "retail"}]}],
                  "tiers": [{"tier": "A", "share": 0.5}, {"tier": "B", "share": 0.5}]}
SALES_CLERK = ("sales:read", "sales:write")  # no sales:approve


def _quote(client: httpx.Client, customer: dict[str, Any], *lines: dict[str, Any], on: str = "2026-06-15") -> httpx.Response:
    return client.post("/v1/price-quotes", json={"customer_id": customer["id"], "currency": "EUR", "on": on,
                                                 "lines": list(lines)})


def test_a_quote_picks_the_segment_book_and_a_big_discount_needs_approval(system: System) -> None:
    with system.client() as manager:
        retailer, _ = factories.organization(manager, "Shopfront", industry="retail",
                                             lifetime_value={"amount": "50000.00", "currency": "EUR"})
        startup, _ = factories.organization(manager, "Garage Labs", industry="software")
        assert manager.put("/v1/classification", json=CLASSIFICATION).status_code == 200
        assert manager.get(f"/v1/customers/{retailer['id']}").json()["value_tier"] == "A"

        chair = factories.product(manager, "CHAIR-1", name="Oak chair", category="Furniture/Chairs",
                                  cost_price={"amount": "41.50", "currency": "EUR"})
        dining = factories.product(manager, "SET-1", name="Dining set",
                                   components=[{"product_id": chair["id"], "quantity": "4"}])
        assert dining["bundle"] is True
        generic = factories.price_book(manager, {chair["id"]: "100.00"}, name="List prices")
        segment = factories.price_book(manager, {chair["id"]: "80.00"}, name="Wholesale A", customer_group="wholesale",
                                       value_tier="A", valid_to="2027-01-01")
        # A second book for the same segment and days, and an unknown product: refused, naming the fields.
        overlap = manager.post("/v1/price-books", json={"name": "Again", "currency": "EUR", "customer_group": "wholesale",
                                                        "value_tier": "A", "valid_from": "2026-12-01", "entries": []})
        assert overlap.status_code == 409, overlap.text
        assert {e["field"] for e in overlap.json()["errors"]} >= {"customer_group", "value_tier", "valid_from"}
        unknown = manager.post("/v1/price-books", json={"name": "Ghost", "currency": "USD", "valid_from": "2026-01-01",
                                                        "entries": [{"product_id": startup["id"],
                                                                     "unit_price": {"amount": "1.00", "currency": "USD"}}]})
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "entries[0].product_id"

        # The group and tier travel customer -> view -> Kafka -> the sales replica.
        def segment_seen() -> dict[str, Any] | None:
            answer = _quote(manager, retailer, {"product_id": chair["id"], "quantity": "2"})
            body: dict[str, Any] = answer.json()
            return body if answer.status_code == 200 and body["value_tier"] == "A" else None

        quoted = eventually(segment_seen, timeout=30, what="the sales replica to know the retailer's group and tier")
        assert quoted["customer_group"] == "wholesale"
        [line] = quoted["lines"]
        assert (line["price_book_id"], line["unit_price"], line["line_total"]) == (
            segment["id"], {"amount": "80.00", "currency": "EUR"}, {"amount": "160.00", "currency": "EUR"})
        assert line["reason"].startswith("customer group wholesale and value tier A match")
        # The startup is in neither: the generic book; on the day the segment book ends, the retailer too.
        other = _quote(manager, startup, {"product_id": chair["id"], "quantity": "1"})
        assert other.status_code == 200, other.text
        assert other.json()["lines"][0]["price_book_id"] == generic["id"]
        later = _quote(manager, retailer, {"product_id": chair["id"], "quantity": "1"}, on="2027-01-01")
        assert later.json()["lines"][0]["price_book_id"] == generic["id"]
        # A bundle no book prices by an entry of its own is refused, naming the line.
        bundle = _quote(manager, retailer, {"product_id": chair["id"], "quantity": "1"},
                        {"product_id": dining["id"], "quantity": "1"})
        assert bundle.status_code == 422 and bundle.json()["errors"][0]["field"] == "lines[1]"

        with system.client(manager.tenant, scopes=SALES_CLERK) as clerk:  # type: ignore[attr-defined]
            discounted = {"product_id": chair["id"], "quantity": "3", "discount_percent": "15"}
            refused = _quote(clerk, retailer, discounted)
            assert refused.status_code == 403, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert "threshold of 10%" in refused.json()["detail"]
            approved = _quote(manager, retailer, discounted)  # the manager holds sales:approve
            assert approved.status_code == 200, approved.text
            assert approved.json()["total"] == {"amount": "204.00", "currency": "EUR"}  # 3 x 80.00 less 15%

            # Only a manager moves the threshold; above it the clerk's discount is fine.
            assert clerk.put("/v1/pricing-policy", json={"discount_threshold": "20"}).status_code == 403
            policy = manager.get("/v1/pricing-policy")
            assert policy.json()["discount_threshold"] == "10" and policy.headers["ETag"] == '"0"'
            moved = manager.put("/v1/pricing-policy", json={"discount_threshold": "20"}, headers={"If-Match": '"0"'})
            assert moved.status_code == 200 and moved.json()["version"] == 1, moved.text
            assert _quote(clerk, retailer, discounted).status_code == 200

            # A price typed into a deal's line is held to the same threshold, against the book's 80.00.
            def deal(unit_price: str) -> httpx.Response:
                line = {"product_id": chair["id"], "quantity": "2", "unit_price": unit_price}
                return clerk.post("/v1/opportunities", json={"customer_id": retailer["id"], "name": "Chairs",
                                                             "currency": "EUR", "lines": [line]})
            typed = deal("60.00")  # 25% below the book
            assert typed.status_code == 403 and typed.json()["errors"][0]["field"] == "lines[0].unit_price", typed.text
            within = deal("70.00")  # 12.5% below: within the threshold of 20%
            assert within.status_code == 201 and within.json()["amount"] == {"amount": "140.00", "currency": "EUR"}

        # The catalogue honours If-Match and lists by category subtree.
        stale = manager.patch(f"/v1/products/{chair['id']}", json={"active": False}, headers={"If-Match": '"7"'})
        assert stale.status_code == 412
        listed = manager.get("/v1/products", params={"category": "Furniture"}).json()["items"]
        assert [p["sku"] for p in listed] == ["CHAIR-1"]
        duplicate = manager.post("/v1/products", json={"sku": "CHAIR-1", "name": "Another"})
        assert duplicate.status_code == 409 and duplicate.json()["errors"][0]["field"] == "sku"
