"""Rules of the unified view (facts and KPIs), tested without a database."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from services.customer.domain import view as domain
from shared.envelope import CloudEvent


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
