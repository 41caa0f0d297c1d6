"""The service desk in the whole system, on PostgreSQL, through real Kafka and a real local SMTP
server: a complaint from an enterprise customer and one from a mass-market customer get different SLA
targets from the customer groups the unified view publishes; both are routed to the customer-care queue
and assigned; the mass-market one comes in by e-mail and the agent's reply threads back by References; the
enterprise one misses its one-minute first response, is escalated (priority raised, the agent's manager
mailed) and the unified view counts the open breach; the mass-market customer rates the resolution through
the link the desk mailed, without a login, and the view shows the rating.

The enterprise ticket's one-minute target is not waited out: its creation and history move two minutes back
in the desk's database and a change through the API recomputes its clock, so the worker's check finds it
due at once. It runs on production's backend; every step of it is also proven on SQLite by the use-case
tests (tests/integration/test_desk_*.py) and the tenancy walk."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.service_desk.tickets.tables import Ticket, TicketHistory
from shared.db import make_engine, make_sessions, unit_of_work
from shared.envelope import CloudEvent
from tests import factories
from tests.support.system import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

CLASSIFICATION = {"currency": "EUR", "default_group": "mass market", "value_basis": "won_deals",
                  "rules": [{"group": "enterprise", "when": [{"field": "employees", "op": "gte", "value": 1000}]}]}
ALWAYS_OPEN = {"mon": [{"start": "00:00", "end": "24:00"}], "tue": [{"start": "00:00", "end": "24:00"}],
               "wed": [{"start": "00:00", "end": "24:00"}], "thu": [{"start": "00:00", "end": "24:00"}],
               "fri": [{"start": "00:00", "end": "24:00"}], "sat": [{"start": "00:00", "end": "24:00"}],
               "sun": [{"start": "00:00", "end": "24:00"}]}


def _backdate(system: System, ticket_id: uuid.UUID, by: timedelta) -> None:
    """Move a ticket's creation and the history it has so far ``by`` into the past, in the desk's database."""
    engine = make_engine(system.database_urls["service_desk"])
    try:
        with unit_of_work(make_sessions(engine)) as session:
            ticket = session.get(Ticket, ticket_id)
            assert ticket is not None
            ticket.created_at -= by
            for entry in session.scalars(select(TicketHistory).where(TicketHistory.ticket_id == ticket_id)):
                entry.at -= by
    finally:
        engine.dispose()


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def _setup(client: httpx.Client, manager: str) -> dict[str, Any]:
    """Classification, a 24/7 calendar, the two policies, the complaints queue and its agent."""
    _ok(client.put("/v1/classification", json=CLASSIFICATION))
    calendar = _ok(client.post("/v1/calendars", json={"name": "Always", "time_zone": "UTC",
                                                      "working_hours": ALWAYS_OPEN}), 201)
    enterprise = _ok(client.post("/v1/sla-policies", json={
        "name": "Enterprise", "position": 0, "match": {"customer_groups": ["enterprise"]},
        "calendar_id": calendar["id"], "first_response_minutes": 1, "resolution_minutes": 240, "warning_minutes": 0,
        "escalation": {"raise_priority": True, "notify_manager": True}}), 201)
    mass = _ok(client.post("/v1/sla-policies", json={
        "name": "Mass market", "position": 10, "calendar_id": calendar["id"], "first_response_minutes": 480,
        "resolution_minutes": 4320}), 201)
    queue = _ok(client.post("/v1/queues", json={"name": "Customer care", "position": 0}), 201)
    agent = _ok(client.post("/v1/agents", json={"name": "Alice Agent", "email": "alice@desk.example",
                                                "manager_email": manager, "queue_ids": [queue["id"]],
                                                "capacity": 5}), 201)
    return {"enterprise": enterprise, "mass": mass, "queue": queue, "agent": agent}


def _inbound(client: httpx.Client, sender: str, subject: str, body: str, **headers: str) -> dict[str, Any]:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "support@oneview-crm.local", subject
    message["Message-ID"] = f"<{uuid.uuid4()}@customer.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return _ok(client.post("/v1/tickets/inbound-email", content=message.as_bytes(),
                           headers={"Content-Type": "message/rfc822"}))


def _ticket(client: httpx.Client, ticket_id: str) -> dict[str, Any]:
    return _ok(client.get(f"/v1/tickets/{ticket_id}"))


def _kpis(client: httpx.Client, customer_id: str) -> dict[str, Any]:
    return _ok(client.get(f"/v1/customers/{customer_id}/view"))["kpis"]  # type: ignore[no-any-return]


def _after(due: str, start: datetime) -> timedelta:
    """How long after ``start`` a due time falls, to the second (the clock keeps due times in whole seconds)."""
    return datetime.fromisoformat(due) - start.replace(microsecond=0)


def _timeline(client: httpx.Client, ticket: dict[str, Any]) -> list[str]:
    """The ticket's history as lines (printed: the scenario's timelines, for whoever reads the test output)."""
    entries = _ok(client.get(f"/v1/tickets/{ticket['id']}/history", params={"limit": 500}))["items"]
    start = datetime.fromisoformat(ticket["created_at"])
    return [f"+{(datetime.fromisoformat(e['at']) - start).total_seconds():6.1f}s {e['action']:<13} {e['actor']}: "
            f"{e['details']}" for e in entries]


def test_enterprise_and_mass_market_complaints_get_their_own_targets_escalations_and_view(system: System) -> None:
    if system.backend != "postgresql":
        pytest.skip("the whole-system walk runs on PostgreSQL (the use-case tests cover SQLite)")
    inbox = system.mail.inbox
    with system.client() as client:
        manager = f"boss-{client.tenant}@desk.example"  # type: ignore[attr-defined]
        setup = _setup(client, manager)
        big, big_token = factories.organization(client, "Enterprise Corp", employees=5000,
                                                emails=[{"address": f"it-{client.tenant}@corp.example"}])  # type: ignore[attr-defined]
        small_address = f"mia-{client.tenant}@example.com"  # type: ignore[attr-defined]
        small, small_token = factories.person(client, "Mia", emails=[{"address": small_address}])
        eventually(lambda: _ok(client.get(f"/v1/customers/{big['id']}"))["customer_group"] == "enterprise",
                   timeout=30, what="the enterprise customer to be classified")

        # The enterprise complaint by phone; its one-minute first response starts now.
        enterprise = _ok(client.post("/v1/tickets", headers=big_token, json={
            "customer_id": big["id"], "subject": "Invoice run failed for all 40 sites", "type": "complaint",
            "channel": "phone"}), 201)
        # The customer group reaches the desk's replica through the view topic; the policy follows it.
        enterprise = eventually(lambda: (t := _ticket(client, enterprise["id"]))["sla"] and
                                t["sla"]["policy_id"] == setup["enterprise"]["id"] and t, timeout=30,
                                what="the enterprise policy on the enterprise ticket")
        created = datetime.fromisoformat(enterprise["created_at"])
        assert _after(enterprise["sla"]["first_response_due"], created) == timedelta(minutes=1)
        assert enterprise["queue_id"] == setup["queue"]["id"] and enterprise["assignee_id"] == setup["agent"]["id"]
        # The minute is not waited out: the ticket and its history so far move two minutes back in the desk's
        # database, and a tag (a change, through the API) recomputes the clock from that history: past due.
        _backdate(system, uuid.UUID(enterprise["id"]), timedelta(minutes=2))
        moved = _ok(client.patch(f"/v1/tickets/{enterprise['id']}", json={"tags": ["sites-down"]}))
        assert _after(moved["sla"]["first_response_due"], datetime.fromisoformat(moved["created_at"])) == timedelta(
            minutes=1)
        assert datetime.fromisoformat(moved["sla"]["first_response_due"]) < datetime.now(timezone.utc)

        # The mass-market complaint by e-mail: a new ticket for the sender's customer, routed and assigned.
        eventually(lambda: _ok(client.get(f"/v1/customers/{small['id']}/view", headers=small_token)), timeout=30,
                   what="the mass-market customer's view")
        taken = eventually(lambda: (r := client.post("/v1/tickets/inbound-email", content=_complaint(small_address),
                                                     headers={"Content-Type": "message/rfc822"})).status_code == 200
                           and r.json(), timeout=30, what="the desk to know the sender's address")
        mass = eventually(lambda: (t := _ticket(client, taken["ticket_id"]))["sla"] and t, timeout=30,
                          what="an SLA on the e-mailed ticket")
        assert (mass["channel"], mass["sla"]["policy_id"]) == ("email", setup["mass"]["id"])
        mass = _ok(client.patch(f"/v1/tickets/{mass['id']}", json={"type": "complaint"}))  # triaged
        assert _after(mass["sla"]["first_response_due"], datetime.fromisoformat(mass["created_at"])) == timedelta(
            minutes=480)
        assert mass["assignee_id"] == setup["agent"]["id"]

        # The agent answers the mass-market customer in time; the reply goes out over SMTP, threaded.
        _ok(client.post(f"/v1/tickets/{mass['id']}/comments", json={
            "body": "Sorry about the double charge, the refund is on its way.", "visibility": "public",
            "author_type": "agent", "author_name": "Alice Agent", "agent_id": setup["agent"]["id"]}), 201)
        reply = eventually(lambda: inbox.to(small_address) and inbox.to(small_address)[0], timeout=30,
                           what="the agent's reply at the customer's mailbox")
        assert f"[#{mass['token']}]" in reply["Subject"] and reply["In-Reply-To"]
        answer = _inbound(client, small_address, f"Re: {reply['Subject']}", "Thanks, received.",
                          In_Reply_To=reply["Message-ID"], References=reply["Message-ID"])
        assert answer["ticket_id"] == mass["id"]

        # The enterprise ticket breaches: escalated by its policy, the manager mailed, the view told.
        # (The recompute already shows the state as breached; the check job then reports and escalates it.)
        breached = eventually(lambda: (t := _ticket(client, enterprise["id"]))["priority"] == "high" and t,
                              timeout=30, interval=0.5, what="the enterprise breach to be escalated")
        assert breached["sla"]["state"] == "breached"  # and the priority, normal, raised one step
        notice = eventually(lambda: inbox.to(manager) and inbox.to(manager)[0], timeout=30,
                            what="the escalation notice at the manager's mailbox")
        assert enterprise["token"] in notice["Subject"] or enterprise["token"] in notice.get_content()
        assert _ticket(client, mass["id"])["sla"]["state"] == "ok"
        eventually(lambda: _kpis(client, big["id"])["open_sla_breaches"] == 1, timeout=30,
                   what="the view to count the open breach")
        events = [CloudEvent.model_validate_json(r.value) for r in system.read_topic("crm.service_desk.v1")
                  if r.value is not None and r.key is not None and r.key.decode() == big["id"]]
        kinds = [e.type for e in events if (e.data or {}).get("ticket_id") == enterprise["id"]]
        assert "crm.service_desk.ticket.sla_breached.v1" in kinds and "crm.service_desk.ticket.escalated.v1" in kinds

        # The mass-market ticket is resolved; the customer rates it through the mailed link, without a login.
        _ok(client.patch(f"/v1/tickets/{mass['id']}", json={"status": "resolved"}))
        request = eventually(lambda: [m for m in inbox.to(small_address) if "/satisfaction?" in m.get_content()],
                             timeout=30, what="the satisfaction request")[0]
        link = re.search(r"http://\S+/satisfaction\?\S+", request.get_content())
        assert link is not None
        path = link.group(0).split("://", 1)[1].split("/", 1)[1]
        rated = httpx.post(f"{system.url('gateway')}/{path}", json={"rating": 5, "comment": "Quick and kind."})
        assert rated.status_code == 201, rated.text
        eventually(lambda: _kpis(client, small["id"])["csat_last"] == 5, timeout=30, what="the view to show the rating")
        assert httpx.post(f"{system.url('gateway')}/{path}", json={"rating": 1}).status_code == 409  # one per resolution

        for name, ticket in (("enterprise", breached), ("mass market", mass)):
            print(f"\n{name} complaint {ticket['id']}:\n" + "\n".join(_timeline(client, ticket)))


def _complaint(sender: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"] = sender, "support@oneview-crm.local"
    message["Subject"] = "I was charged twice"
    message["Message-ID"] = f"<{uuid.uuid4()}@customer.example>"
    message.set_content("My card shows two charges for order 1017. Please refund one.")
    return message.as_bytes()
