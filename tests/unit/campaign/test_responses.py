"""Campaign responses: the rules without a database, the use cases on one of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.campaign import contract
from services.campaign.campaigns import service as campaigns
from services.campaign.campaigns.schemas import CampaignCreate
from services.campaign.campaigns.tables import Campaign
from services.campaign.customers.tables import CustomerReplica
from services.campaign.database import Base
from services.campaign.responses import jobs, repository, rules, service
from services.campaign.responses.consumers import FOLLOWER
from services.campaign.responses.routes import response_out
from services.campaign.responses.schemas import ResponseRecord
from services.campaign.responses.tables import CampaignResponse
from services.campaign.settings import CampaignSettings
from shared.db import PLATFORM_METADATA, OutboxRecord, make_engine, make_sessions, unit_of_work, utcnow
from shared.errors import InvalidInput, NotFound
from shared.http import PageRequest

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)
TENANT = "acme"
ADA, BOB, NOBODY = uuid.UUID(int=7), uuid.UUID(int=8), uuid.UUID(int=9)
ALL = PageRequest(limit=50, after=None)


def test_a_response_happened_when_given_or_now_never_in_the_future() -> None:
    assert rules.occurred_at(None, NOW) == NOW
    in_berlin = datetime(2026, 12, 2, 8, 0, tzinfo=timezone(timedelta(hours=1)))
    assert rules.occurred_at(in_berlin, NOW) == datetime(2026, 12, 2, 7, 0, tzinfo=timezone.utc)
    assert rules.occurred_at(NOW + rules.CLOCK_SKEW, NOW) == NOW + rules.CLOCK_SKEW  # a clock slightly ahead
    with pytest.raises(InvalidInput) as refused:
        rules.occurred_at(NOW + timedelta(hours=1), NOW)
    assert refused.value.errors[0]["field"] == "occurred_at"  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput):
        rules.occurred_at(datetime.min.replace(tzinfo=timezone(timedelta(hours=5))), NOW)


def test_a_response_names_a_known_kind_and_nothing_else() -> None:
    ResponseRecord.model_validate({"customer_id": str(ADA), "kind": "unsubscribed"})
    for body in ({"customer_id": str(ADA), "kind": "bounced"}, {"customer_id": str(ADA), "kind": "opened", "x": 1},
                 {"customer_id": str(ADA), "kind": "opened", "occurred_at": "2026-12-02T09:00:00"},
                 {"customer_id": str(ADA), "kind": "opened", "variant": ""}):
        with pytest.raises(ValidationError):
            ResponseRecord.model_validate(body)
    kinds = ResponseRecord.model_fields["kind"].annotation.__args__  # type: ignore[union-attr]
    assert set(contract.RESPONSE_RECORDED) == set(kinds) == set(contract.RESPONSE_KINDS)


# --- the use cases, on a database of their own ---------------------------------------------


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
    return [(r.type, r.key, r.data) for r in db.scalars(select(OutboxRecord).order_by(OutboxRecord.sequence))
            if ".response." in r.type]


def _plan(db: Session) -> Campaign:
    return campaigns.create_campaign(db, TENANT, CampaignCreate.model_validate(
        {"name": "Spring", "channel": "email", "budget": {"amount": "500", "currency": "EUR"}}))


def _respond(db: Session, campaign: Campaign, customer: uuid.UUID, kind: str, **fields: Any) -> service.Shown:
    body = ResponseRecord.model_validate({"customer_id": str(customer), "kind": kind} | fields)
    return service.record_response(db, TENANT, campaign.id, body, wait_seconds=0)


def test_a_response_is_recorded_and_announced_under_its_kind_about_the_customer(db: Session) -> None:
    campaign = _plan(db)
    shown = _respond(db, campaign, ADA, "clicked", occurred_at="2026-12-01T10:00:00+01:00", variant="B")
    assert shown.customer is not None and shown.customer.display_name == "Ada Example"
    out = response_out(shown)
    assert (out.kind, out.variant) == ("clicked", "B")
    assert out.occurred_at == datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    # Exactly the payload readers were promised: ids, the campaign's name, the kind and when.
    assert _events(db) == [("crm.campaign.response.clicked.v1", str(ADA), {
        "response_id": str(out.id), "campaign_id": str(campaign.id), "campaign_name": "Spring",
        "customer_id": str(ADA), "kind": "clicked", "occurred_at": "2026-12-01T09:00:00Z"})]


def test_a_customer_need_not_be_a_member_but_must_be_known(db: Session) -> None:
    campaign = _plan(db)
    _respond(db, campaign, BOB, "registered")  # never added as a member
    with pytest.raises(InvalidInput) as refused:
        _respond(db, campaign, NOBODY, "opened")
    assert refused.value.errors[0]["field"] == "customer_id"  # type: ignore[attr-defined]
    with pytest.raises(NotFound):
        service.record_response(db, TENANT, uuid.uuid4(), ResponseRecord(customer_id=ADA, kind="opened"),
                                wait_seconds=0)
    with pytest.raises(NotFound):  # another tenant's campaign is as unknown as one that never was
        service.record_response(db, "other", campaign.id, ResponseRecord(customer_id=ADA, kind="opened"),
                                wait_seconds=0)
    assert [t for t, _, _ in _events(db)] == ["crm.campaign.response.registered.v1"]


def test_an_unsubscribe_is_announced_and_queues_one_withdrawal_of_the_campaigns_channel(db: Session) -> None:
    campaign = _plan(db)
    _respond(db, campaign, ADA, "clicked")
    shown = _respond(db, campaign, ADA, "unsubscribed", occurred_at="2026-12-01T10:00:00+01:00")
    assert "crm.campaign.response.unsubscribed.v1" in [t for t, _, _ in _events(db)]
    queued = repository.withdrawals_of(db, TENANT, ADA)
    assert [(w.response_id, w.channel, w.source, w.requested_at, w.attempts, w.outcome) for w in queued] == [
        (shown.response.id, "email", "unsubscribed from campaign Spring", datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc),
         0, None)]
    assert repository.withdrawals_of(db, TENANT, BOB) == []


def test_the_withdrawn_channel_outcomes_and_retries_follow_the_rules() -> None:
    assert [rules.consent_channel(c) for c in ("email", "sms", "phone", "event", "web", "direct_mail")] == [
        "email", "sms", "phone", "email", "email", "email"]
    assert [rules.withdrawal_outcome(s) for s in (200, 404, 422, 409, 400, 401, 429, 500, 503)] == [
        "withdrawn", "customer_gone", "refused", "refused", "refused", None, None, None, None]
    assert [rules.retry_at(n, NOW) - NOW for n in (1, 2, 3, 8, 40)] == [
        timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=20), timedelta(minutes=10),
        timedelta(minutes=10)]
    # A consent recorded after the unsubscribe stands, and so does an opt-out; anything else is withdrawn.
    assert rules.standing_consent({"status": "opt_in", "recorded_at": "2026-12-02T09:00:01+00:00"}, NOW) == "superseded"
    assert rules.standing_consent({"status": "opt_out", "recorded_at": "2026-12-01T09:00:00+00:00"},
                                  NOW) == "already_opted_out"
    assert rules.standing_consent({"status": "opt_in", "recorded_at": "2026-12-02T09:00:00+00:00"}, NOW) is None
    assert rules.standing_consent({"status": "unknown", "recorded_at": None}, NOW) is None
    assert rules.standing_consent({"status": "opt_in", "recorded_at": "not a time"}, NOW) is None
    assert rules.standing_consent({}, NOW) is None


def test_the_sync_job_keeps_a_withdrawal_it_could_not_carry_and_retries_it_later(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'campaign.db'}")
    PLATFORM_METADATA.create_all(engine)
    Base.metadata.create_all(engine)
    sessions = make_sessions(engine)
    with unit_of_work(sessions) as session:
        session.add(CustomerReplica(customer_id=ADA, tenant_id=TENANT, view_version=1, display_name="Ada Example",
                                    kind="person", view={"version": 1}, updated_at=utcnow()))
        session.flush()
        _respond(session, _plan(session), ADA, "unsubscribed")
    # No customer service configured: nothing is tried, the withdrawal waits.
    assert jobs.sync_consent(sessions, CampaignSettings(service="campaign")) == 0
    # One that refuses connections (port 1 of this machine): tried once, kept with the error, due again later.
    before = utcnow()
    assert jobs.sync_consent(sessions, CampaignSettings(service="campaign",
                                                        customer_service_url="http://127.0.0.1:1")) == 0
    with sessions() as session:
        (waiting,) = repository.withdrawals_of(session, TENANT, ADA)
        assert (waiting.attempts, waiting.outcome) == (1, None)
        assert waiting.last_error and "ConnectError" in waiting.last_error
        assert waiting.next_attempt_at is not None and waiting.next_attempt_at >= before + rules.FIRST_RETRY
        assert repository.due_withdrawals(session, utcnow(), 10) == []
    engine.dispose()


def test_responses_list_by_kind_and_customer_in_pages(db: Session) -> None:
    campaign, other = _plan(db), _plan(db)
    for customer, kind in ((ADA, "opened"), (ADA, "clicked"), (BOB, "opened"), (ADA, "opened")):
        _respond(db, campaign, customer, kind)
    _respond(db, other, ADA, "opened")
    every = service.list_responses(db, TENANT, campaign.id, ALL, {})
    assert [s.response.kind for s in every] == ["opened", "clicked", "opened", "opened"]
    opened = service.list_responses(db, TENANT, campaign.id, ALL, {"kind": "opened", "customer_id": ADA})
    assert len(opened) == 2 and {s.response.customer_id for s in opened} == {ADA}
    first = service.list_responses(db, TENANT, campaign.id, PageRequest(limit=2, after=None), {})
    rest = service.list_responses(db, TENANT, campaign.id, PageRequest(limit=2, after=first[1].response.id), {})
    assert [s.response.id for s in first[:2] + rest] == [s.response.id for s in every]
    with pytest.raises(NotFound):
        service.list_responses(db, "other", campaign.id, ALL, {})


def test_a_merged_response_is_announced_as_moved_not_as_a_new_response(db: Session) -> None:
    campaign = _plan(db)
    response = _respond(db, campaign, BOB, "replied").response
    response.customer_id = ADA  # as the life-cycle consumer re-points it
    FOLLOWER.moved(db, TENANT, response, BOB)
    moved = _events(db)[-1]
    assert moved[:2] == ("crm.campaign.response.moved.v1", str(ADA))
    assert (moved[2]["customer_id"], moved[2]["kind"]) == (str(ADA), "replied")
    assert moved[2]["response_id"] == str(response.id)
    assert FOLLOWER.model is CampaignResponse
