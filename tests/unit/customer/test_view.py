"""Rules of the unified view (facts, KPIs, judgements, timeline), tested without a database; and how a merge
carries the facts, through the view consumer on a database of its own."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sqlalchemy.orm import Session

from crm.catalogue import published_event_types
from services.customer import contract
from services.customer.contract import VIEW_KPIS_DESCRIPTION
from services.customer.customers import rules as customer_rules
from services.customer.view import consumers as view_consumers
from services.customer.view import repository as view_repository
from services.customer.view import rules
from shared.consumer import Delivery, apply_all
from tests.unit.customer.conftest import announced
from shared.envelope import CloudEvent

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
CUSTOMER = str(uuid.uuid4())


def _event(event_type: str, data: dict, sequence: int = 1, at: datetime = NOW) -> CloudEvent:  # type: ignore[type-arg]
    return CloudEvent(id=str(uuid.uuid4()), source=f"/crm/{event_type.split('.')[1]}", type=event_type,
                      subject=CUSTOMER, time=at, data=data, tenant="t", sequence=sequence)


def _opportunity(status: str, amount: str, currency: str = "EUR", *, probability: int = 50,
                 at: datetime = NOW, category: str | None = None) -> rules.Fact:
    data = {"opportunity_id": str(uuid.uuid4()), "name": "Deal", "status": status, "stage": "proposal",
            "probability": probability, "amount": {"amount": amount, "currency": currency}}
    if category is not None:
        data |= {"forecast_category": category, "owner": "ines", "expected_close_date": "2027-01-31"}
    fact = rules.fact_from_event(_event("crm.sales.opportunity.updated.v1", data, at=at))
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


def _lead_event(status: str, *, lead_id: str | None = None, customer: bool = True, duplicate_of: str | None = None,
                action: str = "created", at: datetime = NOW, sequence: int = 1) -> CloudEvent:
    lead_id = lead_id or str(uuid.uuid4())
    return _event(f"crm.sales.lead.{action}.v1", {
        "lead_id": lead_id, "status": status, "source": "web_form", "company": "Acme Ltd", "score": 40,
        "team": "north", "owner": "ines", "customer_id": CUSTOMER if customer else None, "opportunity_id": None,
        "duplicate_of": duplicate_of, "version": 1}, at=at, sequence=sequence)


def _lead(status: str, **options: Any) -> rules.Fact:
    fact = rules.fact_from_event(_lead_event(status, **options))
    assert fact is not None
    return fact


def _response_event(kind: str, *, occurred_at: datetime = NOW, at: datetime = NOW, campaign: str = "c1",
                    action: str | None = None) -> CloudEvent:
    return _event(f"crm.campaign.response.{action or kind}.v1", {
        "response_id": str(uuid.uuid4()), "campaign_id": campaign, "campaign_name": "Spring", "customer_id": CUSTOMER,
        "kind": kind, "occurred_at": occurred_at.isoformat()}, at=at)


def _response(kind: str, **options: Any) -> rules.Fact:
    fact = rules.fact_from_event(_response_event(kind, **options))
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


def _desk(event_type: str, ticket_id: str, sequence: int, at: datetime = NOW, **data: Any) -> rules.Fact:
    fact = rules.fact_from_event(_event(event_type, {"ticket_id": ticket_id, **data}, sequence=sequence, at=at))
    assert fact is not None
    return fact


def _ticket_event(action: str, ticket_id: str, status: str, sequence: int, at: datetime = NOW,
                  **data: Any) -> rules.Fact:
    return _desk(f"crm.service_desk.ticket.{action}.v1", ticket_id, sequence, at, subject="Help", status=status,
                 priority="normal", type="question", created_at=(NOW - timedelta(days=3)).isoformat(), **data)


def _latest(facts: list[rules.Fact]) -> list[rules.Fact]:
    """What the fact store keeps: per entity, the state of its newest event."""
    newest: dict[tuple[str, str], rules.Fact] = {}
    for fact in facts:
        known = newest.get((fact.entity, fact.entity_id))
        if known is None or rules.is_newer(fact.sequence, known.sequence):
            newest[(fact.entity, fact.entity_id)] = fact
    return list(newest.values())


def test_open_sla_breaches_count_breached_tickets_still_open_and_outlive_later_ticket_events() -> None:
    late, done, fine = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    breach = {"target": "first_response", "due_at": NOW.isoformat(), "policy_id": str(uuid.uuid4())}
    facts = _latest([
        _ticket_event("created", late, "open", 1), _ticket_event("sla_breached", late, "open", 2, **breach),
        _ticket_event("sla_breached", late, "open", 3, **(breach | {"target": "resolution"})),
        # Commented and assigned after the breach: the ticket's fact moves on, the breach stays.
        _ticket_event("commented", late, "open", 4, comment_id=str(uuid.uuid4()), visibility="public",
                      author_type="agent", via="api"),
        _ticket_event("assigned", late, "open", 5, changes={}),
        _ticket_event("created", done, "open", 6), _ticket_event("sla_breached", done, "open", 7, **breach),
        _ticket_event("solved", done, "resolved", 8, changes={}),
        _ticket_event("created", fine, "open", 9, at=NOW + timedelta(hours=1)),
    ])
    kpis = rules.compute_kpis(facts, NOW + timedelta(hours=1))
    assert (kpis["open_tickets"], kpis["open_sla_breaches"]) == (2, 1)
    assert kpis["last_service_contact"] == (NOW + timedelta(hours=1)).isoformat()
    assert "has open tickets past their SLA" in kpis["churn_risk"]["reasons"]
    # A breach is the desk's own finding, not a contact with the customer.
    only_breach = rules.compute_kpis([_ticket_event("sla_breached", late, "open", 2, **breach)], NOW)
    assert only_breach["last_contact"] is None and only_breach["last_service_contact"] is None


def test_csat_last_and_average_follow_the_ratings_and_a_low_last_rating_raises_churn_risk() -> None:
    assert (rules.compute_kpis([], NOW)["csat_last"], rules.compute_kpis([], NOW)["csat_average"]) == (None, None)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())

    def rated(ticket_id: str, resolution: int, rating: int, sequence: int, hours: int) -> rules.Fact:
        return _desk("crm.service_desk.satisfaction.rated.v1", ticket_id, sequence, NOW + timedelta(hours=hours),
                     customer_id=CUSTOMER, rating=rating, resolution=resolution,
                     rated_at=(NOW + timedelta(hours=hours)).isoformat())

    happy = rules.compute_kpis([rated(first, 1, 5, 1, 0), rated(first, 2, 4, 2, 1)], NOW + timedelta(hours=1))
    assert (happy["csat_last"], happy["csat_average"]) == (4, 4.5)
    assert "rated the service poorly" not in happy["churn_risk"]["reasons"]
    # Applied out of order (a later sequence rated earlier): the last is the latest rated.
    unhappy = rules.compute_kpis([rated(second, 1, 2, 9, 2), rated(first, 1, 5, 3, 0), rated(first, 2, 3, 4, 1)],
                                 NOW + timedelta(hours=2))
    assert (unhappy["csat_last"], unhappy["csat_average"]) == (2, round(10 / 3, 2))
    assert "rated the service poorly" in unhappy["churn_risk"]["reasons"]
    timeline = rules.timeline_entry(_event("crm.service_desk.satisfaction.rated.v1", {
        "ticket_id": first, "customer_id": CUSTOMER, "rating": 2, "resolution": 1, "rated_at": NOW.isoformat()}))
    assert (timeline.summary, timeline.resource) == ("Rated ticket resolution 1: 2/5", f"/v1/tickets/{first}/satisfaction")


def test_a_groups_service_figures_add_breaches_and_take_the_newest_service_contact() -> None:
    own = {"open_sla_breaches": 1, "last_service_contact": NOW.isoformat()}
    sub = {"open_sla_breaches": 2, "last_service_contact": (NOW + timedelta(days=1)).isoformat()}
    totals = rules.group_totals(own, [sub, {}])
    assert (totals["open_sla_breaches"], totals["last_service_contact"]) == (3, sub["last_service_contact"])


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
              lambda: _member(rng.choice(["c1", "c2", "c3"]), rng.choice(["member", "removed"])),
              lambda: _lead(rng.choice(["new", "qualified", "converted"]),
                            at=NOW - timedelta(days=rng.randint(0, 200))),
              lambda: _response(rng.choice(["opened", "replied"]),
                                occurred_at=NOW - timedelta(days=rng.randint(0, 200)))]
    facts = [rng.choice(makers)() for _ in range(size)]
    shuffled = facts[:]
    rng.shuffle(shuffled)
    assert rules.compute_kpis(facts, NOW) == rules.compute_kpis(shuffled, NOW)


# --- sales facts and campaign responses -------------------------------------------------------


def test_open_leads_leave_out_converted_disqualified_and_folded_duplicates() -> None:
    facts = [_lead("new"), _lead("working"), _lead("qualified"), _lead("converted"), _lead("disqualified"),
             _lead("new", duplicate_of=str(uuid.uuid4()))]
    assert rules.compute_kpis(facts, NOW)["open_leads"] == 3


def test_a_lead_a_duplicate_was_folded_into_stays_one_open_lead() -> None:
    lead_id = str(uuid.uuid4())
    created = _lead("working", lead_id=lead_id, sequence=1)
    merged = _lead("working", lead_id=lead_id, duplicate_of=lead_id, action="merged", sequence=2)
    assert rules.compute_kpis([merged], NOW)["open_leads"] == rules.compute_kpis([created], NOW)["open_leads"] == 1


def test_a_lead_that_names_no_customer_is_no_customer_fact() -> None:
    assert rules.fact_from_event(_lead_event("new", customer=False)) is None


def test_a_lead_is_one_fact_that_follows_its_latest_event() -> None:
    created = _lead("new", lead_id="l-1", sequence=1)
    converted = _lead("converted", lead_id="l-1", action="converted", sequence=2)
    assert (created.entity, created.entity_id) == (converted.entity, converted.entity_id) == ("lead", "l-1")
    assert converted.state["status"] == "converted" and "company" not in converted.state


def test_open_pipeline_splits_by_forecast_category_never_adding_currencies() -> None:
    facts = [_opportunity("open", "10.00", category="pipeline"), _opportunity("open", "5.50", category="pipeline"),
             _opportunity("open", "7", "USD", category="pipeline"), _opportunity("open", "20", category="commit"),
             _opportunity("open", "3", category="omitted"), _opportunity("open", "1"),
             _opportunity("won", "100", category="closed")]
    assert rules.compute_kpis(facts, NOW)["open_pipeline_by_category"] == {
        "best_case": [],
        "commit": [{"amount": "20", "currency": "EUR"}],
        "omitted": [{"amount": "3", "currency": "EUR"}],
        "pipeline": [{"amount": "15.50", "currency": "EUR"}, {"amount": "7", "currency": "USD"}],
        "uncategorized": [{"amount": "1", "currency": "EUR"}],
    }
    assert rules.compute_kpis([], NOW)["open_pipeline_by_category"] == {"best_case": [], "commit": [], "pipeline": []}


def test_the_opportunity_fact_keeps_category_owner_and_expected_close() -> None:
    fact = _opportunity("open", "1", category="best_case")
    assert (fact.state["forecast_category"], fact.state["owner"], fact.state["expected_close_date"]) == (
        "best_case", "ines", "2027-01-31")
    assert _opportunity("open", "1").state["forecast_category"] is None  # events from before categories


def _send_event(status: str, *, send_id: str = "s1", occurred_at: datetime = NOW, sequence: int = 1,
                action: str | None = None) -> CloudEvent:
    return _event(f"crm.campaign.send.{action or status}.v1", {
        "send_id": send_id, "campaign_id": "c2", "campaign_name": "Summer", "customer_id": CUSTOMER,
        "channel": "email", "variant": None, "status": status, "reason": None,
        "occurred_at": occurred_at.isoformat()}, sequence=sequence)


def test_the_last_marketing_contact_is_the_newest_message_sent_or_response() -> None:
    sent = rules.fact_from_event(_send_event("sent", occurred_at=NOW - timedelta(days=1)))
    assert sent is not None
    responded = _response("clicked", occurred_at=NOW - timedelta(days=3))
    kpis = rules.compute_kpis([sent, responded], NOW)
    assert kpis["last_marketing_contact"] == {"at": (NOW - timedelta(days=1)).isoformat(), "campaign_id": "c2",
                                              "campaign_name": "Summer", "kind": "sent"}
    assert kpis["last_marketing_contact_at"] == (NOW - timedelta(days=1)).isoformat()
    # A message found bounced reached no one: the response is the last marketing contact again.
    bounced = rules.fact_from_event(_send_event("bounced", occurred_at=NOW, sequence=2))
    assert bounced is not None and bounced.entity_id == sent.entity_id
    kpis = rules.compute_kpis([bounced, responded], NOW)
    assert (kpis["last_marketing_contact"]["kind"], kpis["last_marketing_contact"]["campaign_id"]) == ("clicked", "c1")
    # A suppressed message never left: no fact, no contact.
    assert rules.fact_from_event(_send_event("suppressed")) is None
    assert rules.compute_kpis([], NOW)["last_marketing_contact"] is None
    entry = rules.timeline_entry(_send_event("sent"))
    assert (entry.summary, entry.resource) == ("Campaign 'Summer': sent by email", "/v1/campaigns/c2/sends")
    totals = rules.group_totals(kpis, [{"last_marketing_contact_at": NOW.isoformat()}])
    assert totals["last_marketing_contact_at"] == NOW.isoformat()


def test_engagement_counts_the_customers_responses_not_the_messages_sent_to_them() -> None:
    sends = [rules.fact_from_event(_send_event("sent", send_id=f"s{i}")) for i in range(5)]
    mailed = rules.compute_kpis([f for f in sends if f is not None], NOW)
    clicked = rules.compute_kpis([_response("clicked"), _response("replied")], NOW)
    opened = rules.compute_kpis([_response("opened"), _response("opened")], NOW)
    assert mailed["engagement_score"] == 50  # recent contact, no activity of the customer's
    assert mailed["last_contact"]["entity"] == "campaign_send"
    assert clicked["engagement_score"] == 50 + 40 and opened["engagement_score"] == 50 + 10


def test_last_sales_contact_is_the_newest_lead_or_opportunity_event() -> None:
    facts = [_opportunity("open", "1", at=NOW - timedelta(days=30)), _lead("new", at=NOW - timedelta(days=3)),
             _ticket("open", at=NOW - timedelta(days=1)), _response("opened", at=NOW)]
    assert rules.compute_kpis(facts, NOW)["last_sales_contact_at"] == (NOW - timedelta(days=3)).isoformat()
    assert rules.compute_kpis([_ticket("open")], NOW)["last_sales_contact_at"] is None


def test_responses_count_and_the_last_one_is_when_the_customer_responded() -> None:
    earlier, later = NOW - timedelta(days=10), NOW - timedelta(days=2)
    facts = [_response("opened", occurred_at=earlier, at=NOW), _response("clicked", occurred_at=later, at=NOW),
             _response("unsubscribed", occurred_at=earlier + timedelta(hours=1), at=NOW)]
    kpis = rules.compute_kpis(facts, NOW)
    assert kpis["responses"] == 3 and kpis["last_response_at"] == later.isoformat()
    assert (rules.compute_kpis([], NOW)["responses"], rules.compute_kpis([], NOW)["last_response_at"]) == (0, None)


def test_a_moved_response_is_the_same_fact_given_to_another_customer() -> None:
    event = _response_event("replied", action="moved")
    fact = rules.fact_from_event(event)
    assert fact is not None and fact.entity == "campaign_response" and fact.state["kind"] == "replied"
    assert fact.entity_id == event.data["response_id"]


def test_group_totals_add_leads_responses_and_category_money_and_take_the_newest_times() -> None:
    parent = rules.compute_kpis([_lead("new", at=NOW - timedelta(days=5)),
                                 _opportunity("open", "10", category="commit"),
                                 _response("opened", occurred_at=NOW - timedelta(days=9))], NOW)
    child = rules.compute_kpis([_lead("new", at=NOW - timedelta(days=1)), _lead("converted"),
                                _opportunity("open", "5", category="commit"),
                                _opportunity("open", "2", "USD", category="best_case"),
                                _response("replied", occurred_at=NOW - timedelta(days=4))], NOW)
    group = rules.group_totals(parent, [child])
    assert (group["open_leads"], group["responses"]) == (2, 2)
    assert group["open_pipeline_by_category"] == {
        "best_case": [{"amount": "2", "currency": "USD"}], "commit": [{"amount": "15", "currency": "EUR"}],
        "pipeline": []}
    assert group["last_sales_contact_at"] == NOW.isoformat()  # the child's converted lead, now
    assert group["last_response_at"] == (NOW - timedelta(days=4)).isoformat()


def test_group_totals_take_a_subsidiary_whose_kpis_predate_the_sales_facts() -> None:
    parent = rules.compute_kpis([_lead("new")], NOW)
    old_child = {name: value for name, value in rules.compute_kpis([_opportunity("open", "5")], NOW).items()
                 if name not in ("open_leads", "responses", "open_pipeline_by_category", "last_sales_contact_at",
                                 "last_response_at")}
    group = rules.group_totals(parent, [old_child])
    assert (group["open_leads"], group["open_opportunities"], group["last_response_at"]) == (1, 1, None)


def test_lead_and_response_timeline_entries_carry_no_personal_data() -> None:
    lead = rules.timeline_entry(_lead_event("qualified", lead_id="l-9", action="qualified"))
    assert lead.summary == "Lead qualified (qualified, from web_form, score 40)"
    assert lead.resource == "/v1/leads/l-9" and "Acme" not in lead.summary and "ines" not in lead.summary
    response = rules.timeline_entry(_response_event("clicked", campaign="c-7"))
    assert response.summary == "Campaign 'Spring': clicked"
    assert response.resource == f"/v1/campaigns/c-7/responses?customer_id={CUSTOMER}"
    moved = rules.timeline_entry(_response_event("opened", action="moved"))
    assert moved.summary == "Campaign 'Spring': opened (moved here with a merge)"


def test_every_kpi_is_named_in_the_views_schema() -> None:
    parent = rules.compute_kpis([_opportunity("open", "1")], NOW)
    names = set(parent) | {"group"} | set(rules.group_totals(parent, [parent]))
    assert [name for name in sorted(names) if name not in VIEW_KPIS_DESCRIPTION] == []


# --- merges carry the sales facts and responses (the view consumer, on a database of its own) -----


def _person(customer_id: uuid.UUID, sequence: int) -> CloudEvent:
    state = customer_rules.new_customer({"kind": "person", "given_name": "Ada", "family_name": "Example"})
    document = customer_rules.customer_document(state, customer_id=customer_id, version=1, created_at=NOW,
                                                updated_at=NOW, customer_group=None, value_tier=None)
    return _about(customer_id, _event("crm.customer.created.v1", {"customer": document}, sequence=sequence))


def _about(customer_id: uuid.UUID, event: CloudEvent) -> CloudEvent:
    return event.model_copy(update={"subject": str(customer_id), "tenant": "acme"})


def _apply(db: Session, *events: CloudEvent) -> None:
    for event in events:
        view_consumers.apply_to_view(db, Delivery(topic="t", key=event.subject, event=event))
    db.flush()


def _kpis(db: Session, customer_id: uuid.UUID) -> dict[str, Any]:
    view = view_repository.get_view(db, customer_id)
    assert view is not None
    return dict(view.kpis)


def test_a_merge_carries_leads_and_responses_to_the_survivor_and_an_unmerge_brings_them_back(db: Session) -> None:
    survivor, duplicate = uuid.uuid4(), uuid.uuid4()
    lead = _lead_event("qualified", sequence=10)
    response = _response_event("replied", occurred_at=NOW - timedelta(days=1))
    _apply(db, _person(survivor, 1), _person(duplicate, 2), _about(duplicate, lead),
           _about(duplicate, response.model_copy(update={"sequence": 20})))
    assert (_kpis(db, duplicate)["open_leads"], _kpis(db, duplicate)["responses"]) == (1, 1)
    merged = _about(survivor, _event("crm.customer.merged.v1", {
        "merge_id": str(uuid.uuid4()), "survivor_id": str(survivor), "merged_ids": [str(duplicate)],
        "customer": {}}, sequence=3))
    # The owners re-point their records: the same lead and response, now about the survivor.
    repointed_lead = _about(survivor, lead.model_copy(update={
        "id": str(uuid.uuid4()), "type": "crm.sales.lead.updated.v1", "sequence": 11,
        "data": lead.data | {"customer_id": str(survivor)}}))
    moved = _about(survivor, response.model_copy(update={
        "id": str(uuid.uuid4()), "type": "crm.campaign.response.moved.v1", "sequence": 21}))
    _apply(db, merged, repointed_lead, moved)
    kpis = _kpis(db, survivor)
    assert (kpis["open_leads"], kpis["responses"]) == (1, 1)
    assert kpis["last_response_at"] == (NOW - timedelta(days=1)).isoformat()
    assert kpis["last_sales_contact_at"] == NOW.isoformat()
    unmerged = _about(survivor, _event("crm.customer.unmerged.v1", {
        "merge_id": merged.data["merge_id"], "survivor_id": str(survivor), "restored_ids": [str(duplicate)],
        "customer": {}, "restored": []}, sequence=4))
    back = _about(duplicate, moved.model_copy(update={"id": str(uuid.uuid4()), "sequence": 22}))
    _apply(db, unmerged, back)
    assert (_kpis(db, survivor)["responses"], _kpis(db, duplicate)["responses"]) == (0, 1)
    assert _kpis(db, survivor)["last_response_at"] is None


def _consent(customer_id: uuid.UUID, channel: str, status: str, sequence: int) -> CloudEvent:
    return _about(customer_id, _event("crm.customer.consent_changed.v1", {
        "customer_id": str(customer_id), "channel": channel, "status": status, "previous_status": "unknown",
        "source": "web form", "wording": "Send me news", "recorded_at": "2026-11-26 12:00:00",
        "recorded_by": "ines"}, sequence=sequence))


def _profile(db: Session, customer_id: uuid.UUID) -> dict[str, Any]:
    view = view_repository.get_view(db, customer_id)
    assert view is not None and view.profile is not None
    return dict(view.profile)


def test_the_view_shows_the_masters_current_consent_per_channel_and_keeps_it_across_profile_changes(db: Session) -> None:
    customer = uuid.uuid4()
    _apply(db, _person(customer, 1))
    assert _profile(db, customer)["consent"] == {"email": "unknown", "sms": "unknown", "phone": "unknown"}
    _apply(db, _consent(customer, "email", "opt_in", 2), _consent(customer, "sms", "opt_out", 3))
    updated = _person(customer, 4).model_copy(update={"id": str(uuid.uuid4()), "type": "crm.customer.updated.v1"})
    _apply(db, updated)
    assert _profile(db, customer)["consent"] == {"email": "opt_in", "sms": "opt_out", "phone": "unknown"}
    _apply(db, _consent(customer, "email", "opt_out", 5))
    assert _profile(db, customer)["consent"]["email"] == "opt_out"
    # A replayed older change (a rebuild reading what the view already holds) does not undo a newer one.
    _apply(db, _consent(customer, "email", "opt_in", 2).model_copy(update={"id": str(uuid.uuid4())}))
    assert _profile(db, customer)["consent"]["email"] == "opt_out"


# --- order to cash: orders, invoices, payments, credit notes ----------------------------------------


def _money(amount: str, currency: str = "EUR") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def _order_event(status: str, total: str = "100.00", *, order_id: str = "o-1", returned: str = "0.00",
                 currency: str = "EUR", sequence: int = 1, at: datetime = NOW) -> CloudEvent:
    """An order event as the sales contract publishes it (``OrderReported``)."""
    action = {"on_hold": "held"}.get(status, status)
    return _event(f"crm.sales.order.{action}.v1", {
        "order_id": order_id, "customer_id": CUSTOMER, "opportunity_id": None, "status": status, "from_status": None,
        "total": _money(total, currency), "returned": _money(returned, currency), "line_count": 1, "version": 1,
        "credit": None, "approved_by": None, "reason": None}, sequence=sequence, at=at)


def _return_event(amount: str, *, order_id: str = "o-1", status: str = "delivered", total: str = "100.00",
                  returned: str | None = None, sequence: int = 2, at: datetime = NOW) -> CloudEvent:
    """Goods back (``OrderReturned``): the order as the return left it, and this return."""
    event = _order_event(status, total, order_id=order_id, returned=returned or amount, sequence=sequence, at=at)
    return event.model_copy(update={"type": "crm.sales.order.returned.v1", "data": event.data | {
        "return_id": str(uuid.uuid4()), "amount": _money(amount), "reason": "broken",
        "lines": [{"line": 0, "product_id": str(uuid.uuid4()), "quantity": "1"}]}})


def _invoice_event(total: str = "100.00", *, invoice_id: str = "i-1", action: str = "issued", status: str = "open",
                   open_amount: str | None = None, due_on: str = "2026-12-26", written_off: str | None = None,
                   currency: str = "EUR", sequence: int = 3, at: datetime = NOW) -> CloudEvent:
    """An invoice event (``InvoiceReported``): its open amount as of that event."""
    return _event(f"crm.sales.invoice.{action}.v1", {
        "invoice_id": invoice_id, "customer_id": CUSTOMER, "order_id": "o-1", "number": "INV-2026-000001",
        "issued_on": "2026-11-26", "due_on": due_on, "total": _money(total, currency),
        "open_amount": _money(open_amount if open_amount is not None else total, currency), "status": status,
        "version": 1, "reason": "bankrupt" if written_off else None,
        "written_off": _money(written_off, currency) if written_off else None}, sequence=sequence, at=at)


def _payment_event(amount: str, allocations: dict[str, str], *, currency: str = "EUR", payment_id: str | None = None,
                   sequence: int = 4, at: datetime = NOW) -> CloudEvent:
    allocated = sum((Decimal(a) for a in allocations.values()), Decimal(0))
    return _event("crm.sales.payment.received.v1", {
        "payment_id": payment_id or str(uuid.uuid4()), "customer_id": CUSTOMER, "amount": _money(amount, currency),
        "received_on": "2026-11-26", "unallocated": _money(format(Decimal(amount) - allocated, "f"), currency),
        "allocations": [{"invoice_id": i, "amount": _money(a, currency)} for i, a in allocations.items()]},
        sequence=sequence, at=at)


def _credit_note_event(amount: str, *, invoice_id: str = "i-1", currency: str = "EUR", sequence: int = 5,
                       at: datetime = NOW) -> CloudEvent:
    return _event("crm.sales.credit_note.issued.v1", {
        "credit_note_id": str(uuid.uuid4()), "customer_id": CUSTOMER, "invoice_id": invoice_id,
        "number": "CN-2026-000001", "kind": "return", "return_id": None, "amount": _money(amount, currency),
        "reason": "broken", "issued_on": "2026-11-26"}, sequence=sequence, at=at)


def _known(*events: CloudEvent) -> list[rules.Fact]:
    """The facts as the view keeps them: one per thing, the newest event's (``is_newer``)."""
    kept: dict[tuple[str, str], rules.Fact] = {}
    for event in events:
        fact = rules.fact_from_event(event)
        assert fact is not None
        known = kept.get((fact.entity, fact.entity_id))
        if rules.is_newer(fact.sequence, known.sequence if known else None):
            kept[(fact.entity, fact.entity_id)] = fact
    return list(kept.values())


