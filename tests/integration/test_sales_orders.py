"""Order to cash through the running system, on SQLite and PostgreSQL: a customer created in the customer service
with a credit limit reaches the sales replica through Kafka; its won deal becomes an order that the credit check
holds with the figures, a clerk cannot release and a manager can; the shipped order is invoiced and paid in two
parts, and the order, invoice and payment events reach ``crm.sales.v1`` in the order they happened."""

from __future__ import annotations

from typing import Any

import pytest

from services.sales import contract
from shared.envelope import CloudEvent
from tests import factories
from tests.support.system import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

SALES_CLERK = (contract.READ_SCOPE, contract.WRITE_SCOPE)  # no sales:approve
EUR = "EUR"
# The facts this walk is about; the deal's and the catalogue's events are other tests'.
TOLD = ("crm.sales.order.", "crm.sales.invoice.", "crm.sales.payment.")


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": EUR}


def _cash_events(system: System, tenant: str, customer_id: str) -> list[CloudEvent]:
    """The tenant's order, invoice and payment events of the customer, in the order of its partition."""
    events = []
    for record in system.read_topic("crm.sales.v1"):
        if record.value is None or "ce_type" not in dict(record.headers or []):
            continue
        event = CloudEvent.model_validate_json(record.value)
        if event.tenant == tenant and event.subject == customer_id and event.type.startswith(TOLD):
            events.append(event)
    return events


def _kpis_become(client: Any, customer_id: str, expected: dict[str, Any], what: str) -> dict[str, Any]:
    """The customer's view KPIs once they hold ``expected`` (the view follows the sales events through Kafka)."""
    def holds() -> dict[str, Any] | None:
        view = client.get(f"/v1/customers/{customer_id}/view")
        kpis: dict[str, Any] = view.json()["kpis"] if view.status_code == 200 else {}
        return kpis if all(kpis.get(name) == value for name, value in expected.items()) else None

    return eventually(holds, timeout=30, what=f"the view after {what}: {expected}")


def _credit(exposure: str | None, headroom: str) -> dict[str, Any]:
    return {"credit_exposure": [_money(exposure)] if exposure else [],
            "credit_headroom": {"amount": headroom, "currency": EUR, "unconverted": []}}


