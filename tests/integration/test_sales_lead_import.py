"""The lead import on SQLite and PostgreSQL: a batch decides exactly what the same rows sent one by one
through the create of ``POST /v1/leads`` decide, and no create slips between a batch's check and its write."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.sales.customers.repository import REPLICA
from services.sales.lead_import.rules import Row
from services.sales.lead_import.service import BatchIntake, LeadImporter
from services.sales.leads import service as leads
from services.sales.leads.schemas import LeadCreate, ScoringRulesIn
from services.sales.leads.tables import Lead, LeadHistory
from services.sales.routing import service as routing
from services.sales.routing.schemas import RoutingRuleCreate, TeamCreate
from shared.consumer import Delivery
from shared.db import OutboxRecord, unit_of_work
from shared.errors import InvalidInput
from tests.support.events import cloud_event

TENANT = "acme"
CUSTOMER, UNKNOWN = uuid.UUID(int=7), uuid.UUID(int=8)

# Rows covering every way a row can end: a new lead routed to a member or to its team's queue; a duplicate
# by e-mail (other case), phone (other format) and company domain, of an earlier row or of a stored lead;
# a lead matched to a replicated customer, and one folded into that customer's open lead; a duplicate
# that fills in a phone which a later row is then found by; a named unknown customer; a lead with nothing
# to know it by. Six members' worth of capacity for nine leads: the last go to the queue.
ROWS: list[dict[str, Any]] = [
    {"email": "ada@alpha.example", "phone": "+49 30 1000001", "company": "Alpha", "country": "DE", "employees": 300},
    {"email": "ADA@alpha.example ", "note": "asked again"},
    {"email": "bob@beta.example", "country": "FR", "industry": "software", "source": "event"},
    {"phone": "0049 (30) 1000001", "given_name": "Ada"},
    {"email": "carl@alpha.example", "company": "Alpha GmbH"},
    {"email": "info@customer.example", "country": "AT"},
    {"customer_id": str(CUSTOMER), "note": "called in"},
    {"email": "dora@gmail.com", "employees": 20000, "country": "DE"},
    {"email": "dora@gmail.com", "phone": "+44 20 7000 0001"},
    {"phone": "+44207000 0001", "company": "Dora Ltd"},
    {"customer_id": str(UNKNOWN)},
    {"source": "fair"},
    {"email": "old@stored.example", "industry": "retail"},
    {"email": "eve@epsilon.example", "country": "DE", "industry": "automotive"},
    {"email": "fay@phi.example", "country": "CH"},
    {"email": "gus@gamma.example", "country": "DE", "employees": 45},
    {"email": "hal@eta.example", "country": "US"},
    {"email": "ivy@iota.example", "country": "DE", "employees": 5000},
    {"email": "jon@kappa.example", "country": "SE"},
]


def _set_up(sessions: sessionmaker[Session]) -> None:
    """The same tenant in every database: rules, two teams, a replicated customer and a stored lead."""
    with unit_of_work(sessions) as session:
        leads.replace_scoring_rules(session, TENANT, ScoringRulesIn.model_validate({"rules": [
            {"rule": "fit.big", "field": "employees", "min": 1000, "points": 25},
            {"rule": "fit.dach", "field": "country", "values": ["DE", "AT", "CH"], "points": 10},
            {"rule": "fit.tier_a", "field": "customer_tier", "values": ["A"], "points": 20},
            {"rule": "source.warm", "field": "source", "values": ["event"], "points": 5}]}),
            check_version=lambda version: None)
        routing.create_team(session, TENANT, TeamCreate.model_validate({
            "name": "dach", "strategy": "round_robin", "first_touch_minutes": 60,
            "members": [{"owner": "ann", "capacity": 2}, {"owner": "ben", "capacity": 2},
                        {"owner": "cem", "capacity": 2, "available": False}]}))
        routing.create_team(session, TENANT, TeamCreate.model_validate({
            "name": "world", "strategy": "least_loaded",
            "members": [{"owner": "zoe", "capacity": 3}, {"owner": "yan", "capacity": 1}]}))
        for rule in ({"name": "big DACH", "team": "dach", "position": 10, "countries": ["DE", "AT", "CH"],
                      "employees_min": 1000},
                     {"name": "DACH", "team": "dach", "position": 20, "countries": ["DE", "AT", "CH"], "industries": ["Software", "automotive", "RETAIL"]},
                     {"name": "DACH other", "team": "dach", "position": 30, "countries": ["DE", "AT", "CH"]},
                     {"name": "rest", "team": "world", "position": 99}):
            routing.create_rule(session, TENANT, RoutingRuleCreate.model_validate(rule))
        event = cloud_event(service="customer", event_type="crm.customer.view.updated.v1", subject=str(CUSTOMER),
                            tenant=TENANT, sequence=3, data={"version": 3, "profile": {
                                "kind": "organization", "display_name": "Customer AG", "value_tier": "A",
                                "emails": [{"address": "info@customer.example"}]}})
        REPLICA.apply(session, Delivery(topic="crm.customer_view.v1", key=str(CUSTOMER), event=event))
        leads.create_lead(session, TENANT, LeadCreate.model_validate({"email": "old@stored.example",
                                                                      "source": "web"}))


def _one_by_one(sessions: sessionmaker[Session]) -> list[tuple[str, Any]]:
    """Each row through the API's create, in a transaction of its own; what each row ended as."""
    outcomes: list[tuple[str, Any]] = []
    for fields in ROWS:
        try:
            with unit_of_work(sessions) as session:
                shown = leads.create_lead(session, TENANT, LeadCreate.model_validate({"source": "import"} | fields))
                outcomes.append(("merged", shown.matched_on) if shown.duplicate_of else ("created", None))
        except InvalidInput as refused:
            outcomes.append(("failed", refused.errors))
    return outcomes