def test_open_orders_leave_out_delivered_cancelled_and_returned_and_are_worth_their_total_less_returns() -> None:
    facts = _known(_order_event("placed", "10.00", order_id="a"), _order_event("on_hold", "20.00", order_id="b"),
                   _order_event("confirmed", "5", order_id="c", currency="USD"),
                   _order_event("shipped", "30.00", order_id="d", returned="12.50"),
                   _order_event("delivered", "99", order_id="e"), _order_event("cancelled", "99", order_id="f"),
                   _return_event("99", order_id="g", status="returned", total="99"))
    kpis = rules.compute_kpis(facts, NOW)
    assert kpis["open_orders"] == 4
    assert kpis["open_orders_value"] == [_money("47.50"), _money("5.00", "USD")]
    assert (rules.compute_kpis([], NOW)["open_orders"], rules.compute_kpis([], NOW)["open_orders_value"]) == (0, [])


def test_an_order_is_as_its_newest_event_left_it_an_order_event_or_a_return() -> None:
    shipped = _order_event("shipped", sequence=1)
    everything_back = _return_event("100.00", status="returned", sequence=2)
    assert rules.compute_kpis(_known(shipped, everything_back), NOW)["open_orders"] == 0
    part_back = _return_event("40.00", status="shipped", sequence=2)
    delivered = _order_event("delivered", returned="40.00", sequence=3)
    assert rules.compute_kpis(_known(shipped, part_back), NOW)["open_orders_value"] == [_money("60.00")]
    assert rules.compute_kpis(_known(part_back, shipped, delivered), NOW)["open_orders"] == 0


