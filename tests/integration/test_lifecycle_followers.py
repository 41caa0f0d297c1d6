"""Every service follows the customer master's merge, unmerge and erase events (consumer side).

The events are produced here exactly as the customer service's contract describes
them, so these tests pin the consumers' behaviour independently of the master's API.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.customer.contract import CUSTOMER_TOPIC
from tests import factories
from tests.support.events import cloud_event
from tests.support.system import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def _publish(system: System, tenant: str, event_type: str, subject: str, data: dict) -> None:  # type: ignore[type-arg]
    # A sequence above anything the master has produced in this test run.
    event = cloud_event(service="customer", event_type=event_type, subject=subject, tenant=tenant, data=data,
                        sequence=10**9 + int(uuid.uuid4().int % 10**6))
    producer = system.producer()
    producer.send(CUSTOMER_TOPIC.name, key=subject.encode(), value=event.to_bytes()).get(timeout=30)
    producer.close()


def test_merge_repoints_records_folds_the_view_and_unmerge_restores_them(system: System) -> None:
    with system.client() as client:
        tenant = client.tenant  # type: ignore[attr-defined]
        duplicate, dup_token = factories.person(client, "Dupe", family_name="Merge")
        survivor, sur_token = factories.person(client, "Keep", family_name="Merge")
        deal = factories.opportunity(client, duplicate, dup_token, name="Dupe deal")
        ticket = factories.ticket(client, duplicate, dup_token, subject="Dupe question")
        campaign = factories.campaign(client, "Both")
        for who, token in ((duplicate, dup_token), (survivor, sur_token)):
            joined = client.post(f"/v1/campaigns/{campaign['id']}/members", headers=token,
                                 json={"customer_id": who["id"]})
            assert joined.status_code == 201
        other = factories.campaign(client, "Dupe only", channel="sms")
        client.post(f"/v1/campaigns/{other['id']}/members", headers=dup_token, json={"customer_id": duplicate["id"]})
        system.wait_drained()

        merge_id = str(uuid.uuid4())
        _publish(system, tenant, "crm.customer.merged.v1", survivor["id"], {
            "merge_id": merge_id, "survivor_id": survivor["id"], "merged_ids": [duplicate["id"]],
            "customer": survivor})
        eventually(lambda: client.get(f"/v1/opportunities/{deal['id']}").json()["customer_id"] == survivor["id"],
                   what="sales to re-point the opportunity")
        eventually(lambda: client.get(f"/v1/tickets/{ticket['id']}").json()["customer_id"] == survivor["id"],
                   what="the service desk to re-point the ticket")
        system.wait_drained()
        view = client.get(f"/v1/customers/{survivor['id']}/view").json()
        assert view["kpis"]["open_opportunities"] == 1 and view["kpis"]["open_tickets"] == 1
        assert view["kpis"]["campaigns"] == 2
        timeline = client.get(f"/v1/customers/{survivor['id']}/timeline", params={"limit": 100}).json()["items"]
        assert any(e["resource"] == f"/v1/opportunities/{deal['id']}" for e in timeline)
        moved = client.get(f"/v1/customers/{duplicate['id']}/view", follow_redirects=False)
        assert moved.status_code == 308 and moved.headers["location"].endswith(f"/{survivor['id']}/view")
        members = client.get(f"/v1/campaigns/{other['id']}/members").json()["items"]
        assert [m["customer_id"] for m in members] == [survivor["id"]]

        _publish(system, tenant, "crm.customer.unmerged.v1", survivor["id"], {
            "merge_id": merge_id, "survivor_id": survivor["id"], "restored_ids": [duplicate["id"]],
            "customer": survivor, "restored": [duplicate]})
        eventually(lambda: client.get(f"/v1/opportunities/{deal['id']}").json()["customer_id"] == duplicate["id"],
                   what="sales to give the opportunity back")
        system.wait_drained()
        restored = client.get(f"/v1/customers/{duplicate['id']}/view")
        assert restored.status_code == 200, restored.text
        assert restored.json()["kpis"]["open_opportunities"] == 1 and restored.json()["kpis"]["campaigns"] == 2
        assert client.get(f"/v1/customers/{survivor['id']}/view").json()["kpis"]["open_opportunities"] == 0
        assert client.get(f"/v1/tickets/{ticket['id']}").json()["customer_id"] == duplicate["id"]


def test_erasure_reaches_every_service(system: System) -> None:
    with system.client() as client:
        tenant = client.tenant  # type: ignore[attr-defined]
        customer, token = factories.person(client, "Forget", family_name="Merge")
        ticket = client.post("/v1/tickets", headers=token, json={
            "customer_id": customer["id"], "subject": "Forget Merge lives at 1 Main St"}).json()
        deal = client.post("/v1/opportunities", headers=token, json={
            "customer_id": customer["id"], "name": "Forget's deal", "amount": {"amount": "9.00", "currency": "EUR"}})
        assert deal.status_code == 201
        system.wait_drained()
        _publish(system, tenant, "crm.customer.erased.v1", customer["id"], {"customer_id": customer["id"]})
        eventually(lambda: client.get(f"/v1/tickets/{ticket['id']}").json()["subject"] == "(erased)",
                   what="the service desk to anonymise the ticket")
        system.wait_drained()
        assert client.get(f"/v1/customers/{customer['id']}/view").status_code == 404
        kept = client.get(f"/v1/opportunities/{deal.json()['id']}").json()
        assert kept["name"] == "(erased)" and kept["amount"] == {"amount": "9.00", "currency": "EUR"}
        assert kept["customer"]["view_version"] == 0  # the replica forgot the customer
        key = customer["id"].replace("-", "") if system.backend == "sqlite" else customer["id"]
        for service in ("sales", "service_desk", "campaign"):
            assert system.sql(service, "SELECT count(*) FROM customer_replicas WHERE customer_id = :c", c=key) == [(0,)]
        leftovers = system.sql("service_desk", "SELECT count(*) FROM outbox WHERE key = :k AND data::text LIKE :p"
                               if system.backend == "postgresql" else
                               "SELECT count(*) FROM outbox WHERE key = :k AND data LIKE :p",
                               k=customer["id"], p="%Main St%")
        assert leftovers == [(0,)]


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def test_orders_invoices_payments_credit_notes_and_loyalty_follow_a_merge_and_come_back_with_an_unmerge(
        system: System) -> None:
    cash_kpis = ("open_orders", "open_receivables", "lifetime_value", "credit_exposure", "loyalty_balance")
    with system.client() as client:
        tenant = client.tenant  # type: ignore[attr-defined]
        duplicate, dup_token = factories.organization(client, "Dupe Books", credit_limit=_money("100000.00"))
        survivor, sur_token = factories.organization(client, "Keep Books", credit_limit=_money("100000.00"))
        desk = factories.product(client, "DESK-MERGE")
        factories.price_book(client, {desk["id"]: "200.00"})
        policy = client.put("/v1/loyalty/policy", json={"earning_rules": [{"points_per_unit": "0.1"}],
                                                        "point_value": "0.01", "expiry_months": 12})
        assert policy.status_code == 200, policy.text

        def invoiced(quantity: str) -> tuple[dict[str, Any], dict[str, Any]]:
            order = factories.shipped_order(client, duplicate, desk, quantity, dup_token)
            return order, client.post("/v1/invoices", json={"order_id": order["id"]}).json()

        order, invoice = invoiced("2")
        payment = client.post("/v1/payments", json={"customer_id": duplicate["id"], "amount": _money("150.00"),
                                                    "allocations": [{"invoice_id": invoice["id"],
                                                                     "amount": "150.00"}]}).json()
        note = client.post("/v1/credit-notes", json={"invoice_id": invoice["id"], "amount": "50.00",
                                                     "reason": "a scratched desk"})
        assert note.status_code == 201, note.text
        _, paid_in_full = invoiced("1")  # 200.00 paid: 20 points on the duplicate's account
        assert client.post("/v1/payments", json={"customer_id": duplicate["id"], "amount": _money("200.00"),
                                                 "allocations": [{"invoice_id": paid_in_full["id"],
                                                                  "amount": "200.00"}]}).status_code == 201
        # The survivor's own points: a paid order of its own.
        own = factories.shipped_order(client, survivor, desk, "1", sur_token)
        own_invoice = client.post("/v1/invoices", json={"order_id": own["id"]}).json()
        assert client.post("/v1/payments", json={"customer_id": survivor["id"], "amount": _money("200.00")}
                           ).status_code == 201
        system.wait_drained()
        view_of = lambda who: client.get(f"/v1/customers/{who['id']}/view").json()["kpis"]  # noqa: E731
        before, survivor_before = view_of(duplicate), view_of(survivor)
        assert before["open_receivables"] == [_money("200.00")] and before["lifetime_value"] == [_money("350.00")]
        assert (before["loyalty_balance"], survivor_before["loyalty_balance"]) == (20, 20)
        records = {"orders": order["id"], "invoices": invoice["id"], "payments": payment["id"],
                   "credit-notes": note.json()["id"]}

        def owners() -> set[str]:
            return {client.get(f"/v1/{path}/{record}").json()["customer_id"] for path, record in records.items()}

        def points(who: dict[str, Any]) -> int:
            return int(client.get(f"/v1/loyalty/accounts/{who['id']}").json()["balance"])

        merge_id = str(uuid.uuid4())
        _publish(system, tenant, "crm.customer.merged.v1", survivor["id"], {
            "merge_id": merge_id, "survivor_id": survivor["id"], "merged_ids": [duplicate["id"]],
            "customer": survivor})
        eventually(lambda: owners() == {survivor["id"]}, what="sales to move the order, invoice, payment and note")
        system.wait_drained()
        # The survivor's view holds the duplicate's books and points now, and sales counts them for the survivor.
        merged = view_of(survivor)
        assert merged["open_receivables"] == [_money("200.00")]
        assert merged["open_orders"] == before["open_orders"] + survivor_before["open_orders"]
        assert merged["lifetime_value"] == [_money("550.00")] and merged["loyalty_balance"] == 40
        assert points(survivor) == 40
        listed = client.get("/v1/invoices", params={"customer_id": survivor["id"]}).json()["items"]
        assert {i["id"] for i in listed} == {invoice["id"], paid_in_full["id"], own_invoice["id"]}
        timeline = client.get(f"/v1/customers/{survivor['id']}/timeline", params={"limit": 100}).json()["items"]
        assert any(e["resource"] == f"/v1/invoices/{invoice['id']}" and "moved" in e["summary"] for e in timeline)

        _publish(system, tenant, "crm.customer.unmerged.v1", survivor["id"], {
            "merge_id": merge_id, "survivor_id": survivor["id"], "restored_ids": [duplicate["id"]],
            "customer": survivor, "restored": [duplicate]})
        eventually(lambda: owners() == {duplicate["id"]}, what="sales to give the books back")
        system.wait_drained()
        restored = view_of(duplicate)
        assert {k: restored[k] for k in cash_kpis} == {k: before[k] for k in cash_kpis}
        back = view_of(survivor)
        assert {k: back[k] for k in cash_kpis} == {k: survivor_before[k] for k in cash_kpis}
        assert (points(duplicate), points(survivor)) == (20, 20)
