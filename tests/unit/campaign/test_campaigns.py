"""Campaigns and their members: the rules without a database, the use cases on one of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.campaign.campaigns import rules as campaigns
from services.campaign.campaigns import service
from services.campaign.campaigns.routes import campaign_out
from services.campaign.campaigns.schemas import CampaignCreate
from services.campaign.campaigns.tables import Campaign
from services.campaign.customers.tables import CustomerReplica
from services.campaign.database import Base
from shared.db import PLATFORM_METADATA, OutboxRecord, make_engine, make_sessions, utcnow
from shared.errors import Conflict, InvalidInput, NotFound
from shared.http import PageRequest


def test_campaign_rules() -> None:
    with pytest.raises(InvalidInput):
        campaigns.check_dates(date(2026, 5, 2), date(2026, 5, 1))
    with pytest.raises(Conflict):
        campaigns.check_transition("completed", "active")
    with pytest.raises(Conflict):
        campaigns.check_can_add_member("cancelled")
    campaigns.check_can_add_member("active")
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
    service.update_campaign(db, TENANT, campaign.id, {"status": "active"}, check_version=_any_version)
    event_type, _, data = _events(db)[-1]
    assert event_type == "crm.campaign.campaign.updated.v1"
    assert data == {"campaign": campaign_out(campaign).model_dump(mode="json"),
                    "changes": {"status": {"old": "draft", "new": "active"}}}


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
