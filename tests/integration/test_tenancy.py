"""Tenancy, proven route by route: a second tenant learns nothing of the first and changes nothing.

Every operation of every service's OpenAPI document is called with tenant B's
credentials, once with tenant A's real identifiers (in the path and in the body) and
once with identifiers that exist nowhere. The two answers must be the same status and
problem type, never a success: anything else would tell B that A's record exists. A
list or search B runs must show none of A's identifiers or names. Afterwards every one
of A's records is as it was. New routes are covered as they appear in the documents;
the test fails on an operation it has no way to call, so none is skipped silently.
"""

from __future__ import annotations

import re
import uuid
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from crm.registry import SERVICES
from tests.factories import campaign, opportunity, organization, person, ticket
from tests.support.system import System

pytestmark = pytest.mark.integration

Json = dict[str, Any]
SECRET_NAME = "Zenobia"  # a name only tenant A's records carry
SECRET_FIELD = "zenobia_secret"
# Paths named within the caller's own tenant: B may define a field of the same name as A's (its own),
# as long as it is answered exactly as for any other name and A's stays untouched.
NAMED_PER_TENANT = {"/v1/custom-fields/{name}", "/v1/frequency-caps/{channel}"}


def _world(client: httpx.Client) -> dict[str, str]:
    """Tenant A's records of every kind; returns each path parameter's value."""
    org, _ = organization(client, f"{SECRET_NAME} Holdings")
    who, token = person(client, SECRET_NAME, organization_id=org["id"])
    twin, _ = person(client, f"{SECRET_NAME}twin")
    merged = client.post(f"/v1/customers/{who['id']}/merge", json={"duplicate_ids": [twin["id"]]})
    assert merged.status_code == 200, merged.text
    consent = client.put(f"/v1/customers/{who['id']}/consent/email",
                         json={"status": "opt_in", "source": "web form", "wording": "Send me news"})
    assert consent.status_code == 200, consent.text
    assert client.put(f"/v1/custom-fields/{SECRET_FIELD}", json={"type": "text"}).status_code == 200
    stage = client.post("/v1/pipeline-stages", json={"name": SECRET_FIELD, "probability": 30,
                                                     "forecast_category": "pipeline"})
    assert stage.status_code == 201, stage.text
    deal = opportunity(client, who, token, name=f"{SECRET_NAME} deal", stage=SECRET_FIELD)
    case = ticket(client, who, token, subject=f"{SECRET_NAME} question")
    plan = campaign(client, f"{SECRET_NAME} spring")
    joined = client.post(f"/v1/campaigns/{plan['id']}/members", headers=token, json={"customer_id": who["id"]})
    assert joined.status_code == 201, joined.text
    # An open, not a reply: a reply would make a lead of its own for the customer (sales reads responses).
    answered = client.post(f"/v1/campaigns/{plan['id']}/responses", json={"customer_id": who["id"], "kind": "opened"})
    assert answered.status_code == 201, answered.text
    audience = client.post("/v1/audiences", json={"name": f"{SECRET_NAME} audience", "rules": {
        "all": [{"field": "tags", "op": "contains", "value": SECRET_FIELD}]}})
    assert audience.status_code == 201, audience.text
    rate = client.post("/v1/exchange-rates", json={"base": "USD", "quote": "EUR", "rate": "0.9",
                                                   "valid_from": "2026-01-01"})
    assert rate.status_code == 201, rate.text
    product = client.post("/v1/products", json={"sku": "ZEN-1", "name": f"{SECRET_NAME} chair"})
    assert product.status_code == 201, product.text
    book = client.post("/v1/price-books", json={"name": f"{SECRET_NAME} prices", "currency": "EUR",
                                                "valid_from": "2026-01-01", "entries": [{
                                                    "product_id": product.json()["id"],
                                                    "unit_price": {"amount": "10.00", "currency": "EUR"}}]})
    assert book.status_code == 201, book.text
    team = client.post("/v1/sales-teams", json={"name": "dach", "members": [{"owner": "ann", "capacity": 5}]})
    assert team.status_code == 201, team.text
    rule = client.post("/v1/routing-rules", json={"name": "dach", "team": "dach", "countries": ["DE"]})
    assert rule.status_code == 201, rule.text
    lead = client.post("/v1/leads", json={"email": f"lead@{SECRET_NAME.lower()}-corp.com", "country": "DE",
                                          "company": f"{SECRET_NAME} Corp", "customer_id": who["id"]}, headers=token)
    assert lead.status_code == 201, lead.text
    order = client.post("/v1/orders", headers=token, json={"customer_id": who["id"], "currency": "EUR", "lines": [
        {"product_id": product.json()["id"], "quantity": "2"}]})
    assert order.status_code == 201, order.text
    for step in ("confirm", "ship"):
        moved = client.post(f"/v1/orders/{order.json()['id']}/{step}")
        assert moved.status_code == 200, moved.text
    invoice = client.post("/v1/invoices", json={"order_id": order.json()["id"]})
    assert invoice.status_code == 201, invoice.text
    payment = client.post("/v1/payments", json={"customer_id": who["id"], "amount": {"amount": "5.00", "currency": "EUR"}})
    assert payment.status_code == 201, payment.text
    credit = client.post("/v1/credit-notes", json={"invoice_id": invoice.json()["id"], "amount": "1.00",
                                                   "reason": f"{SECRET_NAME} goodwill"})
    assert credit.status_code == 201, credit.text
    desk = _desk_world(client, who, case)
    desk |= {"ticket_token": case["token"], "customer_email": who["emails"][0]["address"]}
    return desk | {"order_id": order.json()["id"], "invoice_id": invoice.json()["id"], "payment_id": payment.json()["id"],
            "credit_note_id": credit.json()["id"], "lead_id": lead.json()["id"], "team_id": team.json()["id"], "rule_id": rule.json()["id"],
            "product_id": product.json()["id"], "price_book_id": book.json()["id"],
            "customer_id": who["id"], "survivor_id": who["id"], "organization_id": org["id"], "twin_id": twin["id"],
            "opportunity_id": deal["id"], "ticket_id": case["id"], "campaign_id": plan["id"],
            "audience_id": audience.json()["id"],
            "name": SECRET_FIELD, "channel": "email", "rate_id": rate.json()["id"]}


