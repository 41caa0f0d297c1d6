"""A campaign from plan to ROI through the running system: simulated beside an alternative before launch,
delivered, a tracked click and a reply, the reply becoming a lead in sales (over Kafka), the lead converted
into a deal that is won, and the report attributing that deal back to the campaign (the sales events reach
the campaign service over Kafka); the next campaign's simulation then learns from that history."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests import factories
from tests.support.system import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def _opted_in(client: Any, given: str, tag: str) -> dict[str, Any]:
    customer, _ = factories.person(client, given, tags=[tag])
    factories.opt_in(client, customer)
    return customer


def test_a_campaign_goes_from_two_simulated_plans_to_its_roi_report(system: System) -> None:
    tag = f"roi-{uuid.uuid4().hex[:6]}"
    with system.client() as client:
        ada = _opted_in(client, f"Ada{tag[-6:]}", tag)
        bob = _opted_in(client, f"Bob{tag[-6:]}", tag)
        audience = factories.opted_in_audience(client, tag, 2)
        campaign = factories.campaign(client, "Spring", budget="300", audience_id=audience, variants=[
            {"name": "A", "share": 100, "subject": "Spring", "body": "Hello, see https://shop.example/spring"}])
        cid = campaign["id"]

        # Two plans before any money is spent: e-mail as planned, or SMS at half the budget.
        simulated = client.post(f"/v1/campaigns/{cid}/simulate", json={"plans": [
            {"name": "sms", "channel": "sms", "budget": {"amount": "150", "currency": "EUR"}}]})
        assert simulated.status_code == 200, simulated.text
        plan = simulated.json()
        assert (plan["name"], plan["audience"], plan["reachable"], plan["suppressed"]) == (
            "as planned", 2, 2, {"no_consent": 0, "frequency_cap": 0})
        [sms] = plan["alternatives"]
        assert (sms["reachable"], sms["suppressed"]["no_consent"], sms["cost"]) == (
            0, 2, {"amount": "150.00", "currency": "EUR"})  # nobody opted in to SMS
        assert plan["expected"]["leads"] > 0 and plan["comparison"]["most_leads"] == "as planned"
        refused = client.post(f"/v1/campaigns/{cid}/simulate", json={"plans": [
            {"name": "dollars", "budget": {"amount": "1", "currency": "USD"}}]})
        assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"

        assert client.post(f"/v1/campaigns/{cid}/launch").status_code == 200
        eventually(lambda: len(system.mail.inbox.to(ada["emails"][0]["address"])) == 1, timeout=60,
                   what="Spring's mail to Ada")
        [mail] = system.mail.inbox.to(ada["emails"][0]["address"])
        click = next(word for word in mail.get_body(("plain",)).get_content().split() if "/t/" in word)
        with httpx.Client(timeout=30) as anonymous:
            assert anonymous.get(click, follow_redirects=False).status_code == 302
        replied = client.post(f"/v1/campaigns/{cid}/responses", json={"customer_id": ada["id"], "kind": "replied"})
        assert replied.status_code == 201, replied.text
        cost = client.post(f"/v1/campaigns/{cid}/costs", json={
            "amount": {"amount": "300", "currency": "EUR"}, "incurred_on": "2026-12-01", "description": "Design"})
        assert cost.status_code == 201, cost.text

        # Sales made a lead of the reply; it is converted into a deal, which is won.
        def ada_lead() -> list[dict[str, Any]]:
            return client.get("/v1/leads", params={"customer_id": ada["id"]}).json()["items"]

        [lead] = eventually(lambda: ada_lead() or None, timeout=60, what="the reply to become a lead")
        converted = client.post(f"/v1/leads/{lead['id']}/convert", json={"opportunity": {
            "name": "Spring order", "amount": {"amount": "1200", "currency": "EUR"}}})
        assert converted.status_code == 200, converted.text
        won = client.patch(f"/v1/opportunities/{converted.json()['opportunity_id']}",
                           json={"stage": "closed_won", "close_reason": "replied to Spring"})
        assert won.status_code == 200, won.text

        def report(model: str = "last_touch") -> dict[str, Any]:
            answer = client.get(f"/v1/campaigns/{cid}/report", params={"model": model})
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

        eventually(lambda: report()["totals"]["won_deals"] == 1, timeout=60,
                   what="the won deal to reach the campaign's report")
        totals = report()["totals"]
        assert (totals["members"], totals["reached"], totals["delivered"], totals["clicked"], totals["responded"]) == (
            2, 2, 2, 1, 1)
        assert (totals["leads"], totals["opportunities"], totals["won_deals"]) == (1, 1, 1)
        assert totals["won_revenue"] == {"amount": "1200.00", "currency": "EUR"}
        assert totals["cost"] == {"amount": "300.00", "currency": "EUR"}
        assert totals["cost_per_lead"] == {"amount": "300.00", "currency": "EUR"}
        assert totals["roi"] == 3.0 and totals["response_rate"] == 0.5
        linear = report("linear")
        assert linear["totals"]["won_revenue"] == totals["won_revenue"]  # the only campaign that touched Ada
        assert [v["variant"] for v in linear["by_variant"]] == ["A"]
        assert sum(t["members"] for t in linear["by_value_tier"]) == 2
        bad = client.get(f"/v1/campaigns/{cid}/report", params={"model": "everything"})
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        assert client.get(f"/v1/campaigns/{uuid.uuid4()}/report").status_code == 404

        # The unified view learns Spring's messages and responses: Bob's last marketing contact is his mail.
        def marketing(customer: dict[str, Any]) -> Any:
            return client.get(f"/v1/customers/{customer['id']}/view").json()["kpis"].get("last_marketing_contact")

        last = eventually(lambda: (m := marketing(bob)) and m["campaign_id"] == cid and m, timeout=60,
                          what="Bob's view to show Spring's mail")
        assert last["kind"] == "sent"
        assert eventually(lambda: (m := marketing(ada)) and m["kind"] == "replied" and m, timeout=60,
                          what="Ada's view to show her reply")["campaign_id"] == cid

        # The next campaign to the same audience learns from Spring: two delivered, one deal won.
        summer = factories.campaign(client, "Summer", budget="300", audience_id=audience)
        learnt = client.post(f"/v1/campaigns/{summer['id']}/simulate").json()
        assert sum(t["rates"]["won"]["sample_size"] for t in learnt["by_value_tier"]) >= 2
        assert learnt["average_deal"] == {"amount": "1200.00", "currency": "EUR"}
        assert learnt["expected"]["revenue"] is not None and learnt["roi"] is not None
