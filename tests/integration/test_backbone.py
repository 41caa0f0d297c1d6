"""The whole path, end to end through the gateway: a write, its event on Kafka, every other service following."""

from __future__ import annotations

import uuid

import pytest

from services.customer.contract import CAMPAIGN_TOPIC, CUSTOMER_TOPIC, SALES_TOPIC, SERVICE_DESK_TOPIC, VIEW_TOPIC
from shared.envelope import CloudEvent
from tests.support.system import System
from tests.support.waiting import eventually

CUSTOMER, CUSTOMER_VIEW, SALES = CUSTOMER_TOPIC.name, VIEW_TOPIC.name, SALES_TOPIC.name
SERVICE_DESK, CAMPAIGN = SERVICE_DESK_TOPIC.name, CAMPAIGN_TOPIC.name

pytestmark = pytest.mark.integration

ADA = {"kind": "person", "given_name": "Ada", "family_name": "Lovelace", "emails": [{"address": "ada@example.com"}],
       "country": "GB"}


def create_customer(client, body=ADA) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/v1/customers", json=body)
    assert response.status_code == 201, response.text
    return response.json() | {"_token": response.headers["CRM-Consistency-Token"]}


def wait_view(client, customer_id: str, predicate) -> dict:  # type: ignore[no-untyped-def]
    def probe() -> dict | None:
        response = client.get(f"/v1/customers/{customer_id}/view")
        if response.status_code == 200 and predicate(response.json()):
            return response.json()
        return None

    return eventually(probe, what=f"the view of {customer_id}")


def test_customer_opportunity_and_ticket_meet_in_the_unified_view(system: System) -> None:
    with system.client() as client:
        customer = create_customer(client)
        token = {"CRM-Consistency-Token": customer["_token"]}
        opportunity = client.post("/v1/opportunities", headers=token, json={
            "customer_id": customer["id"], "name": "Analytical engine", "amount": {"amount": "1234.50", "currency": "EUR"},
            "stage": "proposal"})
        assert opportunity.status_code == 201, opportunity.text
        assert opportunity.json()["customer"]["display_name"] == "Ada Lovelace"
        assert opportunity.json()["customer"]["view_version"] >= 1
        ticket = client.post("/v1/tickets", headers=token, json={
            "customer_id": customer["id"], "subject": "Punch cards jammed", "description": "Card 42",
            "type": "incident", "priority": "high", "channel": "email"})
        assert ticket.status_code == 201, ticket.text

        view = client.get(f"/v1/customers/{customer['id']}/view",
                          headers={"CRM-Consistency-Token": ticket.headers["CRM-Consistency-Token"]})
        assert view.status_code == 200
        body = view.json()
        assert body["consistency"] == {"requested": True, "satisfied": True, "waited_ms": body["consistency"]["waited_ms"]}
        assert body["profile"]["display_name"] == "Ada Lovelace"
        assert body["kpis"]["open_tickets"] == 1
        assert body["source_sequences"]["service_desk"] >= 1
        view = wait_view(client, customer["id"], lambda v: v["kpis"]["open_opportunities"] == 1)
        assert view["kpis"]["open_pipeline_value"] == [{"amount": "1234.50", "currency": "EUR"}]


def test_change_to_a_customer_reaches_the_sales_replica(system: System) -> None:
    with system.client() as client:
        customer = create_customer(client)
        token = {"CRM-Consistency-Token": customer["_token"]}
        opportunity = client.post("/v1/opportunities", headers=token, json={
            "customer_id": customer["id"], "name": "Difference engine", "amount": {"amount": "10", "currency": "GBP"}})
        assert opportunity.status_code == 201, opportunity.text
        first_version = opportunity.json()["customer"]["view_version"]

        renamed = client.patch(f"/v1/customers/{customer['id']}", json={"family_name": "King"},
                               headers={"If-Match": '"1"'})
        assert renamed.status_code == 200, renamed.text

        def replica_renamed() -> dict | None:
            current = client.get(f"/v1/opportunities/{opportunity.json()['id']}").json()["customer"]
            return current if current["display_name"] == "Ada King" else None

        embedded = eventually(replica_renamed, what="the sales replica to show the new name")
        assert embedded["view_version"] > first_version


def test_campaign_membership_counts_in_the_view(system: System) -> None:
    with system.client() as client:
        customer = create_customer(client)
        campaign = client.post("/v1/campaigns", json={"name": "Spring", "channel": "email",
                                                      "budget": {"amount": "500.00", "currency": "EUR"}})
        assert campaign.status_code == 201, campaign.text
        member = client.post(f"/v1/campaigns/{campaign.json()['id']}/members", json={"customer_id": customer["id"]},
                             headers={"CRM-Consistency-Token": customer["_token"]})
        assert member.status_code == 201, member.text
        view = wait_view(client, customer["id"], lambda v: v["kpis"]["campaigns"] == 1)
        assert view["source_sequences"]["campaign"] >= 1


def test_a_customer_unknown_to_sales_is_refused(system: System) -> None:
    with system.client() as client:
        missing = str(uuid.uuid4())
        response = client.post("/v1/opportunities", json={
            "customer_id": missing, "name": "Ghost deal", "amount": {"amount": "1", "currency": "EUR"}})
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["errors"][0]["field"] == "customer_id"
        assert client.get("/v1/opportunities", params={"customer_id": missing}).json()["items"] == []


def test_a_tenant_never_sees_another_tenants_customers(system: System) -> None:
    with system.client() as alice, system.client() as bob:
        customer = create_customer(alice)
        assert bob.get(f"/v1/customers/{customer['id']}").status_code == 404
        assert bob.get("/v1/customers").json()["items"] == []
        foreign = bob.post("/v1/opportunities", headers={"CRM-Consistency-Token": customer["_token"]}, json={
            "customer_id": customer["id"], "name": "Poaching", "amount": {"amount": "1", "currency": "EUR"}})
        assert foreign.status_code == 422


def test_every_event_on_the_topics_is_a_cloudevent_of_the_contract(system: System) -> None:
    with system.client() as client:
        create_customer(client)  # at least one fresh event on each customer topic
    checked = 0
    for topic, service in ((CUSTOMER, "customer"), (SALES, "sales"), (SERVICE_DESK, "service_desk"),
                           (CAMPAIGN, "campaign"), (CUSTOMER_VIEW, "customer")):
        for record in system.read_topic(topic):
            if record.value is None:
                continue  # a tombstone on the compacted view topic
            if "ce_type" not in dict(record.headers or []):
                continue  # planted by the delivery tests (poison, redeliveries), not published by a service
            event = CloudEvent.model_validate_json(record.value)
            assert event.specversion == "1.0"
            assert event.source == f"/crm/{service}"
            assert event.type.startswith(f"crm.{service}.") and event.type.endswith(".v1")
            assert record.key.decode() == event.subject
            assert event.tenant and event.sequence >= 1 and event.datacontenttype == "application/json"
            assert dict(record.headers)["ce_type"].decode() == event.type
            checked += 1
    assert checked >= 2
