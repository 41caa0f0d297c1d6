"""Rules of the unified view (facts, KPIs, judgements, timeline), tested without a database."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from services.customer.view import rules
from shared.envelope import CloudEvent

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
CUSTOMER = str(uuid.uuid4())


def _event(event_type: str, data: dict, sequence: int = 1, at: datetime = NOW) -> CloudEvent:  # type: ignore[type-arg]
    return CloudEvent(id=str(uuid.uuid4()), source=f"/crm/{event_type.split('.')[1]}", type=event_type,
                      subject=CUSTOMER, time=at, data=data, tenant="t", sequence=sequence)


def _opportunity(status: str, amount: str, currency: str = "EUR", *, probability: int = 50,
                 at: datetime = NOW) -> rules.Fact:
    event = _event("crm.sales.opportunity.updated.v1", {
        "opportunity_id": str(uuid.uuid4()), "name": "Deal", "status": status, "stage": "proposal",
        "probability": probability, "amount": {"amount": amount, "currency": currency}}, at=at)
    fact = rules.fact_from_event(event)
    assert fact is not None
    return fact


def _ticket(status: str, *, ticket_type: str = "question", priority: str = "normal", at: datetime = NOW) -> rules.Fact:
    fact = rules.fact_from_event(_event("crm.service_desk.ticket.created.v1", {
        "ticket_id": str(uuid.uuid4()), "subject": "Help", "status": status, "priority": priority, "type": ticket_type,
        "created_at": at.isoformat()}, at=at))
    assert fact is not None
    return fact


def _member(campaign: str, status: str = "member") -> rules.Fact:
    fact = rules.fact_from_event(_event("crm.campaign.member.added.v1", {"campaign_id": campaign, "status": status}))
    assert fact is not None
    return fact


def test_pipeline_kpis_count_open_value_per_currency_weighted_and_outcomes() -> None:
    facts = [_opportunity("open", "10.50", probability=50), _opportunity("open", "1.50", probability=100),
             _opportunity("open", "7", "USD", probability=10), _opportunity("won", "100"), _opportunity("lost", "3")]
    kpis = rules.compute_kpis(facts, NOW)
    assert kpis["open_opportunities"] == 3
    assert kpis["open_pipeline_value"] == [{"amount": "12.00", "currency": "EUR"}, {"amount": "7", "currency": "USD"}]
    assert kpis["weighted_pipeline_value"] == [{"amount": "6.75", "currency": "EUR"}, {"amount": "0.70", "currency": "USD"}]
    assert (kpis["won_deals"], kpis["lost_deals"], kpis["lost_deals_90d"]) == (1, 1, 1)
    assert kpis["won_value"] == [{"amount": "100", "currency": "EUR"}]


def test_ticket_kpis_open_urgent_and_recent_complaints() -> None:
    facts = [_ticket("new"), _ticket("open", priority="urgent"), _ticket("pending"), _ticket("solved"),
             _ticket("closed", ticket_type="complaint"),
             _ticket("closed", ticket_type="complaint", at=NOW - timedelta(days=200))]
    kpis = rules.compute_kpis(facts, NOW)
    assert (kpis["open_tickets"], kpis["urgent_open_tickets"], kpis["complaints_90d"]) == (3, 1, 1)


def test_campaigns_count_distinct_campaigns_without_removed_members() -> None:
    kpis = rules.compute_kpis([_member("c1"), _member("c2", "removed"), _member("c3")], NOW)
    assert kpis["campaigns"] == 2


def test_last_contact_and_engagement_follow_the_latest_interaction() -> None:
    quiet = rules.compute_kpis([_ticket("closed", at=NOW - timedelta(days=120))], NOW)
    busy = rules.compute_kpis([_ticket("closed", at=NOW - timedelta(days=1)), _opportunity("open", "1"),
                                _member("c1")], NOW)
    assert quiet["last_contact"]["at"] == (NOW - timedelta(days=120)).isoformat()
    assert busy["last_contact"]["source"] in ("sales", "campaign")
    assert busy["engagement_score"] > quiet["engagement_score"]
    assert rules.compute_kpis([], NOW)["last_contact"] is None


def test_churn_risk_explains_itself() -> None:
    calm = rules.compute_kpis([_opportunity("open", "5")], NOW)["churn_risk"]
    assert calm == {"score": 0, "level": "low", "reasons": []}
    angry = rules.compute_kpis([_ticket("open", ticket_type="complaint", priority="urgent"),
                                 _opportunity("lost", "9")], NOW)
    assert angry["churn_risk"]["level"] == "high"
    assert "complained in the last 90 days" in angry["churn_risk"]["reasons"]
    assert angry["next_best_action"]["action"] == "resolve_urgent_tickets"
    silent = rules.compute_kpis([_opportunity("won", "9", at=NOW - timedelta(days=100))], NOW)["churn_risk"]
    assert set(silent["reasons"]) == {"no contact for over 90 days", "no open business after earlier wins"}


def test_next_best_action_prefers_the_pipeline_then_campaigns() -> None:
    assert rules.compute_kpis([_opportunity("open", "5")], NOW)["next_best_action"]["action"] == "advance_pipeline"
    assert rules.compute_kpis([], NOW)["next_best_action"]["action"] == "invite_to_campaign"


def test_group_totals_add_subsidiaries() -> None:
    parent = rules.compute_kpis([_opportunity("open", "10")], NOW)
    child = rules.compute_kpis([_opportunity("open", "5"), _ticket("open")], NOW)
    group = rules.group_totals(parent, [child])
    assert group["members"] == 2
    assert group["open_opportunities"] == 2 and group["open_tickets"] == 1
    assert group["open_pipeline_value"] == [{"amount": "15", "currency": "EUR"}]


def test_timeline_entries_link_to_the_owning_resource() -> None:
    event = _event("crm.sales.opportunity.won.v1", {
        "opportunity_id": "o-1", "name": "Big", "stage": "closed_won", "status": "won",
        "amount": {"amount": "9.00", "currency": "EUR"}})
    entry = rules.timeline_entry(event)
    assert entry.summary == "Opportunity 'Big' won (9.00 EUR, closed_won)"
    assert entry.resource == "/v1/opportunities/o-1"
    assert entry.source == "sales" and entry.occurred_at == NOW
    unknown = rules.timeline_entry(_event("crm.sales.quote.sent.v1", {}))
    assert unknown.summary == "crm.sales.quote.sent.v1" and unknown.resource is None


def test_events_about_no_customer_make_no_fact() -> None:
    assert rules.fact_from_event(_event("crm.campaign.campaign.created.v1", {"campaign": {}})) is None


def test_facts_only_move_forward() -> None:
    assert rules.is_newer(5, None)
    assert rules.is_newer(6, 5)
    assert not rules.is_newer(5, 5)
    assert not rules.is_newer(4, 5)


@settings(max_examples=50, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(min_value=0, max_value=12))
def test_kpis_do_not_depend_on_the_order_facts_are_known_in(rng: random.Random, size: int) -> None:
    makers = [lambda: _opportunity(rng.choice(["open", "won", "lost"]), str(rng.randint(0, 999)),
                                   rng.choice(["EUR", "USD"]), probability=rng.choice([10, 50, 75]),
                                   at=NOW - timedelta(days=rng.randint(0, 200))),
              lambda: _ticket(rng.choice(["new", "open", "solved"]), ticket_type=rng.choice(["complaint", "question"]),
                              priority=rng.choice(["normal", "urgent"]), at=NOW - timedelta(days=rng.randint(0, 200))),
              lambda: _member(rng.choice(["c1", "c2", "c3"]), rng.choice(["member", "removed"]))]
    facts = [rng.choice(makers)() for _ in range(size)]
    shuffled = facts[:]
    rng.shuffle(shuffled)
    assert rules.compute_kpis(facts, NOW) == rules.compute_kpis(shuffled, NOW)