def test_a_won_deal_is_held_for_credit_approved_shipped_invoiced_and_paid_in_two_parts(system: System) -> None:
    with system.client() as manager:
        tenant = manager.tenant  # type: ignore[attr-defined]
        buyer, token = factories.organization(manager, "Ledger & Sons", credit_limit=_money("1000.00"))
        chair = factories.product(manager, "CHAIR-OTC")
        factories.price_book(manager, {chair["id"]: "100.00"})
        # A point per 10 EUR paid, on any product, for any tier.
        policy = manager.put("/v1/loyalty/policy", json={"earning_rules": [{"points_per_unit": "0.1"}],
                                                         "point_value": "0.01", "expiry_months": 12})
        assert policy.status_code == 200, policy.text
        # The customer's token makes sales wait until the view has brought the customer (and its limit) over.
        opened = manager.post("/v1/opportunities", headers=token, json={
            "customer_id": buyer["id"], "name": "Chairs", "currency": EUR, "stage": "negotiation", "owner": "u-olga",
            "lines": [{"product_id": chair["id"], "quantity": "15"}]})
        assert opened.status_code == 201, opened.text
        deal = opened.json()
        assert deal["amount"] == _money("1500.00")
        won = manager.patch(f"/v1/opportunities/{deal['id']}", json={"stage": "closed_won", "close_reason": "price"})
        assert won.status_code == 200, won.text

        placed = manager.post("/v1/orders", json={"customer_id": buyer["id"], "opportunity_id": deal["id"]})
        assert placed.status_code == 201, placed.text
        order = placed.json()
        assert (order["status"], order["total"], order["allowed_actions"]) == (
            "placed", _money("1500.00"), ["confirm", "cancel"])

        with system.client(tenant, scopes=SALES_CLERK) as clerk:
            held = clerk.post(f"/v1/orders/{order['id']}/confirm")
            assert held.status_code == 200, held.text
            credit = held.json()["credit"]
            assert held.json()["status"] == "on_hold"
            assert (credit["exposure"], credit["credit_limit"], credit["headroom"], credit["within_limit"]) == (
                _money("1500.00"), _money("1000.00"), _money("-500.00"), False)
            refused = clerk.post(f"/v1/orders/{order['id']}/approve")
            assert refused.status_code == 403, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
        # A held order is no exposure yet: the view shows the whole limit free.
        _kpis_become(manager, buyer["id"], _credit(None, "1000.00") | {"open_orders": 1}, "the hold")
        approved = manager.post(f"/v1/orders/{order['id']}/approve", headers={"If-Match": held.headers["ETag"]})
        assert approved.status_code == 200, approved.text
        assert (approved.json()["status"], approved.json()["approved_by"]) == ("confirmed", "dev")
        shipped = manager.post(f"/v1/orders/{order['id']}/ship")
        assert (shipped.status_code, shipped.json()["status"]) == (200, "shipped"), shipped.text
        _kpis_become(manager, buyer["id"], _credit("1500.00", "-500.00"), "the approval and shipping")

        issued = manager.post("/v1/invoices", json={"order_id": order["id"]})
        assert issued.status_code == 201, issued.text
        invoice = issued.json()
        assert (invoice["status"], invoice["total"], invoice["open_amount"]) == (
            "open", _money("1500.00"), _money("1500.00"))
        # Issued today and due in 30 days: current, under the deal's owner; bad parameters are 422s naming them.
        ageing = manager.get("/v1/receivables", params={"group_by": "owner"})
        assert ageing.status_code == 200, ageing.text
        [owned] = ageing.json()["groups"]
        assert (owned["group"], owned["converted"]["current"], owned["converted"]["total"]) == (
            "u-olga", _money("1500.00"), _money("1500.00"))
        for bad, field in (({"group_by": "team"}, "group_by"), ({"as_of": "2026-13-01"}, "as_of")):
            refused = manager.get("/v1/receivables", params=bad)
            assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field, refused.text
        _kpis_become(manager, buyer["id"], _credit("1500.00", "-500.00") | {
            "open_receivables": [_money("1500.00")], "lifetime_value": []}, "the invoice")
        # Points are earned once the invoice is paid, not on part of it.
        steps = (("600.00", "900.00", "600.00", "100.00", 0), ("900.00", "0.00", "1500.00", "1000.00", 150))
        for part, still_open, lifetime, headroom, points in steps:
            paid = manager.post("/v1/payments", json={"customer_id": buyer["id"], "amount": _money(part)})
            assert paid.status_code == 201, paid.text
            assert paid.json()["allocations"] == [{"invoice_id": invoice["id"], "amount": _money(part)}]
            assert manager.get(f"/v1/invoices/{invoice['id']}").json()["open_amount"] == _money(still_open)
            _kpis_become(manager, buyer["id"], _credit(still_open if still_open != "0.00" else None, headroom) | {
                "lifetime_value": [_money(lifetime)], "loyalty_balance": points}, f"a payment of {part}")
        account = manager.get(f"/v1/loyalty/accounts/{buyer['id']}")
        assert (account.status_code, account.json()["balance"]) == (200, 150), account.text
        # The value tiers rank paid revenue (the tenant never chose otherwise): the customer service took it from
        # the payments' events.
        def valued() -> tuple[Any, ...] | None:
            rows = system.sql("customer", "SELECT value_amount FROM customers WHERE tenant_id = :t AND display_name = :n",
                              t=tenant, n="Ledger & Sons")
            return tuple(rows[0]) if rows and float(rows[0][0]) == 1500.0 else None

        eventually(valued, timeout=30, what="the customer's value to be its paid revenue")
        settled = manager.get(f"/v1/invoices/{invoice['id']}").json()
        assert (settled["status"], settled["paid"]) == ("paid", _money("1500.00"))
        assert manager.get(f"/v1/orders/{order['id']}").json()["invoice_id"] == invoice["id"]

    # Keyed by the customer: one partition, so its offsets are the order things happened in. The second payment
    # settles the invoice in its own transaction, which tells the invoice paid before the payment's own event.
    expected = ["crm.sales.order.placed.v1", "crm.sales.order.held.v1", "crm.sales.order.confirmed.v1",
                "crm.sales.order.shipped.v1", "crm.sales.invoice.issued.v1", "crm.sales.payment.received.v1",
                "crm.sales.invoice.paid.v1", "crm.sales.payment.received.v1"]

    def all_told() -> list[CloudEvent] | None:
        found = _cash_events(system, tenant, buyer["id"])
        return found if len(found) >= len(expected) else None

    events = eventually(all_told, timeout=30, what="the order, invoice and payment events on crm.sales.v1")
    assert [e.type for e in events] == expected
    sequences = [e.sequence for e in events]
    assert sequences == sorted(sequences)
    data: list[dict[str, Any]] = [e.data for e in events]
    assert data[1]["credit"]["headroom"] == _money("-500.00")
    assert (data[2]["approved_by"], data[2]["from_status"]) == ("dev", "on_hold")
    assert [d["amount"] for d in (data[5], data[7])] == [_money("600.00"), _money("900.00")]
    assert (data[6]["status"], data[6]["open_amount"]) == ("paid", _money("0.00"))


def test_an_over_payment_kept_as_credit_pays_the_next_invoice_at_once(system: System) -> None:
    with system.client() as client:
        buyer, token = factories.organization(client, "Prepaid Ltd", credit_limit=_money("5000.00"))
        lamp = factories.product(client, "LAMP-CREDIT")
        factories.price_book(client, {lamp["id"]: "40.00"})
        prepaid = client.post("/v1/payments", headers=token, json={
            "customer_id": buyer["id"], "amount": _money("100.00"), "keep_excess_as_credit": True})
        assert prepaid.status_code == 201, prepaid.text
        assert (prepaid.json()["allocations"], prepaid.json()["unallocated"]) == ([], _money("100.00"))
        placed = factories.shipped_order(client, buyer, lamp, "3")
        issued = client.post("/v1/invoices", json={"order_id": placed["id"]})
        assert issued.status_code == 201, issued.text
        # 120 owed, 100 of credit: what is left open is answered at once.
        assert (issued.json()["status"], issued.json()["paid"], issued.json()["open_amount"]) == (
            "open", _money("100.00"), _money("20.00"))
        payment = client.get(f"/v1/payments/{prepaid.json()['id']}").json()
        assert (payment["allocations"], payment["unallocated"]) == (
            [{"invoice_id": issued.json()["id"], "amount": _money("100.00")}], _money("0.00"))
        _kpis_become(client, buyer["id"], {"open_receivables": [_money("20.00")],
                                           "lifetime_value": [_money("100.00")]}, "the credit paying the invoice")
