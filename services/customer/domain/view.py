"""Rules of the unified view: how events become facts, and how facts become KPIs.

The view is computed from *facts* (the latest state of each opportunity, ticket,
campaign membership ...), so a KPI is a pure function of facts: adding one for a new
event type means adding a fact rule and a KPI rule here, nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.envelope import CloudEvent


@dataclass(frozen=True)
class Fact:
    source: str
    entity: str
    entity_id: str
    customer_id: uuid.UUID
    sequence: int
    state: dict[str, Any]


def _opportunity(event: CloudEvent) -> Fact:
    data = event.data
    return _fact(event, "opportunity", data["opportunity_id"], {
        "status": data["status"],
        "stage": data["stage"],
        "amount": data["amount"]["amount"],
        "currency": data["amount"]["currency"],
    })


def _ticket(event: CloudEvent) -> Fact:
    data = event.data
    return _fact(event, "ticket", data["ticket_id"], {"status": data["status"], "priority": data["priority"]})


def _campaign_member(event: CloudEvent) -> Fact:
    data = event.data
    return _fact(event, "campaign_member", f"{data['campaign_id']}:{event.subject}", {
        "campaign_id": data["campaign_id"],
        "status": data["status"],
    })


def _fact(event: CloudEvent, entity: str, entity_id: str, state: dict[str, Any]) -> Fact:
    return Fact(event.service, entity, str(entity_id), uuid.UUID(event.subject), event.sequence, state)


# Event-type prefix -> how its event becomes a fact. Types not listed carry no customer fact.
FACT_RULES: dict[str, Callable[[CloudEvent], Fact]] = {
    "crm.sales.opportunity.": _opportunity,
    "crm.service_desk.ticket.": _ticket,
    "crm.campaign.member.": _campaign_member,
}


def fact_from_event(event: CloudEvent) -> Fact | None:
    for prefix, rule in FACT_RULES.items():
        if event.type.startswith(prefix):
            return rule(event)
    return None


def _money_totals(facts: list[Fact]) -> list[dict[str, str]]:
    totals: dict[str, Decimal] = {}
    for fact in facts:
        currency = fact.state["currency"]
        totals[currency] = totals.get(currency, Decimal(0)) + Decimal(fact.state["amount"])
    return [{"amount": format(totals[c], "f"), "currency": c} for c in sorted(totals)]


def _of(facts: list[Fact], entity: str) -> list[Fact]:
    return [f for f in facts if f.entity == entity]


def pipeline_kpis(facts: list[Fact]) -> dict[str, Any]:
    opportunities = _of(facts, "opportunity")
    open_ones = [f for f in opportunities if f.state["status"] == "open"]
    return {
        "open_opportunities": len(open_ones),
        "open_pipeline_value": _money_totals(open_ones),
        "won_deals": sum(1 for f in opportunities if f.state["status"] == "won"),
        "lost_deals": sum(1 for f in opportunities if f.state["status"] == "lost"),
    }


CLOSED_TICKET_STATUSES = frozenset({"solved", "closed"})


def service_kpis(facts: list[Fact]) -> dict[str, Any]:
    tickets = _of(facts, "ticket")
    return {"open_tickets": sum(1 for f in tickets if f.state["status"] not in CLOSED_TICKET_STATUSES)}


def campaign_kpis(facts: list[Fact]) -> dict[str, Any]:
    members = [f for f in _of(facts, "campaign_member") if f.state["status"] != "removed"]
    return {"campaigns": len({f.state["campaign_id"] for f in members})}


KPI_RULES: tuple[Callable[[list[Fact]], dict[str, Any]], ...] = (pipeline_kpis, service_kpis, campaign_kpis)


def compute_kpis(facts: list[Fact]) -> dict[str, Any]:
    kpis: dict[str, Any] = {}
    for rule in KPI_RULES:
        kpis.update(rule(facts))
    return kpis


def is_newer(incoming_sequence: int, known_sequence: int | None) -> bool:
    """Facts only move forward: a late or repeated event never overwrites a newer one."""
    return known_sequence is None or incoming_sequence > known_sequence