def test_lifetime_value_is_paid_money_less_what_credit_notes_gave_back_of_it_per_currency() -> None:
    facts = _known(
        # Paid in full, then 30 came back: 70 kept.
        _invoice_event("100.00", invoice_id="paid-then-credited"),
        _payment_event("100.00", {"paid-then-credited": "100.00"}),
        _credit_note_event("30.00", invoice_id="paid-then-credited"),
        # 50 credited before anything was paid, the remaining 150 paid: all 150 kept (not 100).
        _invoice_event("200.00", invoice_id="credited-then-paid"),
        _credit_note_event("50.00", invoice_id="credited-then-paid"),
        _payment_event("180.00", {"credited-then-paid": "150.00"}),  # 30 over-paid: credit, not revenue
        # Another currency, paid in part: never added to the euros.
        _invoice_event("80.00", invoice_id="dollars", currency="USD"),
        _payment_event("25.00", {"dollars": "25.00"}, currency="USD"),
        # Not paid at all, only credited: nothing.
        _invoice_event("60.00", invoice_id="unpaid"), _credit_note_event("60.00", invoice_id="unpaid"))
    assert rules.compute_kpis(facts, NOW)["lifetime_value"] == [_money("220.00"), _money("25.00", "USD")]
    assert rules.compute_kpis([], NOW)["lifetime_value"] == []


