"""Leads through the running system: duplicates folded, routing, conversion into new and existing customers
through the customer service, a campaign response becoming a routed lead, and the lead events on Kafka."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from services.sales.leads import service as leads
from services.sales.leads.schemas import ConvertIn
from shared.envelope import CloudEvent
from tests import factories
from tests.support.events import cloud_event
from tests.support.system import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def _team_and_rule(client: Any, name: str, rule: dict[str, Any], members: list[dict[str, Any]]) -> None:
    created = client.post("/v1/sales-teams", json={"name": name, "members": members, "first_touch_minutes": 60})
    assert created.status_code == 201, created.text
    routed = client.post("/v1/routing-rules", json={"name": f"to {name}", "team": name} | rule)
    assert routed.status_code == 201, routed.text


def _lead_events(system: System, tenant: str) -> list[CloudEvent]:
    events = []
    for record in system.read_topic("crm.sales.v1"):
        if record.value is None or "ce_type" not in dict(record.headers or []):
            continue
        event = CloudEvent.model_validate_json(record.value)
        if event.tenant == tenant and event.type.startswith("crm.sales.lead."):
            events.append(event)
    # A lead's events change key when it gets its customer: partitions differ, the outbox sequence orders them.
    return sorted(events, key=lambda e: e.sequence)


def test_duplicates_fold_into_one_routed_lead_that_converts_into_one_new_customer(system: System) -> None:
    with system.client() as client:
        tenant = client.tenant  # type: ignore[attr-defined]
        domain = f"acme-{uuid.uuid4().hex[:8]}.com"
        refused = client.post("/v1/routing-rules", json={"name": "nowhere", "team": "ghosts"})
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "team"
        _team_and_rule(client, "dach", {"countries": ["DE", "AT", "CH"]},
                       [{"owner": "ann", "capacity": 5}, {"owner": "bob", "capacity": 5}])

        created = client.post("/v1/leads", json={
            "email": f"Ada.Example@{domain.upper()}", "phone": "+49 30 1234567", "company": "Acme", "given_name": "Ada",
            "family_name": "Example", "country": "DE", "employees": 300, "source": "web"})
        assert created.status_code == 201, created.text
        lead = created.json()
        assert (lead["team"], lead["owner"], lead["status"]) == ("dach", "ann", "new")
        assert {"rule": "fit.mid_size", "points": 10} in lead["score_reasons"]

        for duplicate, kind in (({"email": f"  ada.example@{domain} "}, "email"),
                                ({"phone": "+49301234567", "email": "someone@gmail.com"}, "phone"),
                                ({"email": f"bob@{domain}", "note": "met at the fair"}, "domain")):
            again = client.post("/v1/leads", json=duplicate)
            assert again.status_code == 200, again.text
            assert (again.json()["id"], again.json()["duplicate_of"], again.json()["matched_on"]) == (
                lead["id"], lead["id"], [kind])
        assert [item["id"] for item in client.get("/v1/leads").json()["items"]] == [lead["id"]]
        imported = client.post("/v1/leads/import", headers={"Content-Type": "text/csv"},
                               content=f"email,country,employees\nADA.EXAMPLE@{domain},,\nnew@{domain}x.com,DE,lots\n"
                                       f"new@{domain}x.com,DE,12\n".encode())
        assert imported.status_code == 200, imported.text
        report = imported.json()
        assert (report["created"], report["duplicates"], report["failed"]) == (1, 1, 1)
        assert report["merged"] == [{"line": 2, "lead_id": lead["id"], "matched_on": ["email"]}]
        assert report["errors"][0]["line"] == 3 and report["errors"][0]["errors"][0]["field"] == "employees"
        other = client.get("/v1/leads", params={"source": "import"}).json()["items"]
        assert [(o["team"], o["owner"]) for o in other] == [("dach", "bob")]
        history = client.get(f"/v1/leads/{lead['id']}/history").json()["items"]
        assert [h["action"] for h in history] == ["created", "assigned", "merged", "merged", "merged", "merged"]

        working = client.patch(f"/v1/leads/{lead['id']}", json={"status": "working"},
                               headers={"If-Match": client.get(f"/v1/leads/{lead['id']}").headers["ETag"]})
        assert working.status_code == 200, working.text
        stale = client.patch(f"/v1/leads/{lead['id']}", json={"industry": "Software"}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412

        body = {"opportunity": {"name": "Acme rollout", "amount": {"amount": "12000.00", "currency": "EUR"},
                                "expected_close_date": "2027-03-31"}}
        # A conversion that dies right after the customer service created the customer (the sales side fails
        # here, before writing anything) rolls back whole; its retry gets that customer back, not a second one.
        created_first: list[uuid.UUID] = []
        real = leads.customer_service(system.url("customer"), f"Bearer {system.token(tenant)}")

        def dies_after_the_customer(customer: dict[str, Any], key: str) -> uuid.UUID:
            created_first.append(real(customer, key))
            raise RuntimeError("the sales service stopped between the two steps")

        engine = create_engine(system.database_urls["sales"])
        with pytest.raises(RuntimeError), Session(engine) as session:
            leads.convert(session, tenant, uuid.UUID(lead["id"]), ConvertIn.model_validate(body),
                          new_customer=dies_after_the_customer)
        engine.dispose()
        assert client.get(f"/v1/leads/{lead['id']}").json()["status"] == "working"
        converted = client.post(f"/v1/leads/{lead['id']}/convert", json=body)
        assert converted.status_code == 200, converted.text
        done = converted.json()
        assert created_first and done["customer_id"] == str(created_first[0])
        assert done["status"] == "converted" and done["customer_id"] and done["opportunity_id"]
        customer = client.get(f"/v1/customers/{done['customer_id']}").json()
        assert (customer["kind"], customer["organization_name"]) == ("organization", "Acme")
        deal = client.get(f"/v1/opportunities/{done['opportunity_id']}").json()
        assert (deal["customer_id"], deal["owner"], deal["team"]) == (done["customer_id"], "ann", "dach")
        opened = client.get(f"/v1/opportunities/{done['opportunity_id']}/history").json()["items"]
        assert [(c["from_stage"], c["changed_by"]) for c in opened] == [(None, "dev")]  # the token's subject
        again = client.post(f"/v1/leads/{lead['id']}/convert", json=body)
        assert again.status_code == 409 and "converted" in again.json()["detail"]

        system.wait_drained()
        events = [e for e in _lead_events(system, tenant) if e.data["lead_id"] == lead["id"]]
        assert [e.type for e in events] == [
            "crm.sales.lead.created.v1", "crm.sales.lead.assigned.v1", "crm.sales.lead.merged.v1",
            "crm.sales.lead.merged.v1", "crm.sales.lead.merged.v1", "crm.sales.lead.merged.v1",
            "crm.sales.lead.updated.v1",
            "crm.sales.lead.converted.v1"]
        assert events[-1].subject == done["customer_id"] and events[0].subject == lead["id"]
        personal = (f"@{domain}", "ada.example", "example", "+4930")  # the e-mail, the names, the phone
        assert not [e.type for e in events if any(p in str(e.data).lower() for p in personal)]


def test_a_lead_of_a_known_customer_links_it_and_a_campaign_response_becomes_a_routed_lead(system: System) -> None:
    with system.client() as client:
        tenant = client.tenant  # type: ignore[attr-defined]
        domain = f"beta-{uuid.uuid4().hex[:8]}.com"
        known, _ = factories.organization(client, "Beta", emails=[{"address": f"info@{domain}"}])
        _team_and_rule(client, "campaigns", {"sources": ["campaign"]}, [{"owner": "cid", "capacity": 1}])
        system.wait_drained()

        linked = client.post("/v1/leads", json={"email": f"sam@{domain}", "source": "event"})
        assert linked.status_code == 201, linked.text
        assert (linked.json()["customer_id"], linked.json()["team"]) == (known["id"], None)
        converted = client.post(f"/v1/leads/{linked.json()['id']}/convert", json={})
        assert converted.status_code == 200 and converted.json()["customer_id"] == known["id"]
        assert converted.json()["opportunity_id"] is None

        responder, _ = factories.organization(client, "Gamma")
        system.wait_drained()
        event = cloud_event(service="campaign", event_type="crm.campaign.response.replied.v1",
                            subject=responder["id"], tenant=tenant, sequence=10**9 + uuid.uuid4().int % 10**6,
                            data={"response_id": str(uuid.uuid4()), "campaign_id": str(uuid.uuid4()),
                                  "campaign_name": "Spring", "customer_id": responder["id"], "kind": "replied",
                                  "occurred_at": datetime.now(timezone.utc).isoformat()})
        producer = system.producer()
        for _ in range(2):  # a redelivery: one lead, one response counted
            producer.send("crm.campaign.v1", key=responder["id"].encode(), value=event.to_bytes(),
                          headers=[("ce_type", event.type.encode())]).get(timeout=30)
        producer.close()

        def campaign_lead() -> list[dict[str, Any]]:
            return client.get("/v1/leads", params={"customer_id": responder["id"]}).json()["items"]

        eventually(lambda: len(campaign_lead()) == 1, what="the campaign response to become a lead")
        system.wait_drained()
        [lead] = campaign_lead()
        assert (lead["source"], lead["company"], lead["team"], lead["owner"], lead["responses"]) == (
            "campaign", "Gamma", "campaigns", "cid", 1)
        assert {"rule": "engagement.responded", "points": 10} in lead["score_reasons"]
        types = [e.type for e in _lead_events(system, tenant) if e.data["lead_id"] == lead["id"]]
        assert types == ["crm.sales.lead.created.v1", "crm.sales.lead.assigned.v1"]
        assert lead["first_touch_due_at"] is not None and lead["overdue"] is False

        # Nobody touches it in its team's hour: its due time is moved into the past here rather than waited
        # out; the worker's first-touch job flags it once and announces it.
        stored_id = uuid.UUID(lead["id"]).hex if system.backend == "sqlite" else lead["id"]
        system.sql("sales", "UPDATE leads SET first_touch_due_at = assigned_at WHERE id = :id", id=stored_id)
        eventually(lambda: client.get(f"/v1/leads/{lead['id']}").json()["overdue"],
                   what="the first-touch job to flag the lead")
        system.wait_drained()
        types = [e.type for e in _lead_events(system, tenant) if e.data["lead_id"] == lead["id"]]
        assert types == ["crm.sales.lead.created.v1", "crm.sales.lead.assigned.v1", "crm.sales.lead.overdue.v1"]
