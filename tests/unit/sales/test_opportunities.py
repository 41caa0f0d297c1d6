"""Opportunities: the pipeline's rules without a database, the use cases on one of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.sales.customers.tables import CustomerReplica
from services.sales.database import Base
from services.sales.opportunities import rules as sales
from services.sales.opportunities import service
from services.sales.opportunities.schemas import OpportunityCreate
from services.sales.pipeline_stages.rules import DEFAULT_STAGES
from shared.db import PLATFORM_METADATA, OutboxRecord, make_engine, make_sessions, utcnow
from shared.errors import Conflict, InvalidInput, PreconditionFailed


def test_stage_decides_status_category_and_probability() -> None:
    stages = {stage.name: stage for stage in DEFAULT_STAGES}
    assert sales.stage_facts(stages["negotiation"]) == {
        "stage": "negotiation", "status": "open", "forecast_category": "commit", "probability": 75}
    assert sales.stage_facts(stages["closed_won"])["status"] == "won"
    assert sales.stage_facts(stages["closed_lost"])["status"] == "lost"
    assert sales.stage_facts(stages["proposal"])["probability"] == 50


def test_amounts_respect_the_currency_and_are_not_negative() -> None:
    assert sales.check_amount(Decimal("10.5"), "EUR") == Decimal("10.50")
    assert sales.check_amount(Decimal("1000"), "JPY") == Decimal("1000")
    for amount, currency in ((Decimal("-1"), "EUR"), (Decimal("1.001"), "EUR"), (Decimal("1.5"), "JPY")):
        with pytest.raises(InvalidInput):
            sales.check_amount(amount, currency)


def test_a_closed_deal_stays_closed() -> None:
    moved = sales.change_opportunity({"stage": "closed_won"}, {"stage": "proposal"})
    with pytest.raises(Conflict):
        sales.check_closed_change("won", "closed_won", moved)
    sales.check_closed_change("open", "proposal", moved)
    assert sales.change_opportunity({"stage": "proposal"}, {"stage": "closed_lost"}) == {
        "stage": {"old": "proposal", "new": "closed_lost"}}


def test_opportunity_patch_splits_money_and_refuses_clearing_required_fields() -> None:
    assert sales.patch_fields({"amount": {"amount": Decimal("5"), "currency": "USD"}}) == {
        "amount": Decimal("5.00"), "currency": "USD"}
    with pytest.raises(InvalidInput):
        sales.patch_fields({"name": None})


@pytest.mark.parametrize(("old", "new", "action"), [
    (None, "open", "created"), ("open", "won", "won"), ("open", "lost", "lost"), ("open", "open", "updated")])
def test_opportunity_event_names_what_happened(old: str | None, new: str, action: str) -> None:
    assert sales.event_action(old, new) == action


# --- the use cases, on a database of their own ---------------------------------------------

TENANT = "acme"
CUSTOMER = uuid.UUID(int=7)


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'sales.db'}")
    PLATFORM_METADATA.create_all(engine)
    Base.metadata.create_all(engine)
    with make_sessions(engine)() as session:
        session.add(CustomerReplica(customer_id=CUSTOMER, tenant_id=TENANT, view_version=3, display_name="Ada Example",
                                    kind="person", view={"version": 3}, updated_at=utcnow()))
        session.flush()
        yield session
    engine.dispose()


def _events(db: Session) -> list[tuple[str, str, dict[str, Any]]]:
    return [(r.type, r.key, r.data) for r in db.scalars(select(OutboxRecord).order_by(OutboxRecord.sequence))]


def _open(db: Session, **fields: Any) -> service.Shown:
    body = OpportunityCreate.model_validate({"customer_id": str(CUSTOMER), "name": "Ada's deal",
                                             "amount": {"amount": "40", "currency": "EUR"}} | fields)
    return service.create_opportunity(db, TENANT, body, wait_seconds=0)


def _any_version(version: int) -> None:
    pass


def test_an_opportunity_for_a_customer_the_replica_does_not_know_is_refused(db: Session) -> None:
    with pytest.raises(InvalidInput):
        _open(db, customer_id=str(uuid.UUID(int=8)))
    assert _events(db) == []


def test_opening_an_opportunity_publishes_it_keyed_by_its_customer(db: Session) -> None:
    opened = _open(db)
    assert opened.customer is not None and opened.customer.display_name == "Ada Example"
    assert _events(db) == [("crm.sales.opportunity.created.v1", str(CUSTOMER), {
        "opportunity_id": str(opened.opportunity.id), "customer_id": str(CUSTOMER), "name": "Ada's deal",
        "amount": {"amount": "40.00", "currency": "EUR"}, "stage": "prospecting", "status": "open",
        "probability": 10, "version": 1, "owner": None, "team": None, "forecast_category": "pipeline",
        "expected_close_date": None, "close_reason": None, "competitor": None})]


def test_winning_a_deal_closes_it_and_publishes_what_changed(db: Session) -> None:
    opened = _open(db, stage="proposal")
    won = service.update_opportunity(db, TENANT, opened.opportunity.id,
                                     {"stage": "closed_won", "close_reason": "best offer"}, check_version=_any_version)
    assert (won.opportunity.status, won.opportunity.version) == ("won", 2)
    assert won.opportunity.closed_at is not None
    event_type, _, data = _events(db)[-1]
    assert event_type == "crm.sales.opportunity.won.v1"
    assert data["changes"]["stage"] == {"old": "proposal", "new": "closed_won"}
    assert data["changes"]["close_reason"] == {"old": None, "new": "best offer"}
    assert (data["forecast_category"], data["probability"]) == ("closed", 100)


def test_a_change_that_changes_nothing_publishes_nothing(db: Session) -> None:
    opened = _open(db)
    same = service.update_opportunity(db, TENANT, opened.opportunity.id, {"name": "Ada's deal"},
                                      check_version=_any_version)
    assert same.opportunity.version == 1 and len(_events(db)) == 1


def test_a_stale_version_is_refused_before_the_patch_is_read(db: Session) -> None:
    opened = _open(db)

    def stale(version: int) -> None:
        raise PreconditionFailed(f"at {version}")

    with pytest.raises(PreconditionFailed):
        service.update_opportunity(db, TENANT, opened.opportunity.id, {"name": None}, check_version=stale)


def test_erasure_blanks_the_name_and_keeps_the_figures(db: Session) -> None:
    opened = _open(db)
    service.erase_customer(db, TENANT, CUSTOMER)
    service.erase_customer(db, TENANT, CUSTOMER)  # a redelivery changes nothing more
    assert (opened.opportunity.name, opened.opportunity.amount, opened.opportunity.version) == (
        "(erased)", Decimal("40.00"), 2)
    assert [(t, d["changes"]) for t, _, d in _events(db)[1:]] == [
        ("crm.sales.opportunity.updated.v1", {"name": {"erased": True}})]