def test_a_payment_for_an_invoice_not_known_yet_counts_less_its_credit_notes() -> None:
    facts = _known(_payment_event("40.00", {"later": "40.00"}), _credit_note_event("15.00", invoice_id="later"))
    assert rules.compute_kpis(facts, NOW)["lifetime_value"] == [_money("25.00")]


def test_lifetime_value_leaves_out_the_profiles_typed_in_opening_balance() -> None:
    # The KPI is a function of facts; the profile (with its lifetime_value) is no fact.
    facts = _known(_invoice_event("10.00"), _payment_event("10.00", {"i-1": "10.00"}))
    assert rules.compute_kpis(facts, NOW)["lifetime_value"] == [_money("10.00")]
    assert "opening balance" in VIEW_KPIS_DESCRIPTION


def test_open_receivables_are_totals_less_payments_credit_notes_and_write_offs() -> None:
    facts = _known(
        _invoice_event("100.00", invoice_id="part-paid"), _payment_event("30.00", {"part-paid": "30.00"}),
        _credit_note_event("20.00", invoice_id="part-paid"),
        _invoice_event("70.00", invoice_id="written", action="written_off", status="written_off", open_amount="0",
                       written_off="70.00"),
        _invoice_event("50.00", invoice_id="settled"), _payment_event("50.00", {"settled": "50.00"}),
        _invoice_event("50.00", invoice_id="settled", action="paid", status="paid", open_amount="0.00", sequence=9),
        _invoice_event("9.00", invoice_id="dollars", currency="USD"))
    kpis = rules.compute_kpis(facts, NOW)
    assert kpis["open_receivables"] == [_money("50.00"), _money("9.00", "USD")]
    assert (kpis["overdue_receivables"], kpis["overdue_invoices"]) == ([], 0)


