"""Rules of the customer master and of the unified view; plain Python, tested directly.

Customer state is handled as a plain dict of the profile fields. The view is computed
from *facts* (the latest state of each opportunity, ticket, campaign membership ...)
so a KPI is a pure function of facts: adding one for a new event type means adding
a fact rule and a KPI rule below, nothing else.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shared.envelope import CloudEvent
from shared.errors import InvalidInput

PROFILE_FIELDS: tuple[str, ...] = (
    "kind",
    "given_name",
    "family_name",
    "organization_name",
    "emails",
    "phones",
    "country",
    "region",
)

# --- the customer master ----------------------------------------------------------------


def display_name(state: dict[str, Any]) -> str:
    if state["kind"] == "organization":
        return str(state["organization_name"])
    return f"{state['given_name']} {state['family_name']}"


def check_identity(state: dict[str, Any]) -> None:
    """A person needs a given and a family name; an organization needs its name."""
    if state["kind"] == "person":
        missing = [f for f in ("given_name", "family_name") if not state.get(f)]
    else:
        missing = [] if state.get("organization_name") else ["organization_name"]
    if missing:
        raise InvalidInput(
            f"A {state['kind']} needs {' and '.join(missing)}.",
            errors=[{"field": f, "message": f"required for a {state['kind']}"} for f in missing],
        )


def contact_points(items: list[dict[str, Any]], value_field: str) -> list[dict[str, Any]]:
    """Drop repeats (e-mail case-insensitively) and make exactly one entry primary."""
    seen: set[str] = set()
    unique: list[dict[str, Any]] = []
    for item in items:
        value = str(item[value_field])
        marker = value.lower()
        if marker in seen:
            continue
        seen.add(marker)
        unique.append({value_field: value, "primary": bool(item.get("primary"))})
    if unique and not any(i["primary"] for i in unique):
        unique[0]["primary"] = True
    return unique


def new_customer(fields: dict[str, Any]) -> dict[str, Any]:
    """The state of a customer about to be created, checked and normalised."""
    state = {name: fields.get(name) for name in PROFILE_FIELDS}
    state["emails"] = contact_points(fields.get("emails") or [], "address")
    state["phones"] = contact_points(fields.get("phones") or [], "number")
    check_identity(state)
    return state


def change_customer(current: dict[str, Any], changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply a partial update; returns the new state and ``{field: {old, new}}`` of what really changed."""
    updated = dict(current)
    for name, value in changes.items():
        if name == "emails":
            value = contact_points(value or [], "address")
        elif name == "phones":
            value = contact_points(value or [], "number")
        updated[name] = value
    check_identity(updated)
    diff = {name: {"old": current.get(name), "new": updated[name]} for name in changes if current.get(name) != updated[name]}
    return updated, diff


# --- the unified view -------------------------------------------------------------------


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