def _desk_world(client: httpx.Client, who: Json, case: Json) -> dict[str, str]:
    """Tenant A's service desk set-up: a calendar, a policy, a queue, an agent, and an e-mailed ticket with an
    attachment."""
    calendar = client.post("/v1/calendars", json={"name": f"{SECRET_NAME} hours", "time_zone": "Europe/Berlin",
                                                  "working_hours": {"mon": [{"start": "09:00", "end": "17:00"}]}})
    assert calendar.status_code == 201, calendar.text
    policy = client.post("/v1/sla-policies", json={"name": f"{SECRET_NAME} policy", "position": 0,
                                                   "calendar_id": calendar.json()["id"], "first_response_minutes": 60})
    assert policy.status_code == 201, policy.text
    queue = client.post("/v1/queues", json={"name": f"{SECRET_NAME} queue"})
    assert queue.status_code == 201, queue.text
    agent = client.post("/v1/agents", json={"name": f"{SECRET_NAME} agent", "email": "agent@zenobia.example",
                                            "queue_ids": [queue.json()["id"]]})
    assert agent.status_code == 201, agent.text
    mailed = client.post("/v1/tickets/inbound-email", content=_message(who["emails"][0]["address"], case),
                         headers={"Content-Type": "message/rfc822"})
    assert mailed.status_code == 200 and mailed.json()["attachments"], mailed.text
    return {"calendar_id": calendar.json()["id"], "policy_id": policy.json()["id"], "queue_id": queue.json()["id"],
            "agent_id": agent.json()["id"], "attachment_id": mailed.json()["attachments"][0]["id"],
            "mailed_ticket_id": mailed.json()["ticket_id"]}