def test_a_payment_the_invoice_event_already_counted_is_not_taken_off_twice() -> None:
    # An invoice event after the payment (here the announced overdue one) reports the open amount net of it.
    facts = _known(_invoice_event("100.00", sequence=3), _payment_event("40.00", {"i-1": "40.00"}, sequence=4),
                   _invoice_event("100.00", open_amount="60.00", action="overdue", sequence=5))
    kpis = rules.compute_kpis(facts, NOW)
    assert kpis["open_receivables"] == kpis["overdue_receivables"] == [_money("60.00")]


def test_overdue_follows_the_due_date_on_the_day_of_as_of_and_the_owners_overdue_event() -> None:
    due = _invoice_event("100.00", due_on="2026-11-25")
    assert rules.compute_kpis(_known(due), NOW)["overdue_receivables"] == [_money("100.00")]
    # Due today is not overdue; and the view's day is that of its latest event, not the wall clock's.
    assert rules.compute_kpis(_known(due), datetime(2026, 11, 25, 23, 59, tzinfo=timezone.utc))["overdue_invoices"] == 0
    half = _known(due, _payment_event("40.00", {"i-1": "40.00"}))
    assert rules.compute_kpis(half, NOW)["overdue_receivables"] == [_money("60.00")]
    reported = _invoice_event("100.00", action="overdue", due_on="2026-12-31", sequence=6)
    assert rules.compute_kpis(_known(reported), NOW)["overdue_invoices"] == 1
    paid = _known(due, _payment_event("100.00", {"i-1": "100.00"}))
    assert rules.compute_kpis(paid, NOW)["overdue_invoices"] == 0


