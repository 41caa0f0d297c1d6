"""The unified view as every contact point reads it: KPIs, timeline, one version everywhere, rebuildable."""

from __future__ import annotations

import uuid

import pytest

from shared.http import ConsistencyToken
from tests import factories
from tests.support.system import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

PERSON = {"kind": "person", "given_name": "Mary", "family_name": "Jackson"}


def _customer(client) -> tuple[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    created = client.post("/v1/customers", json=PERSON)
    assert created.status_code == 201, created.text
    return created.json()["id"], {"CRM-Consistency-Token": created.headers["CRM-Consistency-Token"]}


def _view_after(client, customer_id: str, write) -> dict:  # type: ignore[no-untyped-def]
    response = client.get(f"/v1/customers/{customer_id}/view",
                          headers={"CRM-Consistency-Token": write.headers["CRM-Consistency-Token"]})
    assert response.status_code == 200 and response.json()["consistency"]["satisfied"], response.text
    return response.json()


def test_view_kpis_and_timeline_cover_every_service(system: System) -> None:
    with system.client() as client:
        customer_id, token = _customer(client)
        deal = client.post("/v1/opportunities", headers=token, json={
            "customer_id": customer_id, "name": "Wind tunnel", "amount": {"amount": "200.00", "currency": "USD"},
            "stage": "negotiation"})
        won = client.patch(f"/v1/opportunities/{deal.json()['id']}", json={"stage": "closed_won",
                                                                            "close_reason": "best offer"})
        assert won.status_code == 200, won.text
        pipeline = client.post("/v1/opportunities", headers=token, json={
            "customer_id": customer_id, "name": "Supersonic", "amount": {"amount": "100.00", "currency": "USD"},
            "stage": "proposal"})
        complaint = client.post("/v1/tickets", headers=token, json={
            "customer_id": customer_id, "subject": "Late delivery", "type": "complaint", "priority": "urgent"})
        campaign = client.post("/v1/campaigns", json={"name": "Launch", "channel": "event",
                                                      "budget": {"amount": "10", "currency": "USD"}}).json()
        member = client.post(f"/v1/campaigns/{campaign['id']}/members", headers=token,
                             json={"customer_id": customer_id})
        assert member.status_code == 201

        for write in (won, pipeline, complaint, member):
            view = _view_after(client, customer_id, write)
        kpis = view["kpis"]
        assert kpis["won_deals"] == 1 and kpis["won_value"] == [{"amount": "200.00", "currency": "USD"}]
        assert kpis["open_opportunities"] == 1
        assert kpis["weighted_pipeline_value"] == [{"amount": "50.00", "currency": "USD"}]
        assert (kpis["open_tickets"], kpis["urgent_open_tickets"], kpis["complaints_90d"]) == (1, 1, 1)
        assert kpis["campaigns"] == 1
        assert kpis["churn_risk"]["level"] in ("medium", "high")
        assert "complained in the last 90 days" in kpis["churn_risk"]["reasons"]
        assert kpis["next_best_action"]["action"] == "resolve_urgent_tickets"
        assert kpis["last_contact"]["source"] in ("service_desk", "campaign")
        assert set(view["source_sequences"]) == {"customer", "sales", "service_desk", "campaign"}

        timeline = client.get(f"/v1/customers/{customer_id}/timeline").json()
        sources = [entry["source"] for entry in timeline["items"]]
        assert set(sources) == {"customer", "sales", "service_desk", "campaign"}
        times = [entry["occurred_at"] for entry in timeline["items"]]
        assert times == sorted(times, reverse=True)
        assert f"/v1/opportunities/{deal.json()['id']}" in [e["resource"] for e in timeline["items"]]
        won_entry = next(e for e in timeline["items"] if e["type"] == "crm.sales.opportunity.won.v1")
        assert won_entry["summary"] == "Opportunity 'Wind tunnel' won (200.00 USD, closed_won)"
        assert client.get(won_entry["resource"]).json()["status"] == "won"

        sales_only = client.get(f"/v1/customers/{customer_id}/timeline", params={"source": "sales"}).json()["items"]
        assert len(sales_only) == 3 and {e["source"] for e in sales_only} == {"sales"}
        by_type = client.get(f"/v1/customers/{customer_id}/timeline",
                             params={"type": "crm.service_desk.ticket"}).json()["items"]
        assert [e["type"] for e in by_type] == ["crm.service_desk.ticket.created.v1"]

        first = client.get(f"/v1/customers/{customer_id}/timeline", params={"limit": 2}).json()
        rest = client.get(f"/v1/customers/{customer_id}/timeline",
                          params={"limit": 50, "cursor": first["next_cursor"]}).json()
        assert [e["event_id"] for e in first["items"] + rest["items"]] == [e["event_id"] for e in timeline["items"]]


def test_every_contact_point_shows_the_same_view_version(system: System) -> None:
    with system.client() as client:
        customer_id, token = _customer(client)
        deal = client.post("/v1/opportunities", headers=token, json={
            "customer_id": customer_id, "name": "Orbit", "amount": {"amount": "1", "currency": "EUR"}}).json()
        ticket = client.post("/v1/tickets", headers=token, json={"customer_id": customer_id, "subject": "Hi"}).json()
        renamed = client.patch(f"/v1/customers/{customer_id}", json={"given_name": "Mae"})
        master = _view_after(client, customer_id, renamed)

        def everywhere_at_master_version() -> bool:
            shown = [client.get(f"/v1/opportunities/{deal['id']}").json()["customer"],
                     client.get(f"/v1/tickets/{ticket['id']}").json()["customer"]]
            latest = client.get(f"/v1/customers/{customer_id}/view").json()["version"]
            return all(c["view_version"] == latest and c["display_name"] == "Mae Jackson" for c in shown)

        eventually(everywhere_at_master_version, what="every replica to hold the master's view version")
        assert master["profile"]["display_name"] == "Mae Jackson"


def test_a_deleted_customer_leaves_every_view(system: System) -> None:
    with system.client() as client:
        customer_id, token = _customer(client)
        deal = client.post("/v1/opportunities", headers=token, json={
            "customer_id": customer_id, "name": "Gone", "amount": {"amount": "1", "currency": "EUR"}}).json()
        assert client.delete(f"/v1/customers/{customer_id}").status_code == 204
        eventually(lambda: client.get(f"/v1/customers/{customer_id}/view").status_code == 404,
                   what="the view to be removed")
        eventually(lambda: client.get(f"/v1/opportunities/{deal['id']}").json()["customer"]["view_version"] == 0,
                   what="the sales replica to forget the customer (tombstone)")
        assert client.get(f"/v1/customers/{customer_id}/timeline").status_code == 404


def test_replicas_match_the_master_once_drained(system: System) -> None:
    with system.client() as client:
        customer_id, token = _customer(client)
        client.post("/v1/tickets", headers=token, json={"customer_id": customer_id, "subject": "Check me"})
    system.wait_drained()
    consistency = system.crm("check-consistency")
    assert consistency.returncode == 0, consistency.stdout + consistency.stderr
    assert "all replicas match the master view" in consistency.stdout


def test_projections_rebuild_identically_from_kafka(system: System) -> None:
    with system.client() as client:
        customer_id, token = _customer(client)
        client.post("/v1/tickets", headers=token, json={"customer_id": customer_id, "subject": "Replay me"})
    system.wait_drained()
    for projection in ("view", "sales"):
        rebuilt = system.crm("replay", projection, "--compare", "--into",
                             f"sqlite:///{system.root / f'replay-{projection}.db'}")
        assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
        assert "identical" in rebuilt.stdout


def test_check_consistency_reports_a_drifted_replica(system: System) -> None:
    with system.client() as client:
        customer_id, _ = _customer(client)
        system.wait_drained()
        engine_url = system.database_urls["campaign"]
        from sqlalchemy import create_engine, text

        engine = create_engine(engine_url)
        key = {"id": customer_id.replace("-", "") if system.backend == "sqlite" else customer_id}
        with engine.begin() as connection:
            connection.execute(text("UPDATE customer_replicas SET view_version = view_version - 1 "
                                    "WHERE customer_id = :id"), key)
        try:
            report = system.crm("check-consistency")
            assert report.returncode == 1
            assert f"stale: {customer_id}" in report.stdout
        finally:
            # The system is shared: later tests must find the replica as the consumer left it.
            with engine.begin() as connection:
                connection.execute(text("UPDATE customer_replicas SET view_version = view_version + 1 "
                                        "WHERE customer_id = :id"), key)
            engine.dispose()


def test_an_organizations_view_rolls_up_its_subsidiaries(system: System) -> None:
    with system.client() as client:
        group = client.post("/v1/customers", json={"kind": "organization", "organization_name": "Holding"})
        assert group.status_code == 201, group.text
        subsidiary = client.post("/v1/customers", json={"kind": "organization", "organization_name": "Daughter",
                                                        "parent_id": group.json()["id"]})
        assert subsidiary.status_code == 201, subsidiary.text
        for customer, amount in ((group, "100.00"), (subsidiary, "50.00")):
            deal = client.post("/v1/opportunities", headers={
                "CRM-Consistency-Token": customer.headers["CRM-Consistency-Token"]}, json={
                "customer_id": customer.json()["id"], "name": "Deal", "amount": {"amount": amount, "currency": "EUR"}})
            assert deal.status_code == 201, deal.text
        ticket = client.post("/v1/tickets", headers={
            "CRM-Consistency-Token": subsidiary.headers["CRM-Consistency-Token"]}, json={
            "customer_id": subsidiary.json()["id"], "subject": "Invoice question"})
        assert ticket.status_code == 201

        def rolled_up() -> dict | None:
            kpis = client.get(f"/v1/customers/{group.json()['id']}/view").json()["kpis"]
            return kpis if kpis.get("group", {}).get("open_tickets") == 1 and kpis["group"]["open_opportunities"] == 2 \
                else None

        kpis = eventually(rolled_up, what="the holding's view to include its subsidiary")
        assert kpis["open_opportunities"] == 1 and kpis["open_tickets"] == 0  # its own figures stay its own
        assert kpis["group"]["members"] == 2
        assert kpis["group"]["open_pipeline_value"] == [{"amount": "150.00", "currency": "EUR"}]


def test_view_masks_personal_data_without_the_pii_scope(system: System) -> None:
    with system.client() as client:
        created = client.post("/v1/customers", json=PERSON | {"emails": [{"address": "mary@example.com"}]})
        token = {"CRM-Consistency-Token": created.headers["CRM-Consistency-Token"]}
        full = client.get(f"/v1/customers/{created.json()['id']}/view", headers=token).json()
        assert full["profile"]["emails"][0]["address"] == "mary@example.com"
        with system.client(client.tenant, scopes=("customers:read",)) as limited:  # type: ignore[attr-defined]
            shown = limited.get(f"/v1/customers/{created.json()['id']}/view").json()["profile"]
        assert shown["emails"][0]["address"] != "mary@example.com"
        assert "Jackson" not in shown["display_name"]
        assert shown["pii_masked"] is True


def test_a_token_the_view_cannot_satisfy_is_answered_explicitly_never_with_a_404(system: System) -> None:
    """A token naming a customer the view has never seen: 503 view-pending; a view that is behind: 200, stale."""
    with system.client() as client:
        unseen = str(uuid.uuid4())
        ahead = ConsistencyToken(service="customer", sequence=10**9, subjects=(unseen,)).encode()
        # Prefer: wait=1 (RFC 7240) shortens the service's bound, so the client learns it in a second.
        pending = client.get(f"/v1/customers/{unseen}/view", headers={"CRM-Consistency-Token": ahead,
                                                                        "Prefer": "wait=1"})
        assert pending.status_code == 503, pending.text
        assert 900 <= int(pending.json()["detail"].split(" within ")[1].split(" ms")[0]) < 5000
        assert pending.json()["type"].endswith("/view-pending")
        assert pending.headers["Retry-After"] == "1" and pending.headers["CRM-Consistency"] == "stale"

        customer, token = factories.person(client, "Stella")
        assert client.get(f"/v1/customers/{customer['id']}/view", headers=token).status_code == 200
        behind = ConsistencyToken(service="customer", sequence=10**9, subjects=(customer["id"],)).encode()
        stale = client.get(f"/v1/customers/{customer['id']}/view", headers={"CRM-Consistency-Token": behind,
                                                                              "Prefer": "respond-async, wait=1"})
        assert stale.status_code == 200
        assert stale.headers["CRM-Consistency"] == "stale"
        assert stale.json()["consistency"]["satisfied"] is False
        assert 900 <= stale.json()["consistency"]["waited_ms"] < 5000
