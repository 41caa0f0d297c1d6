"""Pipelines: the stage rules and the closed-deal rules without a database, the use cases on one of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.sales.customers.tables import CustomerReplica
from services.sales.database import Base
from services.sales.opportunities import rules as deals
from services.sales.opportunities import service as opportunities
from services.sales.opportunities.schemas import OpportunityCreate
from services.sales.pipeline_stages import rules as stages
from services.sales.pipeline_stages import service as pipeline
from services.sales.pipeline_stages.rules import DEFAULT_STAGES, StageDef
from services.sales.pipeline_stages.tables import PipelineStage
from services.sales.price_books.tables import PriceBook, PriceBookEntry
from services.sales.products.tables import Product
from shared.db import PLATFORM_METADATA, OutboxRecord, make_engine, make_sessions, utcnow
from shared.errors import Conflict, InvalidInput, NotFound
from shared.http import PageRequest

# --- the rules ---------------------------------------------------------------------------------


def _stage(name: str, outcome: str = "open", category: str = "pipeline", probability: int = 30,
           retired: bool = False) -> StageDef:
    return StageDef(name, name, 1, probability, category, outcome, retired=retired)


def _fields(problem: InvalidInput) -> list[str]:
    return [e["field"] for e in problem.errors or []]


def test_a_closing_stage_is_certain_either_way_and_an_open_one_is_never_closed() -> None:
    assert stages.check_stage(_stage("won", "won", "closed", 100)).outcome == "won"
    for stage, field in ((_stage("won", "won", "commit", 100), "forecast_category"),
                         (_stage("won", "won", "closed", 90), "probability"),
                         (_stage("lost", "lost", "omitted", 5), "probability"),
                         (_stage("late", "open", "closed", 90), "forecast_category"),
                         (_stage("Bad-Name"), "name")):
        with pytest.raises(InvalidInput) as refused:
            stages.check_stage(stage)
        assert _fields(refused.value) == [field]


def test_the_pipeline_keeps_exactly_one_won_stage_and_a_lost_and_an_open_one() -> None:
    with pytest.raises(InvalidInput) as second_won:
        stages.check_new_stage(DEFAULT_STAGES, _stage("won_again", "won", "closed", 100))
    assert _fields(second_won.value) == ["outcome"]
    with pytest.raises(Conflict):
        stages.check_new_stage(DEFAULT_STAGES, _stage("proposal"))  # names are keys, also when retired
    stages.check_new_stage(DEFAULT_STAGES, _stage("lost_to_budget", "lost", "omitted", 0))
    with pytest.raises(Conflict):
        stages.check_retirement(DEFAULT_STAGES, "closed_won", 0)
    with pytest.raises(Conflict):
        stages.check_retirement(DEFAULT_STAGES, "closed_lost", 0)
    stages.check_retirement(DEFAULT_STAGES, "qualification", 0)


def test_a_stage_with_open_deals_cannot_be_retired() -> None:
    with pytest.raises(Conflict) as refused:
        stages.check_retirement(DEFAULT_STAGES, "proposal", 2)
    assert "2 open opportunities" in refused.value.detail


def test_only_stages_in_use_take_deals_and_new_deals_start_in_the_first_open_one() -> None:
    pipeline_ = [_stage("demo", retired=True), *DEFAULT_STAGES]
    with pytest.raises(InvalidInput) as retired:
        stages.active_stage(pipeline_, "demo")
    assert _fields(retired.value) == ["stage"]
    with pytest.raises(InvalidInput):
        stages.active_stage(pipeline_, "nowhere")
    assert stages.first_open_stage(pipeline_).name == "prospecting"


def test_winning_needs_a_reason_and_losing_also_a_competitor() -> None:
    deals.check_close_reasons("open", None, None)
    deals.check_close_reasons("won", "best fit", None)
    with pytest.raises(InvalidInput) as won:
        deals.check_close_reasons("won", None, None)
    assert _fields(won.value) == ["close_reason"]
    with pytest.raises(InvalidInput) as lost:
        deals.check_close_reasons("lost", None, None)
    assert _fields(lost.value) == ["close_reason", "competitor"]


def test_a_closed_deal_keeps_its_figures_but_not_its_labels() -> None:
    deals.check_closed_change("won", "closed_won", {"owner": {"old": "a", "new": "b"}, "name": {}})
    for frozen in ("stage", "amount", "lines", "expected_close_date"):
        with pytest.raises(Conflict) as refused:
            deals.check_closed_change("lost", "closed_lost", {frozen: {}})
        assert "reopen" in refused.value.detail
    with pytest.raises(Conflict):
        deals.check_reopenable("open")
    with pytest.raises(InvalidInput):
        deals.check_reopen_stage(DEFAULT_STAGES[4])


def test_lines_add_up_to_the_amount_and_a_sent_amount_must_agree() -> None:
    line = deals.given_line(0, {"product_id": uuid.UUID(int=1), "quantity": Decimal("3"),
                                "unit_price": Decimal("9.99"), "discount_percent": Decimal("10")}, "EUR")
    assert (line["line_total"], line["price_book_id"]) == ("26.97", None)
    total = deals.lines_total([line, line], "EUR")
    assert total == Decimal("53.94")
    deals.check_amount_agrees(None, None, total, "EUR")
    deals.check_amount_agrees(Decimal("53.94"), "EUR", total, "EUR")
    for amount, currency in ((Decimal("50"), "EUR"), (Decimal("53.94"), "USD")):
        with pytest.raises(InvalidInput) as refused:
            deals.check_amount_agrees(amount, currency, total, "EUR")
        assert _fields(refused.value) == ["amount"]
    with pytest.raises(InvalidInput) as too_precise:
        deals.given_line(4, {"product_id": uuid.UUID(int=1), "quantity": Decimal("1"),
                             "unit_price": Decimal("1.001")}, "EUR")
    assert _fields(too_precise.value) == ["lines[4].unit_price"]


def test_a_pricing_problem_names_the_line_where_the_deal_has_it() -> None:
    problem = InvalidInput.on("lines[1].product_id", "no product")
    assert _fields(deals.renumbered(problem, [2, 5])) == ["lines[5].product_id"]


def test_a_deal_has_an_amount_or_lines_and_a_currency() -> None:
    with pytest.raises(InvalidInput) as nothing:
        deals.check_amount_source(set(), amount=None, currency=None, lines=None)
    assert _fields(nothing.value) == ["amount"]
    with pytest.raises(InvalidInput) as no_currency:
        deals.check_amount_source({"lines"}, amount=None, currency=None, lines=[object()])
    assert _fields(no_currency.value) == ["currency"]
    assert deals.check_amount_source({"lines", "currency"}, amount=None, currency="USD", lines=[object()]) == "USD"


# --- the use cases, on a database of their own ---------------------------------------------

TENANT = "acme"
CUSTOMER = uuid.UUID(int=7)
ANY_VERSION = lambda version: None  # noqa: E731 - a check_version that accepts every version


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


def _events(db: Session) -> list[tuple[str, dict[str, Any]]]:
    return [(r.type, r.data) for r in db.scalars(select(OutboxRecord).order_by(OutboxRecord.sequence))]


def _open(db: Session, by: str = "u-ada", **fields: Any) -> opportunities.Shown:
    body = OpportunityCreate.model_validate({"customer_id": str(CUSTOMER), "name": "Deal"} | (
        {} if "lines" in fields else {"amount": {"amount": "40", "currency": "EUR"}}) | fields)
    return opportunities.create_opportunity(db, TENANT, body, wait_seconds=0, by=by)


def _patch(db: Session, shown: opportunities.Shown, by: str = "u-ada", **patch: Any) -> opportunities.Shown:
    return opportunities.update_opportunity(db, TENANT, shown.opportunity.id, patch, check_version=ANY_VERSION, by=by)


def test_a_tenant_that_never_configured_stages_has_the_defaults_and_nothing_is_written(db: Session) -> None:
    listed = pipeline.list_stages(db, TENANT, include_retired=False)
    assert [(s.stage.name, s.stage.probability, s.stage.forecast_category, s.stage.outcome, s.configured)
            for s in listed] == [
        ("prospecting", 10, "pipeline", "open", False), ("qualification", 20, "pipeline", "open", False),
        ("proposal", 50, "best_case", "open", False), ("negotiation", 75, "commit", "open", False),
        ("closed_won", 100, "closed", "won", False), ("closed_lost", 0, "omitted", "lost", False)]
    _open(db, stage="negotiation")
    assert db.scalar(select(func.count()).select_from(PipelineStage)) == 0


def test_the_first_change_writes_the_defaults_then_applies_itself(db: Session) -> None:
    pipeline.create_stage(db, TENANT, {"name": "demo", "probability": 35, "forecast_category": "pipeline",
                                       "position": 3})
    listed = pipeline.list_stages(db, TENANT, include_retired=False)
    assert [s.stage.name for s in listed] == ["prospecting", "qualification", "demo", "proposal", "negotiation",
                                              "closed_won", "closed_lost"]
    assert all(s.configured for s in listed) and len(_events(db)) == 1
    demo = pipeline.get_stage(db, TENANT, "demo")
    assert (demo.stage.label, demo.stage.version) == ("Demo", 1)
    assert pipeline.list_stages(db, "other", include_retired=False)[0].configured is False


def test_a_deal_takes_its_stages_category_and_probability(db: Session) -> None:
    pipeline.create_stage(db, TENANT, {"name": "verbal_yes", "probability": 90, "forecast_category": "commit"})
    deal = _open(db, stage="verbal_yes", owner="u-bob", team="emea")
    assert (deal.opportunity.forecast_category, deal.opportunity.probability, deal.opportunity.status) == (
        "commit", 90, "open")
    created = _events(db)[-1]
    assert created[0] == "crm.sales.opportunity.created.v1"
    assert {k: created[1][k] for k in ("stage", "forecast_category", "probability", "owner", "team")} == {
        "stage": "verbal_yes", "forecast_category": "commit", "probability": 90, "owner": "u-bob", "team": "emea"}


def test_an_unknown_or_retired_stage_is_refused_naming_stage(db: Session) -> None:
    with pytest.raises(InvalidInput) as unknown:
        _open(db, stage="nowhere")
    assert _fields(unknown.value) == ["stage"]
    pipeline.retire_stage(db, TENANT, "qualification", check_version=ANY_VERSION)
    deal = _open(db)
    with pytest.raises(InvalidInput) as retired:
        _patch(db, deal, stage="qualification")
    assert _fields(retired.value) == ["stage"]


def test_a_stage_an_open_deal_is_in_cannot_be_retired_until_the_deal_moves_on(db: Session) -> None:
    deal = _open(db, stage="proposal")
    with pytest.raises(Conflict):
        pipeline.retire_stage(db, TENANT, "proposal", check_version=ANY_VERSION)
    _patch(db, deal, stage="closed_lost", close_reason="price", competitor="Rival GmbH")
    pipeline.retire_stage(db, TENANT, "proposal", check_version=ANY_VERSION)
    assert [s.stage.name for s in pipeline.list_stages(db, TENANT, include_retired=True) if s.stage.retired] == [
        "proposal"]
    assert "proposal" not in [s.stage.name for s in pipeline.list_stages(db, TENANT, include_retired=False)]
    # The closed deal still names its stage, and reads as before.
    assert opportunities.get_opportunity(db, TENANT, deal.opportunity.id).opportunity.stage == "closed_lost"


def test_changing_a_stage_honours_its_version_and_keeps_the_outcome_rules(db: Session) -> None:
    changed = pipeline.change_stage(db, TENANT, "proposal", {"probability": 40, "label": "Offer"},
                                    check_version=ANY_VERSION)
    assert (changed.stage.probability, changed.stage.label, changed.stage.version) == (40, "Offer", 2)
    with pytest.raises(InvalidInput) as closed_open_stage:
        pipeline.change_stage(db, TENANT, "proposal", {"forecast_category": "closed"}, check_version=ANY_VERSION)
    assert _fields(closed_open_stage.value) == ["forecast_category"]
    with pytest.raises(NotFound):
        pipeline.change_stage(db, TENANT, "nowhere", {"label": "x"}, check_version=ANY_VERSION)
    assert [d["name"] for t, d in _events(db) if t == "crm.sales.pipeline_stage.changed.v1"] == ["proposal"]


def test_winning_without_a_reason_or_losing_without_a_competitor_writes_nothing(db: Session) -> None:
    deal = _open(db, stage="negotiation")
    with pytest.raises(InvalidInput) as won:
        _patch(db, deal, stage="closed_won")
    assert _fields(won.value) == ["close_reason"]
    with pytest.raises(InvalidInput) as lost:
        _patch(db, deal, stage="closed_lost", close_reason="price")
    assert _fields(lost.value) == ["competitor"]
    with pytest.raises(InvalidInput):
        _open(db, stage="closed_won")
    assert (deal.opportunity.stage, deal.opportunity.version) == ("negotiation", 1)


def test_a_won_deal_stays_won_until_it_is_reopened_and_its_history_says_who_moved_it(db: Session) -> None:
    deal = _open(db, by="u-ada", stage="proposal")
    _patch(db, deal, by="u-bob", stage="negotiation", amount={"amount": "55", "currency": "EUR"})
    won = _patch(db, deal, by="u-bob", stage="closed_won", close_reason="best fit")
    assert (won.opportunity.status, won.opportunity.forecast_category, won.opportunity.probability) == (
        "won", "closed", 100)
    with pytest.raises(Conflict):
        _patch(db, deal, stage="proposal")
    with pytest.raises(Conflict):
        _patch(db, deal, amount={"amount": "99", "currency": "EUR"})
    renamed = _patch(db, deal, name="Deal (signed)")  # a closed deal's labels may still change
    assert renamed.opportunity.name == "Deal (signed)"
    reopened = opportunities.reopen_opportunity(db, TENANT, deal.opportunity.id, "negotiation", by="u-boss")
    assert (reopened.opportunity.status, reopened.opportunity.close_reason, reopened.opportunity.closed_at) == (
        "open", None, None)
    assert _events(db)[-1][0] == "crm.sales.opportunity.updated.v1"
    with pytest.raises(Conflict):
        opportunities.reopen_opportunity(db, TENANT, deal.opportunity.id, "proposal", by="u-boss")
    history = opportunities.stage_history(db, TENANT, deal.opportunity.id, PageRequest(limit=50, after=None))
    assert [(h.from_stage, h.to_stage, h.amount, h.changed_by) for h in history] == [
        (None, "proposal", Decimal("40.00"), "u-ada"), ("proposal", "negotiation", Decimal("55.00"), "u-bob"),
        ("negotiation", "closed_won", Decimal("55.00"), "u-bob"), ("closed_won", "negotiation", Decimal("55.00"),
                                                                    "u-boss")]
    assert all(h.currency == "EUR" for h in history)
    first_page = opportunities.stage_history(db, TENANT, deal.opportunity.id, PageRequest(limit=2, after=None))
    rest = opportunities.stage_history(db, TENANT, deal.opportunity.id, PageRequest(limit=2, after=first_page[1].id))
    assert [h.to_stage for h in rest] == ["closed_won", "negotiation"]


def test_a_won_event_carries_the_reason_and_the_new_fields(db: Session) -> None:
    deal = _open(db, stage="negotiation", owner="u-bob", team="emea", expected_close_date="2027-03-31")
    _patch(db, deal, stage="closed_won", close_reason="best fit", competitor="Rival GmbH")
    event_type, data = _events(db)[-1]
    assert event_type == "crm.sales.opportunity.won.v1"
    assert {k: data[k] for k in ("status", "forecast_category", "probability", "owner", "team", "expected_close_date",
                                 "close_reason", "competitor")} == {
        "status": "won", "forecast_category": "closed", "probability": 100, "owner": "u-bob", "team": "emea",
        "expected_close_date": "2027-03-31", "close_reason": "best fit", "competitor": "Rival GmbH"}


def test_a_move_within_the_pipeline_refreshes_category_and_probability_from_the_stage(db: Session) -> None:
    deal = _open(db, stage="proposal")
    pipeline.change_stage(db, TENANT, "proposal", {"probability": 45}, check_version=ANY_VERSION)
    assert deal.opportunity.probability == 50  # deals keep theirs until their own next change
    _patch(db, deal, owner="u-carl")
    assert deal.opportunity.probability == 45


def test_history_of_an_unknown_deal_is_not_found(db: Session) -> None:
    with pytest.raises(NotFound):
        opportunities.stage_history(db, TENANT, uuid.uuid4(), PageRequest(limit=5, after=None))


# --- lines, priced from the price books ---------------------------------------------------------


def _product(db: Session, sku: str) -> uuid.UUID:
    product_id = uuid.uuid4()
    db.add(Product(id=product_id, tenant_id=TENANT, kind="product", sku=sku, name=sku, category=None, description=None,
                   cost_amount=None, cost_currency=None, active=True, components=[], version=1, created_at=utcnow(),
                   updated_at=utcnow()))
    db.flush()
    return product_id


def _book(db: Session, prices: dict[uuid.UUID, str], currency: str = "EUR") -> uuid.UUID:
    book_id = uuid.uuid4()
    db.add(PriceBook(id=book_id, tenant_id=TENANT, name="List", currency=currency, customer_group=None,
                     value_tier=None, valid_from=date(2020, 1, 1), valid_to=None, status="active", version=1,
                     created_at=utcnow(), updated_at=utcnow(), retired_at=None))
    db.flush()
    for position, (product_id, price) in enumerate(prices.items()):
        db.add(PriceBookEntry(price_book_id=book_id, position=position, tenant_id=TENANT, product_id=product_id,
                              unit_price=Decimal(price), min_quantity=Decimal(1)))
    db.flush()
    return book_id


def test_a_deal_with_lines_is_worth_their_sum_priced_from_the_book_unless_a_price_is_given(db: Session) -> None:
    laptop, support = _product(db, "LAP-1"), _product(db, "SUP-1")
    book = _book(db, {laptop: "1000.00"})
    deal = _open(db, currency="EUR", lines=[
        {"product_id": str(laptop), "quantity": "2", "discount_percent": "5"},
        {"product_id": str(support), "quantity": "1", "unit_price": "99.50"}])
    lines = deal.opportunity.lines or []
    assert [(line["unit_price"], line["line_total"], line["price_book_id"]) for line in lines] == [
        ("1000.0000", "1900.00", str(book)), ("99.50", "99.50", None)]
    assert (deal.opportunity.amount, deal.opportunity.currency) == (Decimal("1999.50"), "EUR")
    with pytest.raises(InvalidInput) as disagrees:
        _open(db, amount={"amount": "2000.00", "currency": "EUR"},
              lines=[{"product_id": str(laptop), "quantity": "1"}])
    assert _fields(disagrees.value) == ["amount"]
    changed = _patch(db, deal, lines=[{"product_id": str(laptop), "quantity": "1"}])
    assert changed.opportunity.amount == Decimal("1000.00")
    with pytest.raises(InvalidInput) as amount_against_lines:
        _patch(db, deal, amount={"amount": "5.00", "currency": "EUR"})
    assert _fields(amount_against_lines.value) == ["amount"]


def test_a_line_nobody_prices_is_refused_naming_its_place_in_the_deal(db: Session) -> None:
    laptop, unpriced = _product(db, "LAP-1"), _product(db, "ODD-1")
    _book(db, {laptop: "10.00"})
    with pytest.raises(InvalidInput) as refused:
        _open(db, currency="EUR", lines=[{"product_id": str(laptop), "quantity": "1", "unit_price": "9.50"},
                                         {"product_id": str(laptop), "quantity": "1"},
                                         {"product_id": str(unpriced), "quantity": "1"}])
    assert _fields(refused.value) == ["lines[2]"]
    with pytest.raises(InvalidInput) as unknown:
        _open(db, currency="EUR", lines=[{"product_id": str(uuid.uuid4()), "quantity": "1", "unit_price": "5.00"}])
    assert _fields(unknown.value) == ["lines[0].product_id"]
    assert not [t for t, _ in _events(db) if t.startswith("crm.sales.opportunity")]


def test_two_first_changes_at_once_write_the_defaults_once(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline.create_stage(db, TENANT, {"name": "demo", "probability": 35, "forecast_category": "pipeline"})
    db.commit()
    # The second request looked before the first committed: it saw no stages and writes the defaults too.
    looked = iter([[]])
    real = pipeline.repository.stages_of
    monkeypatch.setattr(pipeline.repository, "stages_of", lambda s, t: next(looked, None) or real(s, t))
    changed = pipeline.change_stage(db, TENANT, "proposal", {"probability": 45}, check_version=ANY_VERSION)
    assert changed.stage.probability == 45
    assert db.scalar(select(func.count()).select_from(PipelineStage)) == 7