def test_churn_risk_learns_overdue_invoices_and_recent_returns() -> None:
    overdue = rules.compute_kpis(_known(_invoice_event("10.00", due_on="2026-10-01")), NOW)["churn_risk"]
    assert "has overdue invoices" in overdue["reasons"] and overdue["score"] == 25
    returned = rules.compute_kpis(_known(_order_event("delivered"), _return_event("5.00")), NOW)["churn_risk"]
    assert returned["reasons"] == ["returned goods in the last 90 days"]
    long_ago = NOW - timedelta(days=120)
    old = rules.compute_kpis(_known(_return_event("5.00", at=long_ago), _order_event("placed", sequence=9)), NOW)
    assert (old["returns_90d"], "returned goods in the last 90 days" in old["churn_risk"]["reasons"]) == (0, False)


def test_group_totals_add_orders_and_receivables_per_currency() -> None:
    parent = rules.compute_kpis(_known(_order_event("placed", "10.00"), _invoice_event("10.00", due_on="2026-01-01"),
                                       _payment_event("4.00", {"i-1": "4.00"})), NOW)
    child = rules.compute_kpis(_known(_order_event("confirmed", "7", order_id="o-3", currency="USD"), _invoice_event("3.00"),
                                      _return_event("1.00", order_id="o-2")), NOW)
    group = rules.group_totals(parent, [child])
    assert (group["open_orders"], group["overdue_invoices"], group["returns_90d"]) == (2, 1, 1)
    assert group["open_orders_value"] == [_money("10.00"), _money("7.00", "USD")]
    assert group["open_receivables"] == [_money("9.00")]
    assert group["overdue_receivables"] == [_money("6.00")] and group["lifetime_value"] == [_money("4.00")]


