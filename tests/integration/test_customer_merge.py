"""Merging duplicates through the customer master's API, and undoing it, across every service."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests import factories
from tests.support.system import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def _owner(client: httpx.Client, path: str) -> str:
    return str(client.get(path).json()["customer_id"])


def _members(client: httpx.Client, campaign_id: str) -> list[str]:
    return [m["customer_id"] for m in client.get(f"/v1/campaigns/{campaign_id}/members").json()["items"]]


def test_merging_three_records_repoints_every_service_and_unmerge_restores_them(system: System) -> None:
    with system.client() as client:
        survivor, s_token = factories.person(client, "Keep", region="London")
        first, f_token = factories.person(client, "First", region="Paris", phones=[{"number": "+44 20 7946 0001"}])
        second, t_token = factories.person(client, "Second", industry="Computing")
        system.wait_drained(timeout=300)  # every replica knows all three (a busy machine can lag past a token's wait)
        deal = factories.opportunity(client, first, f_token, name="First deal")
        ticket = factories.ticket(client, second, t_token, subject="Second question")
        campaign = factories.campaign(client, "Twins")
        joined = client.post(f"/v1/campaigns/{campaign['id']}/members", headers=f_token,
                             json={"customer_id": first["id"]})
        assert joined.status_code == 201, joined.text
        system.wait_drained(timeout=300)

        merged = client.post(f"/v1/customers/{survivor['id']}/merge",
                             json={"duplicate_ids": [first["id"], second["id"]], "fields": {"region": survivor["id"]}})
        assert merged.status_code == 200, merged.text
        result = merged.json()
        assert result["survivor"]["region"] == "London" and result["survivor"]["industry"] == "Computing"
        assert [e["address"] for e in result["survivor"]["emails"]] == [
            "keep@example.com", "first@example.com", "second@example.com"]
        assert result["survivor"]["emails"][0]["primary"]
        assert result["provenance"]["region"]["rule"] == "caller_choice"
        assert result["provenance"]["industry"] == {"source": second["id"], "rule": "most_recent_non_empty",
                                                    "at": result["provenance"]["industry"]["at"], "sources": None}

        # The merged-away ids redirect; search by a merged e-mail or phone finds the survivor.
        moved = client.get(f"/v1/customers/{first['id']}", follow_redirects=False)
        assert moved.status_code == 308 and moved.headers["location"] == f"/v1/customers/{survivor['id']}"
        assert client.patch(f"/v1/customers/{first['id']}", json={"region": "Rome"}).status_code == 409
        found = client.get("/v1/customers", params={"email": "First@Example.com"}).json()["items"]
        assert [c["id"] for c in found] == [survivor["id"]]
        found = client.get("/v1/customers", params={"phone": "+44 (20) 7946-0001"}).json()["items"]
        assert [c["id"] for c in found] == [survivor["id"]]
        provenance = client.get(f"/v1/customers/{survivor['id']}/provenance").json()["fields"]
        assert provenance["industry"]["source"] == second["id"]
        assert provenance["region"] == result["provenance"]["region"]

        eventually(lambda: _owner(client, f"/v1/opportunities/{deal['id']}") == survivor["id"],
                   what="sales to re-point the opportunity", timeout=60)
        eventually(lambda: _owner(client, f"/v1/tickets/{ticket['id']}") == survivor["id"],
                   what="the service desk to re-point the ticket", timeout=60)
        # wait_drained covers the view and replica consumers, not the services' life-cycle consumers.
        eventually(lambda: _members(client, campaign["id"]) == [survivor["id"]],
                   what="the campaign to re-point the membership", timeout=60)
        system.wait_drained(timeout=300)
        view = client.get(f"/v1/customers/{survivor['id']}/view").json()
        assert view["kpis"]["open_opportunities"] == 1 and view["kpis"]["open_tickets"] == 1
        assert view["kpis"]["campaigns"] == 1
        assert [e["address"] for e in view["profile"]["emails"]][1:] == ["first@example.com", "second@example.com"]
        assert client.get(f"/v1/customers/{second['id']}/view", follow_redirects=False).status_code == 308

        undone = client.post(f"/v1/customers/{survivor['id']}/unmerge", json={"merge_id": result["merge_id"]})
        assert undone.status_code == 200, undone.text
        assert {c["id"] for c in undone.json()["restored"]} == {first["id"], second["id"]}
        assert undone.json()["survivor"]["industry"] is None
        assert [e["address"] for e in undone.json()["survivor"]["emails"]] == ["keep@example.com"]
        back = client.get(f"/v1/customers/{first['id']}")
        assert back.status_code == 200 and back.json()["region"] == "Paris"
        assert back.json()["version"] == first["version"] + 2  # merged away, then restored
        assert [c["id"] for c in client.get("/v1/customers", params={"email": "first@example.com"}).json()["items"]] \
            == [first["id"]]
        eventually(lambda: _owner(client, f"/v1/opportunities/{deal['id']}") == first["id"],
                   what="sales to give the opportunity back", timeout=60)
        eventually(lambda: _owner(client, f"/v1/tickets/{ticket['id']}") == second["id"],
                   what="the service desk to give the ticket back", timeout=60)
        eventually(lambda: _members(client, campaign["id"]) == [first["id"]],
                   what="the campaign to give the membership back", timeout=60)
        system.wait_drained(timeout=300)
        assert client.get(f"/v1/customers/{first['id']}/view").json()["kpis"]["open_opportunities"] == 1
        assert client.get(f"/v1/customers/{second['id']}/view").json()["kpis"]["open_tickets"] == 1
        assert client.get(f"/v1/customers/{survivor['id']}/view").json()["kpis"]["open_opportunities"] == 0
        again = client.post(f"/v1/customers/{survivor['id']}/unmerge", json={})
        assert again.status_code == 404  # nothing left to undo


def test_unmerge_keeps_changes_made_to_the_survivor_since_the_merge(system: System) -> None:
    with system.client() as client:
        survivor, _ = factories.person(client, "Stay", region="London", owner="Alice")
        duplicate, _ = factories.person(client, "Go", region="Paris", industry="Poetry")
        merged = client.post(f"/v1/customers/{survivor['id']}/merge", json={"duplicate_ids": [duplicate["id"]]})
        assert merged.status_code == 200, merged.text
        assert merged.json()["survivor"]["region"] == "Paris"
        changed = client.patch(f"/v1/customers/{survivor['id']}", json={"industry": "Mathematics"})
        assert changed.status_code == 200
        assert client.get(f"/v1/customers/{survivor['id']}/provenance").json()["fields"]["industry"]["rule"] == "direct"
        undone = client.post(f"/v1/customers/{survivor['id']}/unmerge").json()
        assert undone["survivor"]["region"] == "London"  # the merge's value goes
        assert undone["survivor"]["industry"] == "Mathematics"  # the later change stays
        assert undone["kept_fields"] == ["industry"]
        assert undone["restored"][0]["industry"] == "Poetry" and undone["restored"][0]["region"] == "Paris"


def test_a_consent_conflict_is_refused_and_changes_nothing(system: System) -> None:
    with system.client() as client:
        survivor, _ = factories.person(client, "Yes")
        duplicate, _ = factories.person(client, "No")
        for who, status in ((survivor, "opt_in"), (duplicate, "opt_out")):
            recorded = client.put(f"/v1/customers/{who['id']}/consent/email", json={
                "status": status, "source": "web form", "wording": "Send me news"})
            assert recorded.status_code == 200, recorded.text
        before = [client.get(f"/v1/customers/{c['id']}").json() for c in (survivor, duplicate)]

        refused = client.post(f"/v1/customers/{survivor['id']}/merge", json={"duplicate_ids": [duplicate["id"]]})
        assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
        assert "email" in refused.json()["detail"] and refused.json()["errors"][0]["field"] == "consent.email"
        opted_in = client.post(f"/v1/customers/{survivor['id']}/merge",
                               json={"duplicate_ids": [duplicate["id"]], "consent": {"email": "opt_in"}})
        assert opted_in.status_code == 422, opted_in.text
        assert [client.get(f"/v1/customers/{c['id']}").json() for c in (survivor, duplicate)] == before
        assert client.get(f"/v1/customers/{survivor['id']}/provenance").json()["fields"]["region"]["rule"] == "direct"

        resolved = client.post(f"/v1/customers/{survivor['id']}/merge",
                               json={"duplicate_ids": [duplicate["id"]], "consent": {"email": "opt_out"}})
        assert resolved.status_code == 200, resolved.text
        channels = {c["channel"]: c for c in client.get(f"/v1/customers/{survivor['id']}/consent").json()["channels"]}
        assert channels["email"]["status"] == "opt_out" and channels["email"]["source"].startswith("merge ")


def test_merges_that_make_no_sense_are_refused(system: System) -> None:
    with system.client() as client:
        person, _ = factories.person(client, "Solo")
        other, _ = factories.person(client, "Other")
        organization, _ = factories.organization(client, "Org")
        gone, _ = factories.person(client, "Gone")
        assert client.delete(f"/v1/customers/{gone['id']}").status_code == 204
        for duplicates in ([person["id"]], [organization["id"]], [str(uuid.uuid4())], [gone["id"]], []):
            refused = client.post(f"/v1/customers/{person['id']}/merge", json={"duplicate_ids": duplicates})
            assert refused.status_code == 422, (duplicates, refused.text)
        assert client.post(f"/v1/customers/{person['id']}/merge",
                           json={"duplicate_ids": [other["id"]]}).status_code == 200
        again = client.post(f"/v1/customers/{organization['id']}/merge",
                            json={"duplicate_ids": [other["id"]]})
        assert again.status_code == 422  # already merged (and of another kind)
        twice = client.post(f"/v1/customers/{str(uuid.uuid4())}/merge", json={"duplicate_ids": [person["id"]]})
        assert twice.status_code == 404
        into_merged = client.post(f"/v1/customers/{other['id']}/merge", json={"duplicate_ids": [person["id"]]})
        assert into_merged.status_code == 409
        reader = system.client(client.tenant, scopes=("customers:read",))  # type: ignore[attr-defined]
        with reader as read_only:
            assert read_only.post(f"/v1/customers/{person['id']}/unmerge").status_code == 403


def test_duplicates_are_found_on_write_and_on_demand_and_disappear_once_merged(system: System) -> None:
    address = {"line1": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}
    with system.client() as client:
        first, _ = factories.person(client, "Ada", family_name="Lovelace", addresses=[address])
        same_mail = client.post("/v1/customers", json={"kind": "person", "given_name": "Augusta", "family_name": "King",
                                                       "emails": [{"address": "ADA@example.com"}]})
        assert same_mail.status_code == 201
        assert same_mail.headers["CRM-Possible-Duplicates"] == first["id"]  # detected on write
        similar, _ = factories.person(client, "Àda", family_name="Lovelace ",
                                      emails=[{"address": "countess@example.org"}], addresses=[address])
        unrelated, _ = factories.person(client, "Charles", family_name="Babbage")

        pairs = client.get("/v1/customers/duplicates").json()["items"]
        by_ids = {frozenset(p["customer_ids"]): p for p in pairs}
        mail_pair = by_ids[frozenset({first["id"], same_mail.json()["id"]})]
        assert mail_pair["score"] == 0.9 and mail_pair["reasons"] == ["same e-mail address"]
        name_pair = by_ids[frozenset({first["id"], similar["id"]})]
        assert "similar name and same address" in name_pair["reasons"]
        assert all(unrelated["id"] not in p["customer_ids"] for p in pairs)
        assert [p["score"] for p in pairs] == sorted((p["score"] for p in pairs), reverse=True)
        mine = client.get("/v1/customers/duplicates", params={"customer_id": similar["id"]}).json()["items"]
        assert [set(p["customer_ids"]) for p in mine] == [{first["id"], similar["id"]}]

        merged = client.post(f"/v1/customers/{first['id']}/merge",
                             json={"duplicate_ids": [same_mail.json()["id"], similar["id"]],
                                   "fields": {"given_name": first["id"], "family_name": first["id"]}})
        assert merged.status_code == 200, merged.text
        assert client.get("/v1/customers/duplicates").json()["items"] == []
