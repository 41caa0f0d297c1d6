"""The HTTP conventions of the public contract, through the gateway, on both databases.

Bad input gets an RFC 9457 problem and changes nothing: no row, no event.
"""

from __future__ import annotations

import uuid

import pytest

from crm.registry import SERVICES
from tests.support.system import System

pytestmark = pytest.mark.integration

PERSON = {"kind": "person", "given_name": "Katherine", "family_name": "Johnson"}
PROBLEM = "application/problem+json"


def _nothing_written(system: System, tenant: str) -> None:
    assert system.sql("customer", "SELECT count(*) FROM customers WHERE tenant_id = :t", t=tenant) == [(0,)]
    assert system.sql("customer", "SELECT count(*) FROM outbox WHERE tenant_id = :t", t=tenant) == [(0,)]


BAD_CUSTOMERS = [
    ({"kind": "robot", "given_name": "R2"}, "kind"),
    ({"kind": "person", "given_name": "Ada"}, "family_name"),
    ({"kind": "organization"}, "organization_name"),
    (PERSON | {"emails": [{"address": "not-an-email"}]}, "emails.0.address"),
    (PERSON | {"phones": [{"number": "12345"}]}, "phones.0.number"),
    (PERSON | {"country": "XX"}, "country"),
    (PERSON | {"shoe_size": 44}, "shoe_size"),
    (PERSON | {"emails": [{"address": "a@example.com", "primary": True}, {"address": "b@example.com", "primary": True}]},
     "emails"),
    (PERSON | {"given_name": ""}, "given_name"),
    (["not", "an", "object"], "body"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CUSTOMERS)
def test_invalid_customer_is_a_problem_and_writes_nothing(system: System, body: object, field: str) -> None:
    with system.client() as client:
        response = client.post("/v1/customers", json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        problem = response.json()
        assert problem["status"] == 422 and problem["type"] == "/problems/validation-error" and problem["detail"]
        assert any(e["field"] == field or e["field"].startswith(field) for e in problem["errors"]), problem
        _nothing_written(system, client.tenant)  # type: ignore[attr-defined]


def test_malformed_json_is_a_problem(system: System) -> None:
    with system.client() as client:
        response = client.post("/v1/customers", content=b'{"kind": "person",', headers={"content-type": "application/json"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "body"
        _nothing_written(system, client.tenant)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("amount", "field"), [
    (1234.5, "amount.amount"),
    ("-1.00", "amount.amount"),
    ("1.001", "amount.amount"),
    ("lots", "amount.amount"),
])
def test_invalid_money_is_a_problem(system: System, amount: object, field: str) -> None:
    with system.client() as client:
        response = client.post("/v1/opportunities", json={
            "customer_id": str(uuid.uuid4()), "name": "x", "amount": {"amount": amount, "currency": "EUR"}})
        assert response.status_code == 422
        assert any(e["field"] == field for e in response.json()["errors"]), response.json()


def test_unknown_currency_is_a_problem(system: System) -> None:
    with system.client() as client:
        response = client.post("/v1/campaigns", json={"name": "x", "channel": "email",
                                                      "budget": {"amount": "1", "currency": "XYZ"}})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "budget.currency"


def test_authentication_and_scopes(system: System) -> None:
    import httpx

    anonymous = httpx.get(system.url("gateway") + "/v1/customers")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.headers["content-type"].startswith(PROBLEM)
    forged = httpx.get(system.url("gateway") + "/v1/customers", headers={"Authorization": "Bearer not.a.jwt"})
    assert forged.status_code == 401
    with system.client(scopes=("customers:read",)) as reader:
        assert reader.get("/v1/customers").status_code == 200
        denied = reader.post("/v1/customers", json=PERSON)
        assert denied.status_code == 403
        assert "customers:write" in denied.json()["detail"]
        assert reader.get("/v1/opportunities").status_code == 403
        _nothing_written(system, reader.tenant)  # type: ignore[attr-defined]


def test_unknown_paths_methods_and_ids_are_problems(system: System) -> None:
    with system.client() as client:
        for response, status in ((client.get("/v1/nothing-here"), 404), (client.delete("/v1/customers"), 405),
                                 (client.get(f"/v1/customers/{uuid.uuid4()}"), 404),
                                 # A path segment that is no UUID names no customer (nor any other route).
                                 (client.get("/v1/customers/not-a-uuid"), 404)):
            assert response.status_code == status
            assert response.headers["content-type"].startswith(PROBLEM)
            assert response.json()["status"] == status


def test_list_paging_walks_every_item_once(system: System) -> None:
    with system.client() as client:
        created = [client.post("/v1/customers", json=PERSON | {"given_name": f"K{i}"}).json()["id"] for i in range(5)]
        seen: list[str] = []
        cursor = None
        while True:
            page = client.get("/v1/customers", params={"limit": 2} | ({"cursor": cursor} if cursor else {})).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == created
        assert client.get("/v1/customers", params={"limit": 0}).status_code == 422
        assert client.get("/v1/customers", params={"limit": 501}).status_code == 422
        assert client.get("/v1/customers", params={"cursor": "garbage"}).status_code == 400
        assert client.get("/v1/customers", params={"country": "DE"}).json()["items"] == []


def test_if_match_guards_against_lost_updates(system: System) -> None:
    with system.client() as client:
        created = client.post("/v1/customers", json=PERSON)
        url = f"/v1/customers/{created.json()['id']}"
        assert created.headers["etag"] == '"1"'
        first = client.patch(url, json={"region": "Hampton"}, headers={"If-Match": '"1"'})
        assert first.status_code == 200 and first.headers["etag"] == '"2"'
        stale = client.patch(url, json={"region": "Houston"}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412
        assert stale.headers["content-type"].startswith(PROBLEM)
        current = client.get(url)
        assert current.json()["region"] == "Hampton" and current.headers["etag"] == '"2"'
        events = system.sql("customer", "SELECT type FROM outbox WHERE tenant_id = :t ORDER BY sequence",
                            t=client.tenant)  # type: ignore[attr-defined]
        assert [e[0] for e in events if e[0].startswith("crm.customer.") and "view" not in e[0]] == [
            "crm.customer.created.v1", "crm.customer.updated.v1"]


def test_idempotency_key_replays_instead_of_acting_twice(system: System) -> None:
    with system.client() as client:
        headers = {"Idempotency-Key": f"create-{uuid.uuid4()}"}
        first = client.post("/v1/customers", json=PERSON, headers=headers)
        again = client.post("/v1/customers", json=PERSON, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert len(client.get("/v1/customers").json()["items"]) == 1
        other = client.post("/v1/customers", json=PERSON | {"given_name": "Dorothy"}, headers=headers)
        assert other.status_code == 422
        assert other.json()["type"] == "/problems/idempotency-key-reused"
        assert len(client.get("/v1/customers").json()["items"]) == 1


def test_a_malformed_consistency_token_is_a_problem(system: System) -> None:
    with system.client() as client:
        created = client.post("/v1/customers", json=PERSON).json()
        response = client.get(f"/v1/customers/{created['id']}/view", headers={"CRM-Consistency-Token": "%%%"})
        assert response.status_code == 400
        assert response.headers["content-type"].startswith(PROBLEM)


def test_closed_deal_cannot_be_reopened_and_nothing_changes(system: System) -> None:
    with system.client() as client:
        customer = client.post("/v1/customers", json=PERSON)
        token = {"CRM-Consistency-Token": customer.headers["CRM-Consistency-Token"]}
        deal = client.post("/v1/opportunities", headers=token, json={
            "customer_id": customer.json()["id"], "name": "Orbit", "amount": {"amount": "3.00", "currency": "USD"},
            "stage": "closed_won", "close_reason": "signed at once"}).json()
        assert deal["status"] == "won"
        refused = client.patch(f"/v1/opportunities/{deal['id']}", json={"stage": "proposal"})
        assert refused.status_code == 409
        assert client.get(f"/v1/opportunities/{deal['id']}").json()["version"] == 1


def test_ops_endpoints(system: System) -> None:
    import httpx

    for service in ("customer", "sales", "service_desk", "campaign"):
        assert httpx.get(system.url(service) + "/healthz").json() == {"status": "ok"}
        assert httpx.get(system.url(service) + "/readyz").json()["checks"] == {"database": True, "kafka": True}
        metrics = httpx.get(system.url(service) + "/metrics").text
        assert "crm_http_requests_total" in metrics and "crm_outbox_pending" in metrics
        assert httpx.get(system.url(service) + "/openapi.json").json()["info"]["title"].startswith("OneView CRM")
        # Its worker (relay, consumers, jobs) answers for itself, with what it published and consumed.
        worker = system.url(f"{service}-worker")
        # Ready means its consumer holds its partitions, not only that Kafka answers.
        assert httpx.get(worker + "/readyz").json()["checks"] == {"database": True, "kafka": True, "partitions": True}
        worker_metrics = httpx.get(worker + "/metrics").text
        assert "crm_outbox_published_total" in worker_metrics and "crm_consumer_join_seconds" in worker_metrics
    # The gateway's readiness covers the APIs and the workers it is told of (as `crm run` tells it).
    gateway = httpx.get(system.url("gateway") + "/readyz").json()
    assert gateway["status"] == "ready"
    assert gateway["services"]["sales-worker"]["checks"]["partitions"] is True
    assert set(gateway["services"]) == {*SERVICES, *(f"{s}-worker" for s in SERVICES)}
