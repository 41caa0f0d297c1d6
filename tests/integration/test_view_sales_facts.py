"""The unified view learns sales facts and campaign responses: leads (hand-made as the sales contract publishes
them, and the one sales makes of a registration) and responses recorded through the campaign API show in a
customer's KPIs and timeline, read-your-writes, and roll up to its parent organization; orders, an invoice, a
payment, a return and its credit note made through the sales API show as open orders, lifetime value and
receivables, and a (hand-made) invoice past its due date as overdue, with churn risk saying why. An
unsubscribe response withdraws the customer's consent in the customer master, once."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from services.customer.contract import SALES_TOPIC
from shared.http import ConsistencyToken
from tests import factories
from tests.support.events import cloud_event
from tests.support.system import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

# Far above any sequence the real sales outbox reaches in a test run: the view's read-your-writes
# wait for these hand-made events only.
LEAD_SEQUENCE = 10**8
INVOICE_SEQUENCE = 2 * 10**8


def _lead(tenant: str, *, lead_id: str, customer_id: str | None, action: str, status: str, sequence: int) -> Any:
    """A lead event as the sales contract publishes it (``LeadReported``/``LeadChanged``)."""
    data: dict[str, Any] = {"lead_id": lead_id, "status": status, "source": "trade_fair", "company": "Northwind",
                            "score": 55, "team": "north", "owner": "ines", "customer_id": customer_id,
                            "opportunity_id": None, "duplicate_of": None, "version": sequence - LEAD_SEQUENCE + 1}
    if action != "created":
        data |= {"changes": {"status": {"old": "new", "new": status}}, "reason": None}
    return cloud_event(service="sales", event_type=f"crm.sales.lead.{action}.v1", subject=customer_id or lead_id,
                       tenant=tenant, data=data, sequence=sequence)


def test_leads_and_campaign_responses_show_in_the_view_and_roll_up(system: System) -> None:
    with system.client() as client:
        tenant = client.tenant  # type: ignore[attr-defined]
        holding, _ = factories.organization(client, "Northwind Holding")
        daughter, token = factories.organization(client, "Northwind Trading", parent_id=holding["id"])
        customer_id = daughter["id"]
        fair = factories.campaign(client, "Spring fair", channel="event")
        # A registration: sales makes a lead of it (its real producer), besides the view counting the response.
        registered_response = client.post(f"/v1/campaigns/{fair['id']}/responses", headers=token, json={
            "customer_id": customer_id, "kind": "registered", "occurred_at": "2026-03-02T10:00:00+01:00",
            "variant": "B"})
        assert registered_response.status_code == 201, registered_response.text
        assert registered_response.json()["customer"]["id"] == customer_id  # no member of the campaign, and still known
        unsubscribed = client.post(f"/v1/campaigns/{fair['id']}/responses",
                                   json={"customer_id": customer_id, "kind": "unsubscribed"})
        assert unsubscribed.status_code == 201, unsubscribed.text
        assert client.post(f"/v1/campaigns/{uuid.uuid4()}/responses",
                           json={"customer_id": customer_id, "kind": "opened"}).status_code == 404
        unknown = client.post(f"/v1/campaigns/{fair['id']}/responses", json={"customer_id": str(uuid.uuid4()),
                                                                             "kind": "opened"})
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "customer_id"

        lead_id, anonymous_lead = str(uuid.uuid4()), str(uuid.uuid4())
        events = [_lead(tenant, lead_id=anonymous_lead, customer_id=None, action="created", status="new",
                        sequence=LEAD_SEQUENCE),
                  _lead(tenant, lead_id=lead_id, customer_id=customer_id, action="created", status="new",
                        sequence=LEAD_SEQUENCE + 1),
                  _lead(tenant, lead_id=lead_id, customer_id=customer_id, action="qualified", status="qualified",
                        sequence=LEAD_SEQUENCE + 2)]
        producer = system.producer()
        for event in events:
            producer.send(SALES_TOPIC.name, key=event.subject.encode(), value=event.to_bytes()).get(timeout=30)
        producer.close()

        view = None
        lead_written = ConsistencyToken(service="sales", sequence=LEAD_SEQUENCE + 2, subjects=(customer_id,)).encode()
        for written in (unsubscribed.headers["CRM-Consistency-Token"], lead_written):
            answer = client.get(f"/v1/customers/{customer_id}/view", headers={"CRM-Consistency-Token": written})
            assert answer.status_code == 200 and answer.json()["consistency"]["satisfied"], answer.text
            view = answer.json()
        assert view is not None
        assert view["kpis"]["responses"] == 2 and view["kpis"]["open_leads"] >= 1

        def both_leads() -> dict[str, Any] | None:
            kpis = client.get(f"/v1/customers/{customer_id}/view").json()["kpis"]
            return kpis if kpis["open_leads"] == 2 else None

        kpis = eventually(both_leads, what="the lead sales made of the registration to reach the view")
        assert datetime.fromisoformat(kpis["last_response_at"]) > datetime.fromisoformat("2026-03-02T09:00:00+00:00")
        assert kpis["open_pipeline_by_category"] == {"best_case": [], "commit": [], "pipeline": []}
        # The unsubscribe withdraws consent in the customer master, through its consent API: e-mail, as an
        # event campaign invites by e-mail; the other channels are left as they were.
        def withdrawn() -> dict[str, dict[str, Any]] | None:
            channels = {c["channel"]: c for c in client.get(f"/v1/customers/{customer_id}/consent").json()["channels"]}
            return channels if channels["email"]["status"] == "opt_out" else None

        channels = eventually(withdrawn, what="the unsubscribe to withdraw the customer's e-mail consent")
        assert channels["email"]["source"] == "unsubscribed from campaign Spring fair"
        assert channels["email"]["recorded_by"] == "campaign-worker"
        assert channels["sms"]["status"] == channels["phone"]["status"] == "unknown"
        history = client.get(f"/v1/customers/{customer_id}/consent/history").json()
        assert [(h["channel"], h["status"]) for h in history] == [("email", "opt_out")], history

        timeline = client.get(f"/v1/customers/{customer_id}/timeline").json()["items"]
        leads = [e for e in timeline if e["type"].startswith("crm.sales.lead.")]
        assert datetime.fromisoformat(kpis["last_sales_contact_at"]) == max(
            datetime.fromisoformat(e["occurred_at"]) for e in leads)
        qualified = next(e for e in leads if e["type"] == "crm.sales.lead.qualified.v1")
        assert qualified["summary"] == "Lead qualified (qualified, from trade_fair, score 55)"
        assert qualified["resource"] == f"/v1/leads/{lead_id}"
        made = next(e for e in leads if e["resource"] != f"/v1/leads/{lead_id}")
        assert made["type"] == "crm.sales.lead.created.v1" and "from campaign" in made["summary"]
        assert client.get(made["resource"]).json()["customer_id"] == customer_id
        responses = {e["type"]: e for e in timeline if e["source"] == "campaign"}
        registered = responses["crm.campaign.response.registered.v1"]
        assert registered["summary"] == "Campaign 'Spring fair': registered"
        listed = client.get(registered["resource"] + "&kind=registered").json()["items"]
        assert [r["id"] for r in listed] == [registered_response.json()["id"]]
        assert "crm.campaign.response.unsubscribed.v1" in responses
        assert not [e for e in timeline if "Northwind" in e["summary"] or "ines" in e["summary"]]

        def rolled_up() -> dict[str, Any] | None:
            group = client.get(f"/v1/customers/{holding['id']}/view").json()["kpis"].get("group", {})
            return group if group.get("open_leads") == 2 and group.get("responses") == 2 else None

        group = eventually(rolled_up, what="the holding's group totals to count its subsidiary's lead and responses")
        assert group["last_sales_contact_at"] == kpis["last_sales_contact_at"]
        assert group["last_response_at"] == kpis["last_response_at"]

    system.wait_drained()
    # A lead that names no customer is about nobody the view knows: no view appears for its id.
    with system.client(tenant) as client:  # type: ignore[call-arg]
        assert client.get(f"/v1/customers/{anonymous_lead}/view").status_code == 404


def _eur(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "EUR"}


def test_order_to_cash_shows_in_the_view_as_open_orders_lifetime_value_and_receivables(system: System) -> None:
    with system.client() as client:
        tenant = client.tenant  # type: ignore[attr-defined]
        buyer, token = factories.organization(client, "Ledger View")  # no credit limit: confirmed unchecked
        chair = factories.product(client, "CHAIR-VIEW")
        factories.price_book(client, {chair["id"]: "100.00"})

        def order(quantity: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
            placed = client.post("/v1/orders", headers=headers or {}, json={
                "customer_id": buyer["id"], "currency": "EUR", "lines": [{"product_id": chair["id"],
                                                                         "quantity": quantity}]})
            assert placed.status_code == 201, placed.text
            return placed.json()

        delivered, still_open = order("3", token), order("1")
        for step in ("confirm", "ship", "deliver"):
            moved = client.post(f"/v1/orders/{delivered['id']}/{step}")
            assert moved.status_code == 200, moved.text
        invoice = client.post("/v1/invoices", json={"order_id": delivered["id"]}).json()
        assert invoice["total"] == _eur("300.00"), invoice
        paid = client.post("/v1/payments", json={"customer_id": buyer["id"], "amount": _eur("120.00")})
        assert paid.status_code == 201, paid.text
        returned = client.post(f"/v1/orders/{delivered['id']}/returns", json={"lines": [{"line": 0, "quantity": "1"}]})
        assert returned.status_code == 201, returned.text
        credited = client.post("/v1/credit-notes", json={"return_id": returned.json()["id"], "reason": "broken"})
        assert credited.status_code == 201, credited.text

        answer = client.get(f"/v1/customers/{buyer['id']}/view",
                            headers={"CRM-Consistency-Token": credited.headers["CRM-Consistency-Token"]})
        assert answer.status_code == 200 and answer.json()["consistency"]["satisfied"], answer.text
        kpis = answer.json()["kpis"]
        assert (kpis["open_orders"], kpis["open_orders_value"]) == (1, [_eur("100.00")])
        # 120 paid of 300; the 100 credited for the return came off the unpaid part: all 120 kept, 80 still owed.
        assert (kpis["lifetime_value"], kpis["open_receivables"]) == ([_eur("120.00")], [_eur("80.00")])
        assert (kpis["overdue_receivables"], kpis["returns_90d"]) == ([], 1)
        assert kpis["churn_risk"]["reasons"] == ["returned goods in the last 90 days"]
        timeline = client.get(f"/v1/customers/{buyer['id']}/timeline", params={"type": "crm.sales.payment."}).json()
        assert [(e["summary"], e["resource"]) for e in timeline["items"]] == [
            ("Payment received (120.00 EUR, to 1 invoice)", f"/v1/payments/{paid.json()['id']}")]

        # An invoice ten days past due, as the sales contract publishes one (InvoiceReported).
        late_id, due_on = str(uuid.uuid4()), (date.today() - timedelta(days=10)).isoformat()
        late = cloud_event(service="sales", event_type="crm.sales.invoice.issued.v1", subject=buyer["id"],
                           tenant=tenant, sequence=INVOICE_SEQUENCE, data={
                               "invoice_id": late_id, "customer_id": buyer["id"], "order_id": still_open["id"],
                               "number": "INV-2025-000009", "issued_on": due_on, "due_on": due_on,
                               "total": _eur("50.00"), "open_amount": _eur("50.00"), "status": "open", "version": 1,
                               "reason": None, "written_off": None})
        producer = system.producer()
        producer.send(SALES_TOPIC.name, key=late.subject.encode(), value=late.to_bytes()).get(timeout=30)
        producer.close()
        written = ConsistencyToken(service="sales", sequence=INVOICE_SEQUENCE, subjects=(buyer["id"],)).encode()
        answer = client.get(f"/v1/customers/{buyer['id']}/view", headers={"CRM-Consistency-Token": written})
        assert answer.status_code == 200 and answer.json()["consistency"]["satisfied"], answer.text
        kpis = answer.json()["kpis"]
        assert (kpis["open_receivables"], kpis["overdue_receivables"]) == ([_eur("130.00")], [_eur("50.00")])
        assert kpis["overdue_invoices"] == 1 and kpis["lifetime_value"] == [_eur("120.00")]
        assert kpis["churn_risk"]["reasons"] == ["has overdue invoices", "returned goods in the last 90 days"]