def test_credit_exposure_is_open_receivables_and_committed_uninvoiced_orders_and_headroom_stays_in_its_currency() -> None:
    facts = _known(_order_event("confirmed", "40.00", order_id="o-1"),  # invoiced below: counts as its invoice
                   _invoice_event("40.00"), _payment_event("15.00", {"i-1": "15.00"}),
                   _order_event("shipped", "30.00", order_id="o-2", returned="5.00"),
                   _order_event("delivered", "20.00", order_id="o-3"),
                   _order_event("placed", "99.00", order_id="o-4"), _order_event("on_hold", "99.00", order_id="o-5"),
                   _order_event("cancelled", "99.00", order_id="o-6"))
    limit = {"amount": "100.00", "currency": "EUR"}
    kpis = rules.compute_kpis(facts, NOW, limit)
    # 25 still owed on the invoice + 25 shipped (30 less 5 back) + 20 delivered; placed and held orders are no exposure yet.
    assert kpis["credit_exposure"] == [_money("70.00")]
    assert kpis["credit_headroom"] == {"amount": "30.00", "currency": "EUR", "unconverted": []}
    over = rules.compute_kpis(facts + _known(_order_event("confirmed", "45.00", order_id="o-7")), NOW, limit)
    assert over["credit_headroom"]["amount"] == "-15.00"
    mixed = rules.compute_kpis(facts + _known(_order_event("confirmed", "5", order_id="o-8", currency="USD")), NOW, limit)
    assert mixed["credit_exposure"] == [_money("70.00"), _money("5.00", "USD")]
    assert mixed["credit_headroom"] == {"amount": None, "currency": "EUR", "unconverted": ["USD"]}
    assert rules.compute_kpis(facts, NOW)["credit_headroom"] is None
    assert rules.compute_kpis([], NOW, limit)["credit_headroom"] == {"amount": "100.00", "currency": "EUR",
                                                                      "unconverted": []}


def _loyalty_event(action: str, points: int, balance: int, *, customer: str = CUSTOMER, sequence: int = 6,
                   at: datetime = NOW) -> CloudEvent:
    return _event(f"crm.sales.loyalty.{action}.v1", {"customer_id": customer, "points": points, "balance": balance},
                  sequence=sequence, at=at)


def _offers_event(names: list[str], *, sequence: int = 7, at: datetime = NOW) -> CloudEvent:
    return _event("crm.sales.offers.updated.v1", {"customer_id": CUSTOMER, "offers": [
        {"product_id": f"p-{n}", "sku": n, "name": n, "reason": f"bought by similar customers with {n}", "score": 1}
        for n in names]}, sequence=sequence, at=at)


def test_loyalty_balance_is_the_newest_movements_and_a_merged_account_adds_its_own() -> None:
    mine = _known(_loyalty_event("earned", 120, 120, sequence=1), _loyalty_event("redeemed", 50, 70, sequence=3),
                  _loyalty_event("earned", 10, 80, sequence=2))  # late: the redemption came after it
    assert rules.compute_kpis(mine, NOW)["loyalty_balance"] == 70
    merged_in = _known(_loyalty_event("earned", 30, 30, customer=str(uuid.uuid4()), sequence=4))
    assert rules.compute_kpis(mine + merged_in, NOW)["loyalty_balance"] == 100
    assert rules.compute_kpis([], NOW)["loyalty_balance"] == 0
    entry = rules.timeline_entry(_loyalty_event("expired", 5, 65))
    assert (entry.summary, entry.resource) == ("Loyalty points expired (5, balance 65)",
                                               f"/v1/loyalty/accounts/{CUSTOMER}")


def test_offers_are_the_newest_ranking_and_the_next_best_action_when_nothing_is_more_pressing() -> None:
    older = _offers_event(["Dock"], sequence=1, at=NOW - timedelta(days=2))
    facts = _known(older, _offers_event(["Monitor", "Dock", "Mouse", "Bag"], sequence=2))
    kpis = rules.compute_kpis(facts, NOW)
    assert [o["name"] for o in kpis["offers"]] == ["Monitor", "Dock", "Mouse"]
    assert kpis["next_best_action"] == {"action": "offer_product",
                                        "reason": "offer Monitor: bought by similar customers with Monitor"}
    # Re-ranked offers are the sales service's conclusion, not a contact with the customer.
    assert kpis["last_contact"] is None
    busy = rules.compute_kpis(facts + [_opportunity("open", "5")], NOW)
    assert busy["next_best_action"]["action"] == "advance_pipeline"
    late = rules.compute_kpis(facts + _known(_invoice_event("10.00", due_on="2026-10-01")), NOW)
    assert late["next_best_action"] == {"action": "collect_overdue_invoices", "reason": "1 invoices are overdue"}