def _message(sender: str, case: Json) -> bytes:
    """A's customer writing about A's ticket, quoting its token, with an attachment."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "support@oneview-crm.local", f"{SECRET_NAME} [#{case['token']}]"
    message["Message-ID"] = f"<{uuid.uuid4()}@zenobia.example>"
    message.set_content(f"{SECRET_NAME} writes again.")
    message.add_attachment(b"%PDF-1.4 zenobia", maintype="application", subtype="pdf", filename="zenobia.pdf")
    return message.as_bytes()


def _ghosts() -> dict[str, str]:
    """The same parameters, naming nothing that exists in any tenant."""
    ghost = {key: str(uuid.uuid4()) for key in ("order_id", "invoice_id", "payment_id", "credit_note_id", "lead_id", "team_id", "rule_id", "product_id", "price_book_id", "customer_id", "rate_id", "survivor_id", "organization_id", "twin_id",
                                                "opportunity_id", "ticket_id", "campaign_id", "audience_id", "calendar_id", "policy_id",
                                                "queue_id", "agent_id", "attachment_id", "mailed_ticket_id")}
    return ghost | {"name": "nobody_has_this_field", "channel": "email"}


def _body(method: str, path: str, ids: dict[str, str]) -> Json | None:
    """A body the route would accept from A, made with ``ids`` (A's or the ghosts')."""
    bodies: dict[tuple[str, str], Json] = {
        ("POST", "/v1/customers"): {"kind": "person", "given_name": "Bea", "family_name": "Other",
                                     "organization_id": ids["organization_id"]},
        ("PATCH", "/v1/customers/{customer_id}"): {"given_name": "Hijacked"},
        ("PUT", "/v1/custom-fields/{name}"): {"type": "text"},
        ("PUT", "/v1/customers/{customer_id}/consent/{channel}"): {"status": "opt_out", "source": "b"},
        ("POST", "/v1/customers/{survivor_id}/merge"): {"duplicate_ids": [ids["twin_id"]]},
        ("POST", "/v1/customers/{survivor_id}/unmerge"): {"duplicate_ids": [ids["twin_id"]]},
        ("POST", "/v1/customers/{customer_id}/erase"): {},
        ("POST", "/v1/leads"): {"email": "bea@b-own-company.com", "customer_id": ids["customer_id"]},
        ("PATCH", "/v1/leads/{lead_id}"): {"industry": "Hijacked"},
        ("POST", "/v1/leads/{lead_id}/qualify"): {},
        ("POST", "/v1/leads/{lead_id}/disqualify"): {"reason": "Hijacked"},
        ("POST", "/v1/leads/{lead_id}/convert"): {},
        ("PUT", "/v1/lead-scoring-rules"): None,  # tenant-wide settings: B's own
        ("POST", "/v1/sales-teams"): {"name": "b-own-team"},
        ("PATCH", "/v1/sales-teams/{team_id}"): {"strategy": "least_loaded"},
        ("POST", "/v1/routing-rules"): {"name": "B's own", "team": "dach"},
        ("PATCH", "/v1/routing-rules/{rule_id}"): {"name": "Hijacked"},
        ("POST", "/v1/opportunities"): {"customer_id": ids["customer_id"], "name": "Poached",
                                         "amount": {"amount": "1.00", "currency": "EUR"}},
        ("PATCH", "/v1/opportunities/{opportunity_id}"): {"name": "Hijacked"},
        ("POST", "/v1/opportunities/{opportunity_id}/reopen"): {"stage": "proposal"},
        ("POST", "/v1/pipeline-stages"): {"name": "b_own_stage", "probability": 5, "forecast_category": "pipeline"},
        ("PATCH", "/v1/pipeline-stages/{name}"): {"label": "Hijacked"},
        ("POST", "/v1/exchange-rates"): {"base": "GBP", "quote": "EUR", "rate": "1.15", "valid_from": "2026-01-01"},
        ("POST", "/v1/tickets"): {"customer_id": ids["customer_id"], "subject": "Poached"},
        ("PATCH", "/v1/tickets/{ticket_id}"): {"subject": "Hijacked"},
        ("POST", "/v1/tickets/{ticket_id}/comments"): {"body": "Hijacked", "author_name": "B"},
        ("POST", "/v1/tickets/{ticket_id}/merge"): {"into": ids["ticket_id"]},
        ("POST", "/v1/tickets/{ticket_id}/satisfaction"): {"rating": 5, "comment": "Hijacked"},
        ("POST", "/v1/calendars"): {"name": "B's hours", "time_zone": "UTC",
                                    "working_hours": {"tue": [{"start": "08:00", "end": "12:00"}]}},
        ("PATCH", "/v1/calendars/{calendar_id}"): {"name": "Hijacked"},
        ("POST", "/v1/sla-policies"): {"name": "B's policy", "position": 0, "calendar_id": ids["calendar_id"],
                                       "first_response_minutes": 5},
        ("PATCH", "/v1/sla-policies/{policy_id}"): {"name": "Hijacked"},
        ("POST", "/v1/queues"): {"name": "B's queue"},
        ("PATCH", "/v1/queues/{queue_id}"): {"name": "Hijacked"},
        ("POST", "/v1/agents"): {"name": "B's agent", "email": "b@b.example", "queue_ids": [ids["queue_id"]]},
        ("PATCH", "/v1/agents/{agent_id}"): {"name": "Hijacked"},
        ("POST", "/v1/campaigns"): {"name": "B's own", "channel": "email", "budget": {"amount": "1", "currency": "EUR"}},
        ("PATCH", "/v1/campaigns/{campaign_id}"): {"name": "Hijacked"},
        ("POST", "/v1/campaigns/{campaign_id}/members"): {"customer_id": ids["customer_id"]},
        ("POST", "/v1/campaigns/{campaign_id}/responses"): {"customer_id": ids["customer_id"], "kind": "opened"},
        ("POST", "/v1/campaigns/{campaign_id}/launch"): None,
        # An alternative over A's audience: refused as for an unknown campaign (and audience).
        ("POST", "/v1/campaigns/{campaign_id}/simulate"): {"plans": [{"name": "B", "audience_id": ids["audience_id"]}]},
        ("POST", "/v1/campaigns/{campaign_id}/costs"): {"amount": {"amount": "1.00", "currency": "EUR"},
                                                         "incurred_on": "2026-12-01", "description": "Hijacked"},
        # B's own audience listing A's customer: refused as for an unknown one.
        ("POST", "/v1/audiences"): {"name": "B's own", "static_customer_ids": [ids["customer_id"]]},
        ("PUT", "/v1/audiences/{audience_id}"): {"name": "Hijacked", "rules": {
            "all": [{"field": "country", "op": "eq", "value": "DE"}]}},
        ("POST", "/v1/audiences/preview"): {"rules": {"all": [{"field": "tags", "op": "contains", "value": SECRET_FIELD}]}},
        # B's own bundle of A's product, B's own book pricing it, B's quote of it: refused as for unknown ids.
        ("POST", "/v1/products"): {"sku": "B-1", "name": "B's own",
                                    "components": [{"product_id": ids["product_id"], "quantity": "1"}]},
        ("PATCH", "/v1/products/{product_id}"): {"name": "Hijacked"},
        ("POST", "/v1/price-books"): {"name": "B's own", "currency": "EUR", "valid_from": "2026-01-01", "entries": [
            {"product_id": ids["product_id"], "unit_price": {"amount": "1.00", "currency": "EUR"}}]},
        ("PATCH", "/v1/price-books/{price_book_id}"): {"name": "Hijacked"},
        ("POST", "/v1/price-books/{price_book_id}/retire"): None,
        ("POST", "/v1/price-quotes"): {"customer_id": ids["customer_id"], "currency": "EUR",
                                        "lines": [{"product_id": ids["product_id"], "quantity": "1"}]},
        ("PUT", "/v1/pricing-policy"): None,  # tenant-wide settings: B's own
        ("PUT", "/v1/sales-policy"): None,  # tenant-wide settings: B's own
        ("PUT", "/v1/loyalty/policy"): None,  # tenant-wide settings: B's own
        ("POST", "/v1/loyalty/accounts/{customer_id}/redemptions"): {"order_id": ids["order_id"], "points": 1},
        ("POST", "/v1/orders"): {"customer_id": ids["customer_id"], "currency": "EUR",
                                  "lines": [{"product_id": ids["product_id"], "quantity": "1"}]},
        ("POST", "/v1/orders/{order_id}/confirm"): None,
        ("POST", "/v1/orders/{order_id}/approve"): None,
        ("POST", "/v1/orders/{order_id}/ship"): None,
        ("POST", "/v1/orders/{order_id}/deliver"): None,
        ("POST", "/v1/orders/{order_id}/cancel"): {"reason": "Hijacked"},
        ("POST", "/v1/orders/{order_id}/returns"): {"lines": [{"line": 0, "quantity": "1"}]},
        ("POST", "/v1/invoices"): {"order_id": ids["order_id"]},
        ("POST", "/v1/invoices/{invoice_id}/write-off"): {"reason": "Hijacked"},
        ("POST", "/v1/payments"): {"customer_id": ids["customer_id"], "amount": {"amount": "1.00", "currency": "EUR"},
                                    "allocations": [{"invoice_id": ids["invoice_id"], "amount": "1.00"}]},
        ("POST", "/v1/credit-notes"): {"invoice_id": ids["invoice_id"], "amount": "1.00", "reason": "Hijacked"},
        ("PUT", "/v1/classification"): None,  # tenant-wide settings: B writes its own (checked below)
        ("POST", "/v1/classification/evaluate"): {},
        ("PUT", "/v1/frequency-caps/{channel}"): {"max_contacts": 1, "period_days": 1},
    }
    if method in ("GET", "DELETE"):
        return None
    if (method, path) not in bodies:
        raise AssertionError(f"no body known for {method} {path}: add one so the route is walked")
    return bodies[(method, path)]


def _query(path: str, ids: dict[str, str]) -> dict[str, str]:
    return {"/v1/campaigns/memberships": {"customer_id": ids["customer_id"]},
            "/v1/customers/duplicates": {"customer_id": ids["customer_id"]},
            "/v1/customers": {"name": SECRET_NAME}, "/v1/forecast": {"currency": "EUR", "group_by": "region"},
            "/v1/profitability": {"from": "2026-01-01", "to": "2026-12-31", "group_by": "owner,category"},
            "/v1/collections": {"customer_id": ids["customer_id"], "as_of": "2099-01-01"},
            }.get(path, {})


def _call(client: httpx.Client, method: str, path: str, ids: dict[str, str]) -> httpx.Response:
    url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
    headers = {"If-Match": '"1"'} if method in ("PATCH", "DELETE") else {}
    if (method, path) == ("POST", "/v1/customers/import"):
        row = b'{"kind": "person", "given_name": "Bea", "family_name": "Other", "external_id": "b-1"}\n'
        return client.post(url, content=row, headers={"Content-Type": "application/x-ndjson"})
    if (method, path) == ("POST", "/v1/tickets/inbound-email"):
        # A's customer's address and A's ticket token: B has no such customer, and A's ticket takes nothing.
        case = {"token": ids.get("ticket_token", "0" * 12)}
        return client.post(url, content=_message(ids.get("customer_email", "nobody@nowhere.example"), case),
                           headers={"Content-Type": "message/rfc822"})
    if (method, path) == ("POST", "/v1/campaigns/bounces"):
        # A bounce for a message B never sent: B learns nothing of A's sends.
        report = (f"From: MAILER-DAEMON@mx.example\r\nSubject: failed\r\n\r\n"
                  f"<send.{uuid.UUID(ids['campaign_id']).hex}@oneview-crm.local> failed\r\n").encode()
        return client.post(url, content=report, headers={"Content-Type": "message/rfc822"})
    if (method, path) == ("POST", "/v1/leads/import"):
        row = f'{{"email": "bea@b-own-company.com", "customer_id": "{ids["customer_id"]}"}}\n'.encode()
        return client.post(url, content=row, headers={"Content-Type": "application/x-ndjson"})
    return client.request(method, url, params=_query(path, ids), json=_body(method, path, ids), headers=headers)


def _problem_type(response: httpx.Response) -> str | None:
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        return str(response.json().get("type"))
    return None


def _operations(system: System) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for service in SERVICES:
        document = httpx.get(system.url(service) + "/openapi.json").json()
        for path, operations in document["paths"].items():
            if path.startswith("/v1/"):
                found += [(method.upper(), path) for method in operations if method in ("get", "post", "put", "patch", "delete")]
    return found


def _snapshot(client: httpx.Client, ids: dict[str, str]) -> dict[str, Any]:
    """What A sees of its own records, to compare before and after B's attempts."""
    reads = [f"/v1/customers/{ids['customer_id']}", f"/v1/customers/{ids['organization_id']}",
             f"/v1/customers/{ids['customer_id']}/consent", f"/v1/customers/{ids['customer_id']}/provenance",
             "/v1/custom-fields", "/v1/classification", f"/v1/opportunities/{ids['opportunity_id']}",
             f"/v1/opportunities/{ids['opportunity_id']}/history", "/v1/pipeline-stages",
             f"/v1/tickets/{ids['ticket_id']}", f"/v1/campaigns/{ids['campaign_id']}",
             f"/v1/audiences/{ids['audience_id']}", f"/v1/audiences/{ids['audience_id']}/preview",
             f"/v1/campaigns/{ids['campaign_id']}/members", f"/v1/products/{ids['product_id']}",
             f"/v1/price-books/{ids['price_book_id']}", f"/v1/campaigns/{ids['campaign_id']}/responses",
             f"/v1/leads/{ids['lead_id']}", f"/v1/leads/{ids['lead_id']}/history", f"/v1/sales-teams/{ids['team_id']}",
             f"/v1/routing-rules/{ids['rule_id']}", f"/v1/orders/{ids['order_id']}",
             f"/v1/orders/{ids['order_id']}/history", f"/v1/invoices/{ids['invoice_id']}",
             f"/v1/payments/{ids['payment_id']}", f"/v1/credit-notes/{ids['credit_note_id']}",
             f"/v1/loyalty/accounts/{ids['customer_id']}", f"/v1/calendars/{ids['calendar_id']}",
             f"/v1/sla-policies/{ids['policy_id']}", f"/v1/queues/{ids['queue_id']}", f"/v1/agents/{ids['agent_id']}",
             f"/v1/tickets/{ids['mailed_ticket_id']}/attachments", f"/v1/tickets/{ids['ticket_id']}/comments"]
    seen: dict[str, Any] = {}
    for path in reads:
        answer = client.get(path)
        assert answer.status_code == 200, f"A cannot read its own {path}: {answer.text}"
        seen[path] = answer.json()
    return seen


