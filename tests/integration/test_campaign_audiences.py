"""Audiences and launches through the running system: customers' changes in the customer master (profile,
consent) reach the campaign service's replica as view versions and move audience membership there; a
launch freezes the audience into members with their variants; bad plans are refused and change nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests import factories
from tests.support.system import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def _opt_in(client: Any, customer: dict[str, Any], status: str = "opt_in") -> None:
    recorded = client.put(f"/v1/customers/{customer['id']}/consent/email", json={
        "status": status, "source": "web form", "wording": "Send me news"})
    assert recorded.status_code == 200, recorded.text


def _preview(client: Any, audience_id: str) -> dict[str, Any]:
    answer = client.get(f"/v1/audiences/{audience_id}/preview", params={"sample": 10})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_membership_follows_the_master_and_a_launch_freezes_it(system: System) -> None:
    with system.client() as client:
        tag = f"fair-{uuid.uuid4().hex[:6]}"
        ada, _ = factories.person(client, "Ada", country="DE", tags=[tag])
        bob, _ = factories.person(client, "Bob", country="DE", tags=[tag])
        cy, _ = factories.person(client, "Cy", country="FR", tags=[tag])
        system.wait_drained()
        rules = {"all": [{"field": "tags", "op": "contains", "value": tag},
                         {"field": "country", "op": "eq", "value": "DE"},
                         {"field": "consent.email", "op": "eq", "value": "opt_in"}]}
        created = client.post("/v1/audiences", json={"name": "German fair visitors", "rules": rules})
        assert created.status_code == 201, created.text
        audience = created.json()
        assert _preview(client, audience["id"])["count"] == 0  # nobody has opted in yet

        for who in (ada, bob, cy):
            _opt_in(client, who)
        shown = eventually(lambda: (p := _preview(client, audience["id"]))["count"] == 2 and p,
                           what="the opt-ins to reach the audience")
        assert {c["id"] for c in shown["sample"]} == {ada["id"], bob["id"]}
        assert all(c["display_name"] != "(unavailable)" for c in shown["sample"])

        # Bob moves to France in the master: he leaves; the ad-hoc preview agrees with the stored one.
        moved = client.patch(f"/v1/customers/{bob['id']}", json={"country": "FR"})
        assert moved.status_code == 200, moved.text
        eventually(lambda: _preview(client, audience["id"])["count"] == 1, what="Bob to leave the audience")
        adhoc = client.post("/v1/audiences/preview", json={"rules": rules})
        assert adhoc.status_code == 200 and adhoc.json()["count"] == 1

        campaign = factories.campaign(client, "Fair follow-up", budget="500", audience_id=audience["id"],
                                      variants=[{"name": "short", "share": 50, "subject": "Thanks"},
                                                {"name": "long", "share": 50, "subject": "Thank you for coming"}])
        launched = client.post(f"/v1/campaigns/{campaign['id']}/launch")
        assert launched.status_code == 200, launched.text
        body = launched.json()
        assert (body["members"], body["campaign"]["status"], sum(body["by_variant"].values())) == (1, "running", 1)
        members = client.get(f"/v1/campaigns/{campaign['id']}/members").json()["items"]
        assert [(m["customer_id"], m["variant"] in ("short", "long")) for m in members] == [(ada["id"], True)]

        # Frozen: Bob coming back to Germany joins the audience, not the launched campaign.
        assert client.patch(f"/v1/customers/{bob['id']}", json={"country": "DE"}).status_code == 200
        eventually(lambda: _preview(client, audience["id"])["count"] == 2, what="Bob to join the audience again")
        assert len(client.get(f"/v1/campaigns/{campaign['id']}/members").json()["items"]) == 1
        again = client.post(f"/v1/campaigns/{campaign['id']}/launch")
        assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"


def test_bad_audiences_and_plans_are_refused_and_change_nothing(system: System) -> None:
    with system.client() as client:
        before = client.get("/v1/audiences").json()["items"]
        for body, field in (
                ({"name": "x", "rules": {"all": [{"field": "churn_risk", "op": "gt", "value": "high"}]}},
                 "rules.all[0].value"),
                ({"name": "x", "rules": {"all": [{"field": "shoe_size", "op": "eq", "value": "42"}]}}, None),
                ({"name": "x"}, "rules"),
                ({"name": "x", "static_customer_ids": [str(uuid.uuid4())]}, "static_customer_ids[0]")):
            refused = client.post("/v1/audiences", json=body)
            assert refused.status_code == 422, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            if field is not None:
                assert refused.json()["errors"][0]["field"] == field
        assert client.get("/v1/audiences").json()["items"] == before

        split = client.post("/v1/campaigns", json={"name": "Split", "channel": "email",
                                                   "budget": {"amount": "10", "currency": "EUR"},
                                                   "variants": [{"name": "a", "share": 60}, {"name": "b", "share": 30}]})
        assert split.status_code == 422 and split.json()["errors"][0]["field"] == "variants"
        empty = factories.campaign(client, "Nobody", budget="10")
        refused = client.post(f"/v1/campaigns/{empty['id']}/launch")
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "audience_id"
        assert client.get(f"/v1/campaigns/{empty['id']}").json()["status"] == "draft"
        running = client.patch(f"/v1/campaigns/{empty['id']}", json={"status": "running"})
        assert running.status_code == 409
