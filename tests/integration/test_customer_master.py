"""The customer master through the gateway, on SQLite and PostgreSQL: the full model, search,
custom fields, masking, bulk import, seeding, classification and consent."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.support.system import REPO, System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

ACME = {"kind": "organization", "organization_name": "Ångström Holding AG", "country": "SE", "region": "EMEA",
        "industry": "manufacturing", "employees": 1200, "annual_revenue": {"amount": "5000000.00", "currency": "EUR"},
        "preferred_language": "sv-se", "preferred_currency": "SEK", "owner": "rep-01", "tags": ["Key-Account"],
        "credit_limit": {"amount": "250000", "currency": "EUR"},
        "addresses": [{"line1": "Storgatan 1", "city": "Stockholm", "postal_code": "111 22", "country": "SE"}],
        "emails": [{"address": "info@angstrom.example"}], "phones": [{"number": "+46 8 123 456 78"}]}


def _events(system: System, tenant: str, event_type: str) -> list[dict[str, Any]]:
    rows = system.sql("customer", "SELECT data FROM outbox WHERE tenant_id = :t AND type = :y ORDER BY sequence",
                      t=tenant, y=event_type)
    return [r[0] if isinstance(r[0], dict) else json.loads(r[0]) for r in rows]


def _names(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [c["display_name"] for c in response.json()["items"]]


def test_full_customer_is_kept_and_changes_are_published_precisely(system: System) -> None:
    with system.client() as client:
        created = client.post("/v1/customers", json=ACME)
        assert created.status_code == 201, created.text
        acme = created.json()
        assert acme["preferred_language"] == "sv-SE" and acme["tags"] == ["key-account"]
        assert acme["credit_limit"] == {"amount": "250000.00", "currency": "EUR"}
        assert acme["addresses"][0]["primary"] is True and acme["phones"][0]["number"] == "+46812345678"
        url = f"/v1/customers/{acme['id']}"
        changed = client.patch(url, json={"employees": 1500, "tags": ["key-account", "partner"]},
                               headers={"If-Match": '"1"'})
        assert changed.status_code == 200 and changed.json()["version"] == 2
        updated = _events(system, client.tenant, "crm.customer.updated.v1")  # type: ignore[attr-defined]
        assert updated[-1]["changes"] == {"employees": {"old": 1200, "new": 1500},
                                          "tags": {"old": ["key-account"], "new": ["key-account", "partner"]}}
        assert updated[-1]["customer"]["employees"] == 1500
        assert client.get(url).json() == changed.json()


def test_hierarchy_refuses_cycles_and_person_parents(system: System) -> None:
    with system.client() as client:
        group = client.post("/v1/customers", json={"kind": "organization", "organization_name": "Group"}).json()
        sub = client.post("/v1/customers", json={"kind": "organization", "organization_name": "Sub",
                                                 "parent_id": group["id"]}).json()
        subsub = client.post("/v1/customers", json={"kind": "organization", "organization_name": "SubSub",
                                                    "parent_id": sub["id"]}).json()
        cycle = client.patch(f"/v1/customers/{group['id']}", json={"parent_id": subsub["id"]})
        assert cycle.status_code == 422 and cycle.json()["errors"][0]["field"] == "parent_id"
        person = client.post("/v1/customers", json={"kind": "person", "given_name": "Ada", "family_name": "L",
                                                    "organization_id": sub["id"], "organization_role": "CFO"}).json()
        assert person["organization_role"] == "CFO"
        refused = client.post("/v1/customers", json={"kind": "organization", "organization_name": "X",
                                                     "parent_id": person["id"]})
        assert refused.status_code == 422
        tree = client.get(f"/v1/customers/{group['id']}/hierarchy").json()
        assert [d["display_name"] for d in tree["descendants"]] == ["Sub", "SubSub"]
        assert [a["display_name"] for a in client.get(f"/v1/customers/{subsub['id']}/hierarchy").json()["ancestors"]] == [
            "Sub", "Group"]
        assert _names(client.get("/v1/customers", params={"organization_id": sub["id"]})) == ["Ada L"]
        assert client.delete(f"/v1/customers/{sub['id']}").status_code == 409


def test_custom_fields_are_declared_per_tenant_and_checked_on_write(system: System) -> None:
    with system.client() as client:
        assert client.put("/v1/custom-fields/segment", json={"type": "choice", "choices": ["gold", "silver"]}).status_code == 200
        assert client.put("/v1/custom-fields/since", json={"type": "date", "label": "Customer since"}).status_code == 200
        bad = client.post("/v1/customers", json=ACME | {"custom_fields": {"segment": "bronze", "colour": "red"}})
        assert bad.status_code == 422
        assert {e["field"] for e in bad.json()["errors"]} == {"custom_fields.segment", "custom_fields.colour"}
        good = client.post("/v1/customers", json=ACME | {"custom_fields": {"segment": "gold", "since": "2020-02-29"}})
        assert good.status_code == 201 and good.json()["custom_fields"] == {"segment": "gold", "since": "2020-02-29"}
        assert [f["name"] for f in client.get("/v1/custom-fields").json()] == ["segment", "since"]
    with system.client() as other:
        assert other.get("/v1/custom-fields").json() == []


def test_search_filters_sorts_and_pages_on_every_backend(system: System) -> None:
    people = [("Émile", "Zola", "+33 1 23 45 67 89", ["writer"]), ("Emma", "Watson", "+44 20 7946 0000", []),
              ("Zoë", "Émond", "+49 30 1234567", ["writer", "vip"]), ("Ada", "Lovelace", "+44 20 7946 0001", [])]
    with system.client() as client:
        org = client.post("/v1/customers", json={"kind": "organization", "organization_name": "Émeraude SA",
                                                 "country": "FR", "industry": "retail", "owner": "rep-07"}).json()
        before = client.get("/v1/customers").json()["items"][0]["created_at"]
        time.sleep(0.01)
        for given, family, phone, tags in people:
            created = client.post("/v1/customers", json={
                "kind": "person", "given_name": given, "family_name": family, "tags": tags,
                "emails": [{"address": f"{family.lower()}@example.com"}], "phones": [{"number": phone}],
                "country": phone[1:3] == "33" and "FR" or "GB", "owner": "rep-07"})
            assert created.status_code == 201, created.text
        assert _names(client.get("/v1/customers", params={"name": "em", "sort": "display_name"})) == [
            "Émeraude SA", "Émile Zola", "Emma Watson"]
        assert _names(client.get("/v1/customers", params={"name_contains": "EMON"})) == ["Zoë Émond"]
        assert _names(client.get("/v1/customers", params={"name_contains": "ZOLÀ"})) == ["Émile Zola"]
        assert _names(client.get("/v1/customers", params={"email": "WATSON@example.com"})) == ["Emma Watson"]
        assert _names(client.get("/v1/customers", params={"phone": "0049 30 123-4567"})) == ["Zoë Émond"]
        assert _names(client.get("/v1/customers", params={"tag": "Writer", "sort": "-display_name"})) == [
            "Zoë Émond", "Émile Zola"]
        assert _names(client.get("/v1/customers", params={"country": "FR", "kind": "organization"})) == ["Émeraude SA"]
        assert _names(client.get("/v1/customers", params={"industry": "retail", "owner": "rep-07"})) == ["Émeraude SA"]
        assert _names(client.get("/v1/customers", params={"created_after": before, "sort": "created_at"}))[0] == "Émeraude SA"
        assert len(_names(client.get("/v1/customers", params={"created_before": before}))) == 0
        assert client.get("/v1/customers", params={"sort": "shoe_size"}).status_code == 422
        for order in ("display_name", "-display_name", "-created_at", "updated_at"):
            everyone = [c["id"] for c in client.get("/v1/customers", params={"sort": order}).json()["items"]]
            walked: list[str] = []
            cursor = None
            while True:
                page = client.get("/v1/customers", params={"sort": order, "limit": 2} | ({"cursor": cursor} if cursor else {}))
                assert page.status_code == 200, page.text
                walked += [c["id"] for c in page.json()["items"]]
                cursor = page.json()["next_cursor"]
                if cursor is None:
                    break
            assert walked == everyone and len(walked) == 5, order
        first = client.get("/v1/customers", params={"sort": "display_name", "limit": 1}).json()["next_cursor"]
        assert client.get("/v1/customers", params={"sort": "-created_at", "cursor": first}).status_code == 400
        assert org["id"] in [c["id"] for c in client.get("/v1/customers", params={"name": "EMER"}).json()["items"]]


def test_personal_fields_need_the_pii_scope(system: System) -> None:
    with system.client() as writer:
        person = writer.post("/v1/customers", json={"kind": "person", "given_name": "Grace", "family_name": "Hopper",
                                                    "emails": [{"address": "grace@navy.example"}]}).json()
        assert person["emails"][0]["address"] == "grace@navy.example" and person["pii_masked"] is False
        tenant = writer.tenant  # type: ignore[attr-defined]
    with system.client(tenant, scopes=("customers:read",)) as reader:
        seen = reader.get(f"/v1/customers/{person['id']}").json()
        assert seen["pii_masked"] is True and seen["display_name"] == "G*** H***"
        assert seen["emails"][0]["address"] == "g***@navy.example"
        assert reader.get("/v1/customers", params={"email": "grace@navy.example"}).status_code == 403
    with system.client(tenant, scopes=("customers:read", "customers:pii")) as trusted:
        assert trusted.get(f"/v1/customers/{person['id']}").json()["given_name"] == "Grace"


CSV = """external_id,kind,given_name,family_name,organization_name,emails,phones,tags,address_line1,address_city,address_country,credit_limit_amount,credit_limit_currency
crm-1,person,Ada,Lovelace,,ada@example.com;ada@work.example,+44 20 1234 5678,vip,"1 Main St
Flat 2",London,GB,100.00,GBP
crm-2,organization,,,"Babbage, Ltd",,,,,,,,
crm-3,person,Bad,,,not-an-email,,,,,,,
crm-4,robot,,,,,,,,,,,
"""


def test_csv_import_reports_rows_by_line_and_a_rerun_creates_nothing(system: System) -> None:
    with system.client() as client:
        first = client.post("/v1/customers/import", content=CSV.encode(), headers={"Content-Type": "text/csv"})
        assert first.status_code == 200, first.text
        report = first.json()
        assert (report["created"], report["existing"], report["failed"]) == (2, 0, 2)
        assert [(e["line"], e["external_id"]) for e in report["errors"]] == [(5, "crm-3"), (6, "crm-4")]
        again = client.post("/v1/customers/import", content=CSV.encode(), headers={"Content-Type": "text/csv"}).json()
        assert (again["created"], again["existing"], again["failed"]) == (0, 2, 2)
        tenant = client.tenant  # type: ignore[attr-defined]
        assert system.sql("customer", "SELECT count(*) FROM customers WHERE tenant_id = :t", t=tenant) == [(2,)]
        created = _events(system, tenant, "crm.customer.created.v1")
        assert sorted(e["customer"]["external_id"] for e in created) == ["crm-1", "crm-2"]
        ada = _names(client.get("/v1/customers", params={"email": "ADA@work.example"}))
        assert ada == ["Ada Lovelace"]
        ada_id = client.get("/v1/customers", params={"external_id": "crm-1"}).json()["items"][0]["id"]

        def view() -> dict[str, Any] | None:
            response = client.get(f"/v1/customers/{ada_id}/view")
            return response.json() if response.status_code == 200 else None

        # The imported customer's event went through the outbox and Kafka into the unified view.
        assert eventually(view, timeout=30, what="the imported customer's view")["profile"]["display_name"] == "Ada Lovelace"


def test_ndjson_import_checks_every_row_like_the_api(system: System) -> None:
    rows = [{"external_id": "n-1", "kind": "person", "given_name": "Grace", "family_name": "Hopper"},
            "{not json", [1, 2],
            {"external_id": "n-2", "kind": "organization", "organization_name": "Navy", "parent_id": str(uuid.uuid4())},
            {"kind": "person", "given_name": "No", "family_name": "Id"}]
    body = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows)
    with system.client() as client:
        report = client.post("/v1/customers/import", content=body.encode(),
                             headers={"Content-Type": "application/x-ndjson"}).json()
        assert (report["created"], report["failed"]) == (1, 4)
        assert [(e["line"], e["errors"][0]["field"]) for e in report["errors"]] == [
            (2, "row"), (3, "row"), (4, "parent_id"), (5, "external_id")]
        assert client.post("/v1/customers/import", content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415


def test_one_import_file_carries_a_whole_group_linked_by_external_id(system: System) -> None:
    with system.client() as client:
        holding = client.post("/v1/customers", json={"kind": "organization", "organization_name": "Holding",
                                                     "external_id": "erp-holding"}).json()
        rows = [
            {"external_id": "erp-sub", "kind": "organization", "organization_name": "Subsidiary",
             "parent_external_id": "erp-holding"},  # an existing customer
            {"external_id": "erp-plant", "kind": "organization", "organization_name": "Plant",
             "parent_external_id": "erp-sub"},  # an earlier row of this file
            {"external_id": "erp-ann", "kind": "person", "given_name": "Ann", "family_name": "Buyer",
             "organization_external_id": "erp-plant", "organization_role": "buyer"},
            {"external_id": "erp-early", "kind": "person", "given_name": "Too", "family_name": "Early",
             "organization_external_id": "erp-later"},  # comes later: refused
            {"external_id": "erp-both", "kind": "organization", "organization_name": "Both",
             "parent_id": holding["id"], "parent_external_id": "erp-holding"},
            {"external_id": "erp-odd", "kind": "organization", "organization_name": "Odd",
             "parent_external_id": "erp-ann"},  # a person cannot be a parent
            {"external_id": "erp-later", "kind": "organization", "organization_name": "Later"},
        ]
        body = "\n".join(json.dumps(r) for r in rows)
        report = client.post("/v1/customers/import", content=body.encode(),
                             headers={"Content-Type": "application/x-ndjson"}).json()
        assert (report["created"], report["failed"]) == (4, 3), report
        assert [(e["line"], e["errors"][0]["field"]) for e in report["errors"]] == [
            (4, "organization_external_id"), (5, "parent_id"), (6, "parent_id")]
        tree = client.get(f"/v1/customers/{holding['id']}/hierarchy").json()
        assert sorted(d["display_name"] for d in tree["descendants"]) == ["Plant", "Subsidiary"]
        plant = next(d for d in tree["descendants"] if d["display_name"] == "Plant")
        subsidiary = next(d for d in tree["descendants"] if d["display_name"] == "Subsidiary")
        assert (plant["parent_id"], subsidiary["parent_id"]) == (subsidiary["id"], holding["id"])
        staff = client.get("/v1/customers", params={"organization_id": plant["id"]}).json()["items"]
        assert [(p["display_name"], p["organization_role"]) for p in staff] == [("Ann Buyer", "buyer")]


def test_import_matches_duplicates_instead_of_creating_when_asked(system: System) -> None:
    with system.client() as client:
        known = client.post("/v1/customers", json={"kind": "person", "given_name": "Linus", "family_name": "T",
                                                    "emails": [{"address": "Linus@Kernel.example"}]})
        assert known.status_code == 201, known.text
        rows = [
            {"external_id": "m-1", "kind": "person", "given_name": "L.", "family_name": "Torvalds",
             "emails": [{"address": "linus@kernel.example "}]},  # the known customer, other case and spacing
            {"external_id": "m-2", "kind": "person", "given_name": "Ken", "family_name": "T",
             "phones": [{"number": "+1 555 0100"}]},  # new
            {"external_id": "m-3", "kind": "person", "given_name": "Kenneth", "family_name": "Thompson",
             "phones": [{"number": "+1 (555) 0100"}]},  # an earlier row of the same file
            {"external_id": "m-4", "kind": "person", "given_name": "Dennis", "family_name": "R"},  # new
        ]
        body = "\n".join(json.dumps(r) for r in rows).encode()
        headers = {"Content-Type": "application/x-ndjson"}
        report = client.post("/v1/customers/import", params={"on_duplicate": "match"}, content=body,
                             headers=headers).json()
        assert (report["created"], report["matched"], report["failed"]) == (2, 2, 0), report
        ken = client.get("/v1/customers", params={"external_id": "m-2"}).json()["items"][0]["id"]
        assert [(m["line"], m["customer_id"], m["reasons"]) for m in report["matches"]] == [
            (1, known.json()["id"], ["same e-mail address"]), (3, ken, ["same phone number"])]
        tenant = client.tenant  # type: ignore[attr-defined]
        assert system.sql("customer", "SELECT count(*) FROM customers WHERE tenant_id = :t", t=tenant) == [(3,)]
        # The existing record was not overwritten by the matched row.
        assert client.get(f"/v1/customers/{known.json()['id']}").json()["family_name"] == "T"
        # Without the option the same file creates every new external id, duplicates included.
        plain = client.post("/v1/customers/import", content=body, headers=headers).json()
        assert (plain["created"], plain["existing"], plain["matched"]) == (2, 2, 0), plain
        bad = client.post("/v1/customers/import", params={"on_duplicate": "merge"}, content=body, headers=headers)
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


def _crm(system: System, *args: str) -> subprocess.CompletedProcess[str]:
    env = system.environment()
    return subprocess.run([sys.executable, "-m", "crm.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def _comparable(export: str) -> list[dict[str, Any]]:
    # Ids within one millisecond are not ordered, so rows are compared in external-id order.
    rows = sorted((json.loads(line) for line in export.splitlines()), key=lambda r: r["external_id"])
    return [{k: v for k, v in row.items() if k not in ("id", "parent_id", "organization_id")} for row in rows]


def test_seed_is_deterministic_and_export_round_trips_through_import(system: System, tmp_path: Any) -> None:
    first, second, copy = (f"seed-{uuid.uuid4().hex[:8]}" for _ in range(3))
    for tenant in (first, second, first):
        done = _crm(system, "seed", "--tenant", tenant, "--customers", "120", "--seed", "42")
        assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["existing"] == 120  # seeding again creates nothing
    exports = [_crm(system, "export", "--tenant", t).stdout for t in (first, second)]
    assert len(exports[0].splitlines()) == 120 and _comparable(exports[0]) == _comparable(exports[1])
    kinds = {row["kind"] for row in _comparable(exports[0])}
    assert kinds == {"person", "organization"}
    path = tmp_path / "customers.csv"
    assert _crm(system, "export", "--tenant", first, "--format", "csv", "--output", str(path)).returncode == 0
    imported = _crm(system, "import", str(path), "--tenant", copy)
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["created"] == 120
    # The seeded groups survive the trip: the export names links by external id, the import resolves them.
    links = "SELECT count(parent_id), count(organization_id) FROM customers WHERE tenant_id = :t"
    seeded, copied = system.sql("customer", links, t=first), system.sql("customer", links, t=copy)
    assert seeded == copied and seeded[0][0] > 0 and seeded[0][1] > 0
    assert system.sql("customer", "SELECT count(*) FROM outbox WHERE tenant_id = :t AND type = 'crm.customer.created.v1'",
                      t=copy) == [(120,)]


def test_classification_rules_reclassify_and_publish(system: System) -> None:
    with system.client() as client:
        big = client.post("/v1/customers", json={"kind": "organization", "organization_name": "Big", "employees": 5000,
                                                 "lifetime_value": {"amount": "900.00", "currency": "EUR"}}).json()
        small = client.post("/v1/customers", json={"kind": "organization", "organization_name": "Small", "employees": 5,
                                                   "lifetime_value": {"amount": "10.00", "currency": "EUR"}}).json()
        for n in range(8):
            client.post("/v1/customers", json={"kind": "person", "given_name": f"P{n}", "family_name": "X"})
        put = client.put("/v1/classification", json={"rules": [
            {"group": "large enterprise", "when": [{"field": "employees", "op": "gte", "value": 1000}]},
            {"group": "sme", "when": [{"field": "kind", "op": "eq", "value": "organization"}]}],
            "default_group": "individual"})
        assert put.status_code == 200, put.text
        result = put.json()
        assert result["reclassified"] == 10
        distribution = {(d["customer_group"], d["value_tier"]): d["customers"] for d in result["distribution"]}
        assert distribution == {("large enterprise", "A"): 1, ("sme", "A"): 1, ("individual", "C"): 8}
        assert client.get(f"/v1/customers/{big['id']}").json()["customer_group"] == "large enterprise"
        assert _names(client.get("/v1/customers", params={"customer_group": "sme"})) == ["Small"]
        classified = _events(system, client.tenant, "crm.customer.classified.v1")  # type: ignore[attr-defined]
        assert {e["customer_id"] for e in classified} >= {big["id"], small["id"]}
        shrunk = client.patch(f"/v1/customers/{big['id']}", json={"employees": 10}).json()
        assert shrunk["customer_group"] == "sme"
        bad = client.put("/v1/classification", json={"rules": [{"group": "x", "when": [{"field": "nope", "op": "eq"}]}]})
        assert bad.status_code == 422
        assert client.get("/v1/classification").json()["version"] == 1


def test_consent_is_recorded_per_channel_with_history(system: System) -> None:
    with system.client() as client:
        person = client.post("/v1/customers", json={"kind": "person", "given_name": "Ada", "family_name": "L"}).json()
        url = f"/v1/customers/{person['id']}/consent"
        assert {c["channel"]: c["status"] for c in client.get(url).json()["channels"]} == {
            "email": "unknown", "sms": "unknown", "phone": "unknown"}
        assert client.put(f"{url}/email", json={"status": "opt_in", "source": "web form"}).status_code == 422
        assert client.put(f"{url}/email", json={"status": "opt_in", "source": "web form",
                                                "wording": "Send me news by e-mail"}).status_code == 200
        out = client.put(f"{url}/email", json={"status": "opt_out", "source": "unsubscribe link"}).json()
        assert {c["channel"]: c["status"] for c in out["channels"]}["email"] == "opt_out"
        history = client.get(f"{url}/history").json()
        assert [(h["previous_status"], h["status"]) for h in history] == [("unknown", "opt_in"), ("opt_in", "opt_out")]
        assert history[0]["wording"] == "Send me news by e-mail"
        changed = _events(system, client.tenant, "crm.customer.consent_changed.v1")  # type: ignore[attr-defined]
        assert [e["status"] for e in changed] == ["opt_in", "opt_out"]
        # Only a channel is a consent resource: /consent/fax names none.
        assert client.put(f"{url}/fax", json={"status": "opt_in", "source": "x", "wording": "y"}).status_code == 404