def test_order_to_cash_timeline_entries_link_to_the_sales_resources() -> None:
    entries = {e.type: e for e in map(rules.timeline_entry, [
        _order_event("shipped"), _return_event("5.00"), _invoice_event("100.00", action="written_off",
                                                                       status="written_off", written_off="100.00"),
        _payment_event("30.00", {"i-1": "20.00", "i-2": "10.00"}, payment_id="p-1"), _credit_note_event("5.00")])}
    assert entries["crm.sales.order.shipped.v1"].summary == "Order shipped (100.00 EUR, shipped)"
    assert entries["crm.sales.order.shipped.v1"].resource == "/v1/orders/o-1"
    assert entries["crm.sales.order.returned.v1"].summary == "Goods returned (5.00 EUR; order delivered)"
    written_off = entries["crm.sales.invoice.written_off.v1"]
    assert written_off.summary == "Invoice INV-2026-000001 written off (100.00 EUR, due 2026-12-26)"
    assert written_off.resource == "/v1/invoices/i-1"
    assert entries["crm.sales.payment.received.v1"].summary == "Payment received (30.00 EUR, to 2 invoices)"
    assert entries["crm.sales.payment.received.v1"].resource == "/v1/payments/p-1"
    assert entries["crm.sales.credit_note.issued.v1"].summary == "Credit note CN-2026-000001 issued (5.00 EUR, return)"


@settings(max_examples=50, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(min_value=0, max_value=12))
def test_order_to_cash_kpis_do_not_depend_on_the_order_facts_are_known_in(rng: random.Random, size: int) -> None:
    invoices = ["i-1", "i-2", "i-3"]
    makers = [lambda: _order_event(rng.choice(["placed", "shipped", "delivered"]), order_id=rng.choice("abc"),
                                   sequence=rng.randint(1, 99)),
              lambda: _return_event("5.00", order_id=rng.choice("abc"), sequence=rng.randint(1, 99),
                                    at=NOW - timedelta(days=rng.randint(0, 200))),
              lambda: _invoice_event("100.00", invoice_id=rng.choice(invoices), due_on=rng.choice(
                  ["2026-01-01", "2027-01-01"]), currency=rng.choice(["EUR", "USD"]), sequence=rng.randint(1, 99)),
              lambda: _payment_event("30.00", {rng.choice(invoices): "30.00"}, sequence=rng.randint(1, 99)),
              lambda: _credit_note_event("10.00", invoice_id=rng.choice(invoices), sequence=rng.randint(1, 99))]
    facts = _known(*[rng.choice(makers)() for _ in range(size)])
    shuffled = facts[:]
    rng.shuffle(shuffled)
    assert rules.compute_kpis(facts, NOW) == rules.compute_kpis(shuffled, NOW)


CASH_PREFIXES = ("crm.sales.order.", "crm.sales.invoice.", "crm.sales.payment.", "crm.sales.credit_note.")


def test_every_published_order_to_cash_event_is_a_read_the_contract_test_checks() -> None:
    # The view makes facts of these by prefix: a new type (e.g. crm.sales.invoice.overdue.v1) must be declared
    # in the customer contract's READS, so that its payload is held against the view's reader model.
    published = [e.name for e in published_event_types() if e.name.startswith(CASH_PREFIXES)]
    assert published and [name for name in published if name not in {r.name for r in contract.READS}] == []


def test_a_payment_delivered_twice_or_late_counts_once_through_the_view_consumer(db: Session) -> None:
    customer = uuid.uuid4()
    invoice = _about(customer, _invoice_event("100.00", sequence=3))
    payment = _about(customer, _payment_event("40.00", {"i-1": "40.00"}, payment_id="p-1", sequence=4))
    again = payment.model_copy(update={"id": str(uuid.uuid4())})  # the same payment, redelivered as a new event
    _apply(db, _person(customer, 1), invoice, payment, again)
    kpis = _kpis(db, customer)
    assert (kpis["lifetime_value"], kpis["open_receivables"]) == ([_money("40.00")], [_money("60.00")])


def test_a_batch_publishes_each_customers_view_once_as_its_last_event_left_it(db: Session) -> None:
    busy, quiet = uuid.uuid4(), uuid.uuid4()
    batch = [_person(busy, 1), _person(quiet, 2), _about(busy, _order_event("placed", sequence=3)),
             _about(busy, _invoice_event("100.00", sequence=4)),
             _about(busy, _payment_event("40.00", {"i-1": "40.00"}, sequence=5))]
    apply_all(db, "view", [Delivery(topic="t", key=e.subject, event=e) for e in batch],
              view_consumers.apply_to_view, view_consumers.read_ahead)
    db.flush()
    published = [data for _, key, data in announced(db, "crm.customer.view.updated.v1")]
    assert sorted(d["customer_id"] for d in published) == sorted([str(busy), str(quiet)])
    [last] = [d for d in published if d["customer_id"] == str(busy)]
    # Every event still counts in the version; only the in-between documents are not published.
    assert (last["version"], last["kpis"]["lifetime_value"], last["source_sequences"]["sales"]) == (
        4, [_money("40.00")], 5)
    assert view_repository.get_view(db, busy).document is not None
    # Event by event (no batch), each one publishes.
    _apply(db, _about(busy, _order_event("confirmed", sequence=6)))
    assert len(announced(db, "crm.customer.view.updated.v1")) == 3