def _imported(sessions: sessionmaker[Session], batch_size: int) -> list[tuple[str, Any]]:
    importer = LeadImporter(sessions, TENANT, on_commit=lambda: None, batch_size=batch_size)
    for line, fields in enumerate(ROWS, start=2):
        importer.add(Row(line, fields))
    report = importer.finish()
    merged = {m["line"]: m["matched_on"] for m in report.merged}
    failed = {e["line"]: e["errors"] for e in report.errors}
    return [("merged", merged[line]) if line in merged else ("failed", failed[line]) if line in failed
            else ("created", None) for line in range(2, len(ROWS) + 2)]


def _state(sessions: sessionmaker[Session]) -> dict[str, Any]:
    """Leads, history and events with every generated id and time replaced by the lead's place in order."""
    with sessions() as session:
        events = list(session.scalars(select(OutboxRecord).order_by(OutboxRecord.sequence)))
        order = {row.data["lead_id"]: n for n, row in enumerate(e for e in events if e.type.endswith("created.v1"))}

        def named(value: Any) -> Any:
            return f"lead {order[str(value)]}" if str(value) in order else value

        found = sorted(session.scalars(select(Lead)), key=lambda lead: order[str(lead.id)])
        history = {lead.id: [(h.step, h.action, h.details) for h in session.scalars(
            select(LeadHistory).where(LeadHistory.lead_id == lead.id).order_by(LeadHistory.step))] for lead in found}
        return {
            "leads": [(lead.status, lead.source, lead.email, lead.phone, lead.company, lead.given_name, lead.country,
                       lead.employees, lead.email_key, lead.phone_key, lead.domain_key, lead.score, lead.score_reasons,
                       lead.team, lead.owner, lead.queued_at is not None, lead.first_touch_due_at is not None,
                       lead.customer_id, lead.history_steps, lead.version, history[lead.id]) for lead in found],
            "events": [(e.type, named(e.key), {k: named(v) for k, v in e.data.items()}) for e in events],
        }


@pytest.mark.parametrize("batch_size", [1000, 4])
def test_an_import_decides_what_the_same_rows_one_by_one_decide(
        sales_sessions: sessionmaker[Session], other_sales_sessions: sessionmaker[Session], batch_size: int) -> None:
    _set_up(sales_sessions)
    imported = _imported(sales_sessions, batch_size)
    _set_up(other_sales_sessions)
    assert imported == _one_by_one(other_sales_sessions)
    assert _state(sales_sessions) == _state(other_sales_sessions)
    kinds = imported
    assert kinds.count(("created", None)) == 10 and [o[1] for o in kinds if o[0] == "merged"] == [
        ["email"], ["phone"], ["domain"], ["customer"], ["email"], ["phone"], ["email"]]
    assert [o[1][0]["field"] for o in kinds if o[0] == "failed"] == ["customer_id", "email"]
    state = _state(sales_sessions)
    linked = [lead for lead in state["leads"] if lead[17] == CUSTOMER]
    assert len(linked) == 1 and {"rule": "fit.tier_a", "points": 20} in linked[0][12]
    assert [step[1] for step in linked[0][20]] == ["created", "assigned", "merged"]
    queued = [lead for lead in state["leads"] if lead[15]]
    assert queued and all(lead[14] is None for lead in queued)  # capacity ran out: they wait in their team
    assert {lead[14] for lead in state["leads"]} >= {"ann", "ben", "zoe", "yan"} and "cem" not in {
        lead[14] for lead in state["leads"]}  # cem is unavailable


@pytest.mark.parametrize("sales_sessions", ["postgresql"], indirect=True)
def test_a_create_waits_for_the_import_batch_holding_its_key(sales_sessions: sessionmaker[Session]) -> None:
    """The batch holds the tenant's intake lock from its check to its commit: an API create of a row it
    makes waits, then finds that lead (PostgreSQL's advisory lock; SQLite has one writer at a time)."""
    _set_up(sales_sessions)
    body = LeadCreate.model_validate({"email": "new@lambda.example", "source": "import"})
    answers: list[leads.Shown] = []
    batch_session = sales_sessions()
    try:
        intake = BatchIntake(batch_session, TENANT, [body])
        made = leads.create_lead(batch_session, TENANT, body, intake=intake).lead
        intake.write()

        def create_through_the_api() -> None:
            with unit_of_work(sales_sessions) as session:
                answers.append(leads.create_lead(session, TENANT, LeadCreate.model_validate(
                    {"email": "NEW@lambda.example", "source": "web"})))

        api = threading.Thread(target=create_through_the_api)
        api.start()
        api.join(timeout=1.0)
        assert api.is_alive() and not answers  # waiting for the batch
        batch_session.commit()
    finally:
        batch_session.close()
    api.join(timeout=10)
    assert [(a.duplicate_of, a.matched_on) for a in answers] == [(made.id, ["email"])]