def test_a_second_tenant_can_neither_see_nor_touch_the_first_on_any_route(system: System) -> None:
    with system.client() as tenant_a, system.client() as tenant_b:
        ids = _world(tenant_a)
        system.wait_drained()  # A's own events settled: what changes from here on, B changed
        before = _snapshot(tenant_a, ids)
        ghosts = _ghosts()
        secrets = {value for key, value in ids.items() if key not in ("name", "channel")} | {SECRET_NAME, SECRET_FIELD}
        leaks: list[str] = []
        operations = _operations(system)
        assert len(operations) >= 30, f"expected every service's routes, found {operations}"
        for method, path in operations:
            if "customer_id" in _query(path, ids):
                # A list filtered by A's customer: the same (empty) answer as for a customer nobody has.
                real, ghost = _call(tenant_b, method, path, ids), _call(tenant_b, method, path, ghosts)
                if (real.status_code, real.json()) != (ghost.status_code, ghost.json()):
                    leaks.append(f"{method} {path}?customer_id=A's: {real.status_code} {real.text[:200]}")
            elif "{" in path:
                real, ghost = _call(tenant_b, method, path, ids), _call(tenant_b, method, path, ghosts)
                refused = not real.is_success or path in NAMED_PER_TENANT
                if not refused or (real.status_code, _problem_type(real)) != (ghost.status_code, _problem_type(ghost)):
                    leaks.append(f"{method} {path}: A's ids -> {real.status_code} {_problem_type(real)}, "
                                 f"unknown ids -> {ghost.status_code} {_problem_type(ghost)}")
                if method == "GET" and real.is_success and any(secret in real.text for secret in secrets):
                    leaks.append(f"{method} {path}: shows A's data to B")
            else:
                answer = _call(tenant_b, method, path, ids)
                # A write B makes without A's identifiers is B's own business; what it answers must not show A's.
                if method == "POST" and path in ("/v1/opportunities", "/v1/tickets", "/v1/customers", "/v1/products",
                                                        "/v1/price-books", "/v1/price-quotes", "/v1/leads", "/v1/orders",
                                                        "/v1/invoices", "/v1/payments", "/v1/credit-notes",
                                                        "/v1/audiences"):
                    ghost = _call(tenant_b, method, path, ghosts)
                    if (answer.status_code, _problem_type(answer)) != (ghost.status_code, _problem_type(ghost)):
                        leaks.append(f"{method} {path} naming A's customer -> {answer.status_code}, "
                                     f"naming nobody -> {ghost.status_code}")
                # Names only: an id B itself sent may be echoed back in a problem's detail.
                if SECRET_NAME in answer.text or SECRET_FIELD in answer.text:
                    leaks.append(f"{method} {path}: B's answer shows A's data")
        # Searches B runs for A's words find nothing.
        for params in ({"name": SECRET_NAME}, {"name_contains": SECRET_NAME.lower()},
                       {"email": f"{SECRET_NAME.lower()}@example.com"}):
            found = tenant_b.get("/v1/customers", params=params)
            if found.status_code != 200 or found.json()["items"]:
                leaks.append(f"GET /v1/customers?{params}: {found.status_code} {found.text[:200]}")
        assert not leaks, "\n".join(leaks)
        system.wait_drained()
        after = _snapshot(tenant_a, ids)
        assert after == before, "tenant B changed tenant A's records"
