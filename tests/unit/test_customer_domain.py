"""Rules of the customer master and of the unified view, tested without a database."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from services.customer import domain
from shared.envelope import CloudEvent
from shared.errors import InvalidInput

PERSON = {"kind": "person", "given_name": "Ada", "family_name": "Lovelace"}


def test_person_needs_both_names() -> None:
    with pytest.raises(InvalidInput) as raised:
        domain.new_customer({"kind": "person", "given_name": "Ada"})
    assert raised.value.errors == [{"field": "family_name", "message": "required for a person"}]


def test_organization_needs_its_name() -> None:
    with pytest.raises(InvalidInput):
        domain.new_customer({"kind": "organization", "given_name": "Ada"})
    state = domain.new_customer({"kind": "organization", "organization_name": "Babbage & Co"})
    assert domain.display_name(state) == "Babbage & Co"


def test_first_contact_point_becomes_primary_and_repeats_are_dropped() -> None:
    state = domain.new_customer(PERSON | {"emails": [{"address": "Ada@Example.com"}, {"address": "ada@example.com"},
                                                     {"address": "ada@work.example"}]})
    assert state["emails"] == [{"address": "Ada@Example.com", "primary": True},
                               {"address": "ada@work.example", "primary": False}]


def test_change_reports_only_real_changes() -> None:
    current = domain.new_customer(PERSON | {"region": "London"})
    updated, diff = domain.change_customer(current, {"region": "London", "family_name": "King"})
    assert diff == {"family_name": {"old": "Lovelace", "new": "King"}}
    assert domain.display_name(updated) == "Ada King"


def test_clearing_a_required_name_is_refused() -> None:
    with pytest.raises(InvalidInput):
        domain.change_customer(domain.new_customer(PERSON), {"family_name": None})


def _event(event_type: str, data: dict, sequence: int = 1, subject: str | None = None) -> CloudEvent:  # type: ignore[type-arg]
    return CloudEvent(id=str(uuid.uuid4()), source=f"/crm/{event_type.split('.')[1]}", type=event_type,
                      subject=subject or str(uuid.uuid4()), time=datetime.now(timezone.utc), data=data,
                      tenant="t", sequence=sequence)


def _opportunity(status: str, amount: str, currency: str = "EUR") -> domain.Fact:
    event = _event("crm.sales.opportunity.updated.v1", {
        "opportunity_id": str(uuid.uuid4()), "status": status, "stage": "proposal",
        "amount": {"amount": amount, "currency": currency}})
    fact = domain.fact_from_event(event)
    assert fact is not None
    return fact


def test_pipeline_kpis_count_open_value_per_currency_and_outcomes() -> None:
    facts = [_opportunity("open", "10.50"), _opportunity("open", "1.50"), _opportunity("open", "7", "USD"),
             _opportunity("won", "100"), _opportunity("lost", "3")]
    kpis = domain.compute_kpis(facts)
    assert kpis["open_opportunities"] == 3
    assert kpis["open_pipeline_value"] == [{"amount": "12.00", "currency": "EUR"}, {"amount": "7", "currency": "USD"}]
    assert (kpis["won_deals"], kpis["lost_deals"]) == (1, 1)


def test_solved_and_closed_tickets_are_not_open() -> None:
    facts = [domain.fact_from_event(_event("crm.service_desk.ticket.created.v1",
                                           {"ticket_id": str(i), "status": status, "priority": "normal"}))
             for i, status in enumerate(["new", "open", "pending", "solved", "closed"])]
    assert domain.compute_kpis([f for f in facts if f])["open_tickets"] == 3


def test_campaigns_count_distinct_campaigns_without_removed_members() -> None:
    customer = str(uuid.uuid4())
    facts = [domain.fact_from_event(_event(f"crm.campaign.member.{action}.v1",
                                           {"campaign_id": campaign, "status": status}, subject=customer))
             for campaign, action, status in (("c1", "added", "member"), ("c2", "removed", "removed"),
                                              ("c3", "added", "member"))]
    assert domain.compute_kpis([f for f in facts if f])["campaigns"] == 2


def test_events_about_no_customer_make_no_fact() -> None:
    assert domain.fact_from_event(_event("crm.campaign.campaign.created.v1", {"campaign": {}})) is None


def test_facts_only_move_forward() -> None:
    assert domain.is_newer(5, None)
    assert domain.is_newer(6, 5)
    assert not domain.is_newer(5, 5)
    assert not domain.is_newer(4, 5)
