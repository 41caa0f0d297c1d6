"""Campaigns and their members: the rules without a database, the use cases on one of their own."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.campaign.campaigns import rules as campaigns
from services.campaign.campaigns import service
from services.campaign.campaigns.routes import campaign_out
from services.campaign.campaigns.schemas import CampaignCreate, CostIn
from services.campaign.campaigns.tables import Campaign, CampaignMember
from services.campaign.customers.tables import CustomerReplica
from services.campaign.database import Base
from shared.db import PLATFORM_METADATA, OutboxRecord, make_engine, make_sessions, utcnow
from shared.errors import Conflict, InvalidInput, NotFound
from shared.http import PageRequest


def test_campaign_rules() -> None:
    with pytest.raises(InvalidInput):
        campaigns.check_dates(date(2026, 5, 2), date(2026, 5, 1))
    with pytest.raises(Conflict):
        campaigns.check_transition("completed", "running")
    with pytest.raises(Conflict):
        campaigns.check_patched_status("draft", "running")  # only a launch runs a campaign
    with pytest.raises(Conflict):
        campaigns.check_can_add_member("cancelled")
    campaigns.check_can_add_member("running")
    assert campaigns.patch_fields({"budget": {"amount": Decimal("9.99"), "currency": "EUR"}}) == {
        "budget_amount": Decimal("9.99"), "budget_currency": "EUR"}


def test_budgets_follow_the_money_rule() -> None:
    assert campaigns.check_budget(Decimal("9.9"), "EUR") == Decimal("9.90")
    for amount, currency in ((Decimal("-1"), "EUR"), (Decimal("1.001"), "EUR"), (Decimal("1.5"), "JPY"),
                             (Decimal(10) ** 15, "EUR")):
        with pytest.raises(InvalidInput):
            campaigns.check_budget(amount, currency)


# --- the use cases, on a database of their own ---------------------------------------------

TENANT = "acme"
ADA, BOB = uuid.UUID(int=7), uuid.UUID(int=8)


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'campaign.db'}")
    PLATFORM_METADATA.create_all(engine)
    Base.metadata.create_all(engine)
    with make_sessions(engine)() as session:
        for customer, name in ((ADA, "Ada Example"), (BOB, "Bob Example")):
            session.add(CustomerReplica(customer_id=customer, tenant_id=TENANT, view_version=1, display_name=name,
                                        kind="person", view={"version": 1}, updated_at=utcnow()))
        session.flush()
        yield session
    engine.dispose()


def _events(db: Session) -> list[tuple[str, str, dict[str, Any]]]:
    return [(r.type, r.key, r.data) for r in db.scalars(select(OutboxRecord).order_by(OutboxRecord.sequence))]


def _plan(db: Session, **fields: Any) -> Campaign:
    body = CampaignCreate.model_validate({"name": "Spring", "channel": "email",
                                          "budget": {"amount": "500", "currency": "EUR"}} | fields)
    return service.create_campaign(db, TENANT, body)


def _any_version(version: int) -> None:
    pass


def test_a_campaign_event_carries_the_campaign_as_the_api_shows_it(db: Session) -> None:
    campaign = _plan(db)
    # Its own payload model, and still the JSON the response model gave it.
    assert _events(db) == [("crm.campaign.campaign.created.v1", str(campaign.id),
                            {"campaign": campaign_out(campaign).model_dump(mode="json")})]
    service.update_campaign(db, TENANT, campaign.id, {"status": "cancelled"}, check_version=_any_version)
    event_type, _, data = _events(db)[-1]
    assert event_type == "crm.campaign.campaign.updated.v1"
    assert data == {"campaign": campaign_out(campaign).model_dump(mode="json"),
                    "changes": {"status": {"old": "draft", "new": "cancelled"}}}


def test_members_join_once_leave_and_are_events_about_the_customer(db: Session) -> None:
    campaign = _plan(db)
    added = service.add_member(db, TENANT, campaign.id, ADA, wait_seconds=0)
    assert added.customer is not None and added.customer.display_name == "Ada Example"
    with pytest.raises(Conflict):
        service.add_member(db, TENANT, campaign.id, ADA, wait_seconds=0)
    service.remove_member(db, TENANT, campaign.id, ADA)
    with pytest.raises(NotFound):
        service.remove_member(db, TENANT, campaign.id, ADA)
    again = service.add_member(db, TENANT, campaign.id, ADA, wait_seconds=0)
    assert again.member.id == added.member.id
    assert [(t, key, d["status"]) for t, key, d in _events(db)[1:]] == [
        ("crm.campaign.member.added.v1", str(ADA), "member"),
        ("crm.campaign.member.removed.v1", str(ADA), "removed"),
        ("crm.campaign.member.added.v1", str(ADA), "member")]


def test_a_finished_campaign_takes_no_members(db: Session) -> None:
    campaign = _plan(db)
    service.update_campaign(db, TENANT, campaign.id, {"status": "cancelled"}, check_version=_any_version)
    with pytest.raises(Conflict):
        service.add_member(db, TENANT, campaign.id, ADA, wait_seconds=0)


def test_a_merge_moves_only_memberships_the_survivor_does_not_have(db: Session) -> None:
    both, only_bob = _plan(db, name="Both"), _plan(db, name="Bob only")
    for campaign, customer in ((both, ADA), (both, BOB), (only_bob, BOB)):
        service.add_member(db, TENANT, campaign.id, customer, wait_seconds=0)
    bobs = [shown.member for shown in service.list_memberships(db, TENANT, BOB, PageRequest(limit=50, after=None))]
    movable = service.movable_members(db, bobs, ADA)
    assert [m.campaign_id for m in movable] == [only_bob.id]
    moved = movable[0]
    moved.customer_id = ADA
    service.follow_customer(db, TENANT, moved, BOB)
    assert [(key, d["customer_id"], d["status"]) for t, key, d in _events(db)[-2:]] == [
        (str(BOB), str(BOB), "removed"), (str(ADA), str(ADA), "member")]


# --- plans: variants, launch, costs ----------------------------------------------------------------


def test_variant_shares_add_up_to_100_and_names_are_unique() -> None:
    campaigns.check_variants([{"name": "A", "share": 50}, {"name": "B", "share": 50}])
    with pytest.raises(InvalidInput) as short:
        campaigns.check_variants([{"name": "A", "share": 50}, {"name": "B", "share": 40}])
    assert short.value.errors[0]["field"] == "variants"
    with pytest.raises(InvalidInput) as twice:
        campaigns.check_variants([{"name": "A", "share": 50}, {"name": "A", "share": 50}])
    assert twice.value.errors[0]["field"] == "variants[1].name"


def test_variants_split_the_members_exactly_and_a_test_share_leaves_the_rest_for_the_winner() -> None:
    keys = [(f"{n:04d}", n) for n in range(10)]
    thirds = [campaigns.Variant("A", 34), campaigns.Variant("B", 33), campaigns.Variant("C", 33)]
    split = campaigns.assign_variants(keys, thirds, None)
    assert sorted(Counter(split.values()).items()) == [("A", 4), ("B", 3), ("C", 3)]
    assert campaigns.assign_variants(list(reversed(keys)), thirds, None) == split  # the digest orders, not the input
    tested = campaigns.assign_variants(keys, [campaigns.Variant("A", 50), campaigns.Variant("B", 50)], 20)
    assert Counter(tested.values()) == {"A": 1, "B": 1, None: 8}
    assert set(campaigns.assign_variants(keys, [], None).values()) == {None}


def _audience_of(db: Session, *customers: uuid.UUID) -> uuid.UUID:
    from services.campaign.audiences import service as audiences
    from services.campaign.audiences.schemas import AudienceIn
    return audiences.create_audience(db, TENANT, AudienceIn.model_validate(
        {"name": "Chosen", "static_customer_ids": [str(c) for c in customers]})).id


def test_a_launch_freezes_the_audience_gives_variants_and_runs_or_schedules(db: Session) -> None:
    cy = uuid.UUID(int=9)
    db.add(CustomerReplica(customer_id=cy, tenant_id=TENANT, view_version=1, display_name="Cy", kind="person",
                           view={"version": 1}, updated_at=utcnow()))
    db.flush()
    audience = _audience_of(db, ADA, BOB, cy)
    campaign = _plan(db, audience_id=str(audience), variants=[{"name": "A", "share": 50, "subject": "Hi"},
                                                              {"name": "B", "share": 50}])
    service.add_member(db, TENANT, campaign.id, BOB, wait_seconds=0)
    service.remove_member(db, TENANT, campaign.id, BOB)  # removed by hand: the launch does not bring Bob back
    launched = service.launch_campaign(db, TENANT, campaign.id, check_version=_any_version)
    assert (launched.campaign.status, launched.members, launched.awaiting_winner) == ("running", 2, 0)
    assert sorted(launched.by_variant.values()) == [1, 1] and launched.campaign.launched_at is not None
    members = {m.customer_id: m for m in db.scalars(select(CampaignMember))}
    assert (members[ADA].status, members[cy].status, members[BOB].status) == ("member", "member", "removed")
    added = [d for t, _, d in _events(db) if t == "crm.campaign.member.added.v1" and d["customer_id"] != str(BOB)]
    assert sorted(d["variant"] for d in added) == ["A", "B"]
    assert _events(db)[-1][2]["changes"]["status"] == {"old": "draft", "new": "running"}
    with pytest.raises(Conflict):
        service.launch_campaign(db, TENANT, campaign.id, check_version=_any_version)
    with pytest.raises(Conflict):  # who it is for was frozen at the launch
        service.update_campaign(db, TENANT, campaign.id, {"audience_id": None}, check_version=_any_version)
    service.update_campaign(db, TENANT, campaign.id, {"status": "completed"}, check_version=_any_version)


def test_a_launch_needs_a_budget_and_someone_to_reach_and_a_later_start_is_scheduled(db: Session, tmp_path: Path) -> None:
    nobody = _plan(db)
    with pytest.raises(InvalidInput) as empty:
        service.launch_campaign(db, TENANT, nobody.id, check_version=_any_version)
    assert empty.value.errors[0]["field"] == "audience_id"
    free = _plan(db, budget={"amount": "0", "currency": "EUR"}, audience_id=str(_audience_of(db, ADA)))
    with pytest.raises(InvalidInput) as unfunded:
        service.launch_campaign(db, TENANT, free.id, check_version=_any_version)
    assert unfunded.value.errors[0]["field"] == "budget"
    with pytest.raises(InvalidInput):
        _plan(db, audience_id=str(uuid.uuid4()))
    later = _plan(db, audience_id=str(_audience_of(db, ADA)), starts_on=str(date.today() + timedelta(days=3)))
    assert service.launch_campaign(db, TENANT, later.id, check_version=_any_version).campaign.status == "scheduled"
    db.commit()
    sessions = make_sessions(db.get_bind())  # type: ignore[arg-type]
    assert service.start_due_campaigns(sessions, None) == 0  # type: ignore[arg-type]
    later.starts_on = date.today()
    db.commit()
    assert service.start_due_campaigns(sessions, None) == 1  # type: ignore[arg-type]
    db.expire_all()
    assert service.get_campaign(db, TENANT, later.id).status == "running"


def test_costs_are_booked_in_the_budgets_currency_and_add_up(db: Session) -> None:
    campaign = _plan(db)
    for amount in ("120.50", "79.50"):
        service.add_cost(db, TENANT, campaign.id, CostIn.model_validate(
            {"amount": {"amount": amount, "currency": "EUR"}, "incurred_on": "2026-12-01", "description": "Ads"}))
    assert campaign_out(campaign).actual_cost.amount == Decimal("200.00")
    assert _events(db)[-1][2]["campaign"]["actual_cost"] == {"amount": "200.00", "currency": "EUR"}
    with pytest.raises(InvalidInput) as foreign:
        service.add_cost(db, TENANT, campaign.id, CostIn.model_validate(
            {"amount": {"amount": "5", "currency": "USD"}, "incurred_on": "2026-12-01", "description": "Ads"}))
    assert foreign.value.errors[0]["field"] == "amount.currency"
    assert len(service.list_costs(db, TENANT, campaign.id, PageRequest(limit=50, after=None))) == 2


def test_an_ab_test_says_how_and_when_its_winner_is_chosen() -> None:
    two = [{"name": "A", "share": 50}, {"name": "B", "share": 50}]
    campaigns.check_ab_test(two, 20, "clicked", 24)
    campaigns.check_ab_test(two, None, None, None)
    for variants, share, metric, window, field in ((two, 20, None, 24, "winner_metric"),
                                                   (two, 20, "clicked", None, "test_window_hours"),
                                                   (two[:1], 20, "clicked", 24, "variants"),
                                                   (two, None, "clicked", None, "winner_metric")):
        with pytest.raises(InvalidInput) as refused:
            campaigns.check_ab_test(variants, share, metric, window)
        assert refused.value.errors[0]["field"] == field


def test_the_winner_has_the_best_rate_and_the_reason_shows_every_variant() -> None:
    winner, reason = campaigns.choose_winner("clicked", [campaigns.VariantResult("A", 50, 8),
                                                         campaigns.VariantResult("B", 40, 8)])
    assert winner == "B" and reason == "clicked: B 8 of 40 (20.0%), A 8 of 50 (16.0%)"
    tie, _ = campaigns.choose_winner("opened", [campaigns.VariantResult("A", 10, 1), campaigns.VariantResult("B", 20, 2)])
    assert tie == "B"  # the same rate: the variant more members got


def test_after_the_window_the_best_variant_wins_and_the_waiting_members_get_it(db: Session) -> None:
    from services.campaign.responses import service as responses
    from services.campaign.responses.schemas import ResponseRecord
    people = [uuid.UUID(int=100 + n) for n in range(20)]
    for n, customer in enumerate(people):
        db.add(CustomerReplica(customer_id=customer, tenant_id=TENANT, view_version=1, display_name=f"P{n}",
                               kind="person", view={"version": 1}, updated_at=utcnow()))
    db.flush()
    campaign = _plan(db, audience_id=str(_audience_of(db, *people)), test_share=50, winner_metric="clicked",
                     test_window_hours=24, variants=[{"name": "A", "share": 50}, {"name": "B", "share": 50}])
    launched = service.launch_campaign(db, TENANT, campaign.id, check_version=_any_version)
    assert (launched.by_variant, launched.awaiting_winner) == ({"A": 5, "B": 5}, 10)
    members = list(db.scalars(select(CampaignMember).where(CampaignMember.campaign_id == campaign.id)))
    clickers = [m.customer_id for m in members if m.variant == "B"][:3] + [m.customer_id for m in members
                                                                            if m.variant == "A"][:1]
    for customer in clickers:
        responses.record_response(db, TENANT, campaign.id, ResponseRecord.model_validate(
            {"customer_id": str(customer), "kind": "clicked"}), wait_seconds=0)
    db.commit()
    sessions = make_sessions(db.get_bind())  # type: ignore[arg-type]
    assert service.choose_winners(sessions, None) == 0  # type: ignore[arg-type]  # the window is still open
    campaign.launched_at = utcnow() - timedelta(hours=25)
    db.commit()
    assert service.choose_winners(sessions, None) == 1  # type: ignore[arg-type]
    assert service.choose_winners(sessions, None) == 0  # type: ignore[arg-type]  # chosen once
    db.expire_all()
    chosen = service.get_campaign(db, TENANT, campaign.id)
    assert (chosen.winner, chosen.winner_reason) == ("B", "clicked: B 3 of 5 (60.0%), A 1 of 5 (20.0%)")
    assert Counter(m.variant for m in db.scalars(select(CampaignMember))) == {"B": 15, "A": 5}
    assert _events(db)[-1][2]["changes"]["winner"] == {"old": None, "new": "B"}
