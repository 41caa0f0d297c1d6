"""The campaign report and simulation: attribution and shrinkage rules without a database; the copies of
sales' outcomes (version-guarded), the report's per-model attribution across currencies and the
simulation's suppression, rates and side-by-side comparison on a database of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.campaign import contract
from services.campaign.campaigns import repository as campaign_rows
from services.campaign.campaigns import service as campaigns
from services.campaign.campaigns.schemas import CampaignCreate, CostIn
from services.campaign.campaigns.tables import Campaign
from services.campaign.customers.tables import CustomerReplica
from services.campaign.database import Base
from services.campaign.outcomes import service as outcomes
from services.campaign.outcomes.tables import OpportunityOutcome
from services.campaign.reports import rules, service as reports
from services.campaign.reports.rules import Touch
from services.campaign.responses.tables import CampaignResponse
from services.campaign.sends import service as sends
from services.campaign.sends.schemas import FrequencyCapIn
from services.campaign.sends.tables import CampaignSend
from services.campaign.simulations import rules as odds
from services.campaign.simulations import service as simulations
from services.campaign.simulations.schemas import PlanIn
from shared.db import PLATFORM_METADATA, make_engine, make_sessions, unit_of_work, utcnow
from shared.errors import InvalidInput
from shared.exchange_rates import Rate, RateBook
from shared.types import MoneyIn

TENANT = "acme"
A, B = uuid.UUID(int=1), uuid.UUID(int=2)
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=utcnow().tzinfo)


# --- attribution ------------------------------------------------------------------------------


def test_each_model_shares_one_conversion_among_the_touches_before_it() -> None:
    touches = [Touch(A, None, T0), Touch(B, None, T0 + timedelta(days=2)), Touch(A, "x", T0 + timedelta(days=5))]
    at, window = T0 + timedelta(days=6), timedelta(days=90)
    assert rules.credits(touches, at, "first_touch", window) == [(touches[0], Decimal(1))]
    assert rules.credits(touches, at, "last_touch", window) == [(touches[2], Decimal(1))]
    linear = rules.credits(touches, at, "linear", window)
    assert [t for t, _ in linear] == touches and sum(c for _, c in linear) == Decimal(1)
    # A touch after the conversion or before the window earns nothing.
    assert rules.credits(touches, T0 + timedelta(days=3), "last_touch", window) == [(touches[1], Decimal(1))]
    assert rules.credits(touches, at, "first_touch", timedelta(days=3)) == [(touches[2], Decimal(1))]
    assert rules.credits(touches, T0 - timedelta(seconds=1), "linear", window) == []


def test_a_lead_a_campaign_made_counts_that_campaign_even_without_its_response() -> None:
    window = timedelta(days=90)
    other = [Touch(B, None, T0)]
    made = rules.lead_touches(other, A, "x", T0 + timedelta(days=1), window)
    assert made == [*other, Touch(A, "x", T0 + timedelta(days=1))]
    # Its own response is there already: not counted twice.
    own = [Touch(A, None, T0)]
    assert rules.lead_touches(own, A, None, T0 + timedelta(days=1), window) == own
    assert rules.lead_touches(other, None, None, T0, window) == other


def test_money_is_converted_at_the_rate_of_its_day_either_way_or_not_at_all() -> None:
    rates = RateBook([Rate("USD", "EUR", Decimal("0.9"), date(2026, 1, 1)),
                      Rate("USD", "EUR", Decimal("0.8"), date(2026, 6, 1))])
    assert rates.convert(Decimal(100), "USD", "EUR", date(2026, 3, 1)) == Decimal("90.0")
    assert rates.convert(Decimal(100), "USD", "EUR", date(2026, 7, 1)) == Decimal("80.0")
    assert rates.convert(Decimal(80), "EUR", "USD", date(2026, 7, 1)) == Decimal(100)
    assert rates.convert(Decimal(100), "USD", "EUR", date(2025, 12, 31)) is None
    assert rates.convert(Decimal(100), "GBP", "EUR", date(2026, 7, 1)) is None
    assert RateBook([]).convert(Decimal(7), "EUR", "EUR", date(2020, 1, 1)) == Decimal(7)
    # A won deal at the rate of the day it was won; one not won has no value yet.
    deal = OpportunityOutcome(id=uuid.uuid4(), tenant_id=TENANT, customer_id=uuid.uuid4(), status="won",
                              amount=Decimal(100), currency="USD", created_at=T0,
                              won_at=datetime(2026, 3, 1, tzinfo=T0.tzinfo), version=2)
    assert outcomes.won_value(deal, "EUR", rates) == Decimal("90.0")
    deal.won_at = None
    assert outcomes.won_value(deal, "EUR", rates) is None


# --- simulation arithmetic ----------------------------------------------------------------------


def test_a_thin_history_is_shrunk_towards_the_channel_and_the_default() -> None:
    channel = odds.channel_rates("email", odds.Observed(delivered=0))
    assert channel["response"].rate == pytest.approx(0.03)
    assert (channel["response"].sample_size, channel["response"].basis) == (0, "prior")
    thin = odds.tier_rates(odds.Observed(delivered=10, responses=5), channel)
    # (5 + 30 x 0.03) / (10 + 30): the ten members weigh a quarter.
    assert thin["response"].rate == pytest.approx(5.9 / 40) and thin["response"].basis == "blended"
    broad = odds.tier_rates(odds.Observed(delivered=3000, responses=300), channel)
    assert broad["response"].rate == pytest.approx(300.9 / 3030) and broad["response"].basis == "history"
    expected = odds.expected(100, broad)
    assert expected.responses == pytest.approx(100 * 300.9 / 3030)
    assert odds.revenue(2.5, Decimal(400)) == Decimal(1000) and odds.revenue(2.5, None) is None
    assert odds.roi(Decimal(1500), Decimal(500)) == 2.0 and odds.roi(None, Decimal(500)) is None
    assert odds.best([("a", 1.0), ("b", None), ("c", 3.0)], highest=True) == "c"
    assert odds.best([("a", 1.0), ("c", 3.0)], highest=False) == "a"


# --- on a database ------------------------------------------------------------------------------


@pytest.fixture()
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'campaign.db'}")
    PLATFORM_METADATA.create_all(engine)
    Base.metadata.create_all(engine)
    yield make_sessions(engine)
    engine.dispose()


def _customer(session: Session, tier: str, *, consent: str = "opt_in") -> uuid.UUID:
    customer_id = uuid.uuid4()
    profile = {"display_name": "Someone", "kind": "person", "value_tier": tier,
               "consent": {"email": consent, "sms": "unknown", "phone": "opt_in"}}
    session.add(CustomerReplica(customer_id=customer_id, tenant_id=TENANT, view_version=1, display_name="Someone",
                                kind="person", view={"version": 1, "profile": profile}, updated_at=utcnow()))
    return customer_id


def _campaign(session: Session, members: list[uuid.UUID], *, name: str = "Spring", budget: str = "500",
              **plan: Any) -> Campaign:
    campaign = campaigns.create_campaign(session, TENANT, CampaignCreate.model_validate(
        {"name": name, "channel": "email", "budget": {"amount": budget, "currency": "EUR"}} | plan))
    for customer in members:
        campaigns.add_member(session, TENANT, campaign.id, customer, wait_seconds=0)
    return campaign


def _sent(session: Session, campaign: Campaign, customer_id: uuid.UUID, status: str = "sent",
          variant: str | None = None, at: datetime | None = None) -> None:
    member = campaign_rows.get_member(session, campaign.id, customer_id)
    assert member is not None
    send_id = uuid.uuid4()
    session.add(CampaignSend(
        id=send_id, tenant_id=TENANT, campaign_id=campaign.id, member_id=member.id, customer_id=customer_id,
        channel="email", variant=variant, status=status, reason=None, address=None,
        message_id=f"send.{send_id.hex}@x.example", queued_at=at or utcnow(), claimed_until=None,
        next_attempt_at=at or utcnow(), attempts=1, last_error=None,
        sent_at=(at or utcnow()) if status != "suppressed" else None, updated_at=utcnow()))


def _responded(session: Session, campaign: Campaign, customer_id: uuid.UUID, kind: str, at: datetime,
               variant: str | None = None) -> None:
    session.add(CampaignResponse(id=uuid.uuid4(), tenant_id=TENANT, campaign_id=campaign.id, customer_id=customer_id,
                                 kind=kind, variant=variant, send_id=None, occurred_at=at, recorded_at=at))


def _lead(session: Session, customer_id: uuid.UUID | None, at: datetime, *, campaign: Campaign | None = None,
          opportunity: uuid.UUID | None = None, version: int = 1) -> uuid.UUID:
    lead_id = uuid.uuid4()
    outcomes.take_lead(session, TENANT, contract.SalesLead(
        lead_id=lead_id, status="converted" if opportunity else "new", customer_id=customer_id,
        opportunity_id=opportunity, campaign_id=campaign.id if campaign else None, version=version), at)
    return lead_id


def _won(session: Session, customer_id: uuid.UUID, amount: str, currency: str, opened: datetime,
         won: datetime) -> uuid.UUID:
    opportunity_id = uuid.uuid4()
    facts = {"opportunity_id": opportunity_id, "customer_id": customer_id,
             "amount": {"amount": amount, "currency": currency}}
    outcomes.take_opportunity(session, TENANT, contract.SalesOpportunity(**facts, status="open", version=1), opened)
    outcomes.take_opportunity(session, TENANT, contract.SalesOpportunity(**facts, status="won", version=2), won)
    return opportunity_id


def test_copies_keep_the_newest_version_and_a_reopened_deal_is_no_longer_won(
        sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        customer = _customer(session, "gold")
        deal = _won(session, customer, "100", "EUR", T0, T0 + timedelta(days=1))
        facts = {"opportunity_id": deal, "customer_id": customer, "amount": {"amount": "999", "currency": "EUR"}}
        # A redelivered older version changes nothing.
        outcomes.take_opportunity(session, TENANT, contract.SalesOpportunity(**facts, status="open", version=1),
                                  T0 + timedelta(days=2))
    with sessions() as session:
        row = session.get(OpportunityOutcome, deal)
        assert row is not None and (row.status, row.amount, row.won_at) == ("won", Decimal(100), T0 + timedelta(days=1))
    with unit_of_work(sessions) as session:
        outcomes.take_opportunity(session, TENANT, contract.SalesOpportunity(**facts, status="open", version=3),
                                  T0 + timedelta(days=3))
    with sessions() as session:
        row = session.get(OpportunityOutcome, deal)
        assert row is not None and (row.status, row.amount, row.won_at) == ("open", Decimal(999), None)


def test_the_report_counts_reach_and_attributes_leads_and_revenue_by_the_chosen_model(
        sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        ada, bob, cy, dan = (_customer(session, tier) for tier in ("gold", "silver", "silver", "gold"))
        spring = _campaign(session, [ada, bob, cy, dan])
        summer = _campaign(session, [ada], name="Summer")
        for customer, status in ((ada, "sent"), (bob, "sent"), (cy, "sent"), (dan, "bounced")):
            _sent(session, spring, customer, status)
        campaigns.add_cost(session, TENANT, spring.id, _cost("400"))
        # Ada: Summer touched her first, Spring last; her deal is 1,000 EUR.
        _responded(session, summer, ada, "clicked", T0)
        _responded(session, spring, ada, "opened", T0 + timedelta(days=1))
        _responded(session, spring, ada, "clicked", T0 + timedelta(days=1, hours=1))
        _lead(session, ada, T0 + timedelta(days=2), campaign=spring)
        _won(session, ada, "1000", "EUR", T0 + timedelta(days=3), T0 + timedelta(days=10))
        # Bob: Spring only; his deal is 500 USD, at 0.9 EUR per USD on the day it was won.
        _responded(session, spring, bob, "replied", T0 + timedelta(days=1))
        outcomes.take_rate(session, TENANT, contract.SalesExchangeRate(
            rate_id=uuid.uuid4(), base="USD", quote="EUR", rate="0.9", valid_from=date(2026, 1, 1)))
        _won(session, bob, "500", "USD", T0 + timedelta(days=2), T0 + timedelta(days=5))
        # Cy: Spring only, 200 GBP that sales has no rate for: listed, never added.
        _responded(session, spring, cy, "unsubscribed", T0 + timedelta(days=1))
        _responded(session, spring, cy, "opened", T0 + timedelta(days=1))
        _won(session, cy, "200", "GBP", T0 + timedelta(days=2), T0 + timedelta(days=4))
    with sessions() as session:
        last = reports.campaign_report(session, TENANT, spring.id, model="last_touch", lookback_days=90)
        first = reports.campaign_report(session, TENANT, spring.id, model="first_touch", lookback_days=90)
        linear = reports.campaign_report(session, TENANT, spring.id, model="linear", lookback_days=90)
    total = last.total
    assert (total.members, total.reached, total.delivered, total.bounced) == (4, 4, 3, 1)
    assert (total.opened, total.clicked, total.responded, total.unsubscribed) == (2, 1, 2, 1)
    assert total.leads == 1 and total.opportunities == 3 and total.won_deals == 3
    assert total.revenue == Decimal(1000) + Decimal(450) and total.unconverted == {"GBP": Decimal(200)}
    # First touch: Ada's lead and deal are Summer's.
    assert first.total.leads == 0 and first.total.revenue == Decimal(450)
    # Linear: Ada's three touches, two of them Spring's.
    assert linear.total.won_deals == pytest.approx(Decimal(2) / 3 + 2)
    assert linear.total.revenue == pytest.approx(Decimal(1000) * 2 / 3 + 450)
    assert rules.roi(total.revenue, Decimal(400)) == pytest.approx(float((1450 - 400) / 400))
    assert rules.cost_per_lead(Decimal(400), total.leads) == Decimal(400)
    # Per tier: Ada (gold) and Bob, Cy (silver).
    assert last.by_tier["gold"].revenue == Decimal(1000) and last.by_tier["silver"].revenue == Decimal(450)
    assert last.by_tier["gold"].bounced == 1
    # A touch long before the window earns nothing.
    with sessions() as session:
        short = reports.campaign_report(session, TENANT, spring.id, model="last_touch", lookback_days=1)
    assert short.total.won_deals == 0 and short.total.opportunities == 2


def _cost(amount: str) -> CostIn:
    return CostIn.model_validate({"amount": {"amount": amount, "currency": "EUR"}, "incurred_on": "2026-11-01",
                                  "description": "Printing"})


def test_the_simulation_suppresses_as_a_send_would_and_prices_plans_side_by_side(
        sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        # History: a past e-mail campaign delivered to 40 gold members; 8 clicked, 4 became leads, 2 deals, 1 won.
        past_members = [_customer(session, "gold") for _ in range(40)]
        past = _campaign(session, past_members, name="Autumn")
        for index, customer in enumerate(past_members):
            _sent(session, past, customer)
            if index < 8:
                _responded(session, past, customer, "clicked", T0)
            if index < 4:
                deal = _won(session, customer, "2000", "EUR", T0, T0 + timedelta(days=1)) if index == 0 else None
                _lead(session, customer, T0, campaign=past,
                      opportunity=deal or (uuid.uuid4() if index == 1 else None))
        # The plan: 10 gold and 10 bronze with consent, 3 without, 2 already at the cap.
        gold = [_customer(session, "gold") for _ in range(10)]
        bronze = [_customer(session, "bronze") for _ in range(10)]
        refused = [_customer(session, "gold", consent="opt_out") for _ in range(3)]
        capped = [past_members[0], past_members[1]]
        sends.set_frequency_cap(session, TENANT, "email", FrequencyCapIn(max_contacts=1, period_days=30))
        spring = _campaign(session, gold + bronze + refused + capped)
        phone_list = _campaign(session, gold, name="Callers")
    with sessions() as session:
        simulation = simulations.simulate(session, TENANT, spring.id, [
            PlanIn(name="gold only", audience_id=None, budget=MoneyIn(amount="100", currency="EUR")),
            PlanIn(name="by phone", channel="phone")])
    planned, cheaper, phone = simulation.plans
    assert (planned.audience, planned.no_consent, planned.frequency_cap, planned.reachable) == (25, 3, 2, 20)
    tiers = {tier.tier: tier for tier in planned.tiers}
    # Gold: 40 delivered, 8 responded: (8 + 30 x channel) / 70, the channel being (8 + 30 x 0.03) / 70.
    channel = (8 + 30 * 0.03) / 70
    assert tiers["gold"].rates["response"].rate == pytest.approx((8 + 30 * channel) / 70)
    assert tiers["gold"].rates["response"].sample_size == 40 and tiers["gold"].rates["response"].basis == "history"
    assert tiers["bronze"].rates["response"].rate == pytest.approx(channel)  # no bronze history: the channel's
    assert tiers["bronze"].rates["response"].basis == "prior"
    lead_channel = (4 + 30 * 0.01) / 70
    expected_leads = 10 * (4 + 30 * lead_channel) / 70 + 10 * lead_channel
    assert planned.expected.leads == pytest.approx(expected_leads)
    assert simulation.average_deal == Decimal(2000) and simulation.average_deal_sample == 1
    assert planned.revenue == pytest.approx(Decimal(2000) * Decimal(str(round(planned.expected.won_deals, 6))))
    assert planned.cost == Decimal(500) and cheaper.cost == Decimal(100)
    assert cheaper.expected == planned.expected  # the same members, a smaller budget
    assert odds.roi(cheaper.revenue, cheaper.cost) > odds.roi(planned.revenue, planned.cost)  # type: ignore[operator]
    # By phone: another consent, no phone history (the default's rates), and no cap on the phone channel.
    assert (phone.no_consent, phone.frequency_cap, phone.reachable) == (0, 0, 25)
    assert {t.tier: t.rates["response"].rate for t in phone.tiers}["bronze"] == pytest.approx(0.10)
    with sessions() as session, pytest.raises(InvalidInput):
        simulations.simulate(session, TENANT, spring.id, [PlanIn(name="x", budget=MoneyIn(amount="1", currency="USD"))])
    with sessions() as session, pytest.raises(InvalidInput):
        simulations.simulate(session, TENANT, phone_list.id, [PlanIn(name="x", audience_id=uuid.uuid4())])


def _ab_test(session: Session, people: list[uuid.UUID], metric: str) -> tuple[Campaign, list[uuid.UUID],
                                                                              list[uuid.UUID]]:
    campaign = _campaign(session, people, name=f"Test by {metric}", test_share=50, winner_metric=metric,
                         test_window_hours=24, variants=[{"name": "A", "share": 50}, {"name": "B", "share": 50}])
    campaigns.launch_campaign(session, TENANT, campaign.id, check_version=lambda version: None)
    members = campaign_rows.members_of(session, campaign.id)
    in_a = sorted(c for c, m in members.items() if m.variant == "A")
    in_b = sorted(c for c, m in members.items() if m.variant == "B")
    # A: two leads, one of them a 100 EUR deal; B: one lead, a deal of 500 USD (450 EUR). A lead another
    # campaign made counts for neither.
    _lead(session, in_a[0], T0, campaign=campaign)
    _lead(session, in_a[1], T0, campaign=campaign, opportunity=_won(session, in_a[1], "100", "EUR", T0, T0))
    _lead(session, in_b[0], T0, campaign=campaign, opportunity=_won(session, in_b[0], "500", "USD", T0, T0))
    _lead(session, in_b[1], T0)
    _lead(session, in_b[2], T0, campaign=_campaign(session, [], name="Elsewhere"))
    campaign.launched_at = utcnow() - timedelta(hours=25)
    return campaign, in_a, in_b


def test_an_ab_test_can_be_won_by_the_leads_or_the_won_revenue_its_variants_brought(
        sessions: sessionmaker[Session]) -> None:
    with unit_of_work(sessions) as session:
        outcomes.take_rate(session, TENANT, contract.SalesExchangeRate(
            rate_id=uuid.uuid4(), base="USD", quote="EUR", rate="0.9", valid_from=date(2026, 1, 1)))
        people = [_customer(session, "gold") for _ in range(20)]
        by_leads, _, _ = _ab_test(session, people, "leads")
        by_revenue, _, _ = _ab_test(session, people, "won_revenue")
    assert campaigns.choose_winners(sessions, None) == 2  # type: ignore[arg-type]
    with sessions() as session:
        chosen_by_leads = campaigns.get_campaign(session, TENANT, by_leads.id)
        chosen_by_revenue = campaigns.get_campaign(session, TENANT, by_revenue.id)
    assert (chosen_by_leads.winner, chosen_by_leads.winner_reason) == (
        "A", "leads: A 2 of 5 (40.0%), B 1 of 5 (20.0%)")
    assert (chosen_by_revenue.winner, chosen_by_revenue.winner_reason) == (
        "B", "won_revenue: B 450.00 EUR from 5 (90.00 per member), A 100.00 EUR from 5 (20.00 per member)")
