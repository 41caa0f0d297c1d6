"""Opportunity use cases: open, list, read, change, reopen deals and read their stage history, and follow their
customers' life cycle.

A deal's stage is one of its tenant's pipeline (``pipeline_stages.service.pipeline``); its
lines without a price are priced by the price books (``price_quotes.service.price_lines``).
Every stage change, the opening included, writes a row of history with who made it and
what the deal was worth then. Every function works inside the caller's unit of work and
never commits; each change publishes its event in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from services.sales import contract
from services.sales.customers import repository as customers
from services.sales.customers.tables import CustomerReplica
from services.sales.forecast import service as forecast
from services.sales.opportunities import repository, rules
from services.sales.opportunities.schemas import LineIn, OpportunityCreate
from services.sales.opportunities.tables import Opportunity, StageChange
from services.sales.pipeline_stages import rules as stage_rules
from services.sales.pipeline_stages import service as pipeline
from services.sales.pipeline_stages.rules import StageDef
from services.sales.price_quotes.rules import LineRequest
from services.sales.price_quotes.service import GivenLine, check_given_prices, price_lines
from services.sales.products import repository as products
from shared.db import utcnow
from shared.errors import InvalidInput, NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.lifecycle import ERASED_TEXT
from shared.outbox import publish
from shared.types import Money


@dataclass(frozen=True)
class Shown:
    """An opportunity with its customer as the replica knows it (None: erased or not replicated yet)."""

    opportunity: Opportunity
    customer: CustomerReplica | None


def create_opportunity(session: Session, tenant: str, body: OpportunityCreate, *, wait_seconds: float,
                       require_known_customer: bool = True, by: str | None = None,
                       may_approve: bool = False) -> Shown:
    """Open a deal. ``require_known_customer=False``: for a customer just created elsewhere, which the replica
    may not know yet. ``by``: the caller's subject, for the history; ``may_approve``: discounts above the
    tenant's threshold are allowed (the caller holds ``sales:approve``)."""
    sent = {name: getattr(body, name) for name in body.model_fields_set}
    rules.refuse_nulls(sent)
    currency = rules.check_amount_source(body.model_fields_set, amount=body.amount, currency=body.currency,
                                         lines=body.lines)
    amount = rules.check_amount(body.amount.amount, currency) if body.amount is not None else None
    stages = pipeline.pipeline(session, tenant)
    stage = stage_rules.active_stage(stages, body.stage) if body.stage else stage_rules.first_open_stage(stages)
    customer = (customers.require_customer(session, tenant, body.customer_id, wait_seconds=wait_seconds)
                if require_known_customer else customers.find_customer(session, tenant, body.customer_id))
    lines = _priced_lines(session, tenant, customer, currency, body.lines, may_approve=may_approve) if body.lines \
        else None
    if lines:
        total = rules.lines_total(lines, currency)
        rules.check_amount_agrees(amount, currency, total, currency)
        amount = total
    assert amount is not None  # check_amount_source: an amount, or lines
    rules.check_close_reasons(stage.outcome, body.close_reason, body.competitor)
    now = utcnow()
    opportunity = Opportunity(
        id=new_id(), tenant_id=tenant, customer_id=body.customer_id, name=body.name, amount=amount, currency=currency,
        owner=body.owner, team=body.team, region=forecast.region_of_customer(session, body.customer_id), lines=lines, close_reason=body.close_reason, competitor=body.competitor,
        expected_close_date=body.expected_close_date, version=1, created_at=now, updated_at=now,
        closed_at=now if stage.outcome != "open" else None, **rules.stage_facts(stage),
    )
    session.add(opportunity)
    forecast.deal_changed(session, tenant, None, forecast.deal_of(opportunity))
    _record_move(session, opportunity, None, by)
    publish(session, contract.OPPORTUNITY_CREATED, contract.OpportunityCreated(**_facts(opportunity)),
            subject=str(opportunity.customer_id), tenant=tenant)
    return Shown(opportunity, customer)


def list_opportunities(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Shown]:
    """The page's opportunities, plus one more if there is a next page."""
    rows = repository.list_opportunities(session, tenant, page, filters)
    found = customers.find_customers(session, tenant, {o.customer_id for o in rows})
    return [Shown(o, found.get(o.customer_id)) for o in rows]


def get_opportunity(session: Session, tenant: str, opportunity_id: uuid.UUID) -> Shown:
    opportunity = _found(session, tenant, opportunity_id)
    return Shown(opportunity, customers.find_customer(session, tenant, opportunity.customer_id))


def update_opportunity(session: Session, tenant: str, opportunity_id: uuid.UUID, patch: dict[str, Any], *,
                       check_version: Callable[[int], None], by: str | None = None,
                       may_approve: bool = False) -> Shown:
    """Apply a partial update; ``check_version`` refuses a stale one (the client's If-Match)."""
    opportunity = _found(session, tenant, opportunity_id, for_change=True)
    check_version(opportunity.version)
    fields = rules.patch_fields(patch)
    # A closed deal refuses new figures before anything is looked up or priced for them.
    rules.check_closed_change(opportunity.status, opportunity.stage,
                              rules.change_opportunity(_current(opportunity, fields), fields))
    customer = customers.find_customer(session, tenant, opportunity.customer_id)
    stages = pipeline.pipeline(session, tenant)
    if "stage" in fields and fields["stage"] != opportunity.stage:
        fields |= rules.stage_facts(stage_rules.active_stage(stages, fields["stage"]))
    if "lines" in fields:
        lines = [line if isinstance(line, LineIn) else LineIn.model_validate(line) for line in fields["lines"]]
        fields["lines"] = _priced_lines(session, tenant, customer, fields.get("currency", opportunity.currency), lines,
                                        may_approve=may_approve) or None
    lines_now = fields["lines"] if "lines" in fields else opportunity.lines
    if lines_now:
        # Lines not sent again were priced in the deal's currency: an amount in another is refused.
        priced_in = fields.get("currency", opportunity.currency) if "lines" in fields else opportunity.currency
        total = rules.lines_total(lines_now, priced_in)
        rules.check_amount_agrees(fields.get("amount"), fields.get("currency"), total, priced_in)
        fields["amount"], fields["currency"] = total, priced_in
    diff = rules.change_opportunity(_current(opportunity, fields), fields)
    rules.check_closed_change(opportunity.status, opportunity.stage, diff)
    if diff:
        diff |= _stage_refresh(opportunity, stages, fields)
    if {"status", "close_reason", "competitor"} & diff.keys():
        rules.check_close_reasons(_after(opportunity, diff, "status"), _after(opportunity, diff, "close_reason"),
                                  _after(opportunity, diff, "competitor"))
    if diff:
        _apply(session, tenant, opportunity, diff, by)
    return Shown(opportunity, customer)


def reopen_opportunity(session: Session, tenant: str, opportunity_id: uuid.UUID, stage_name: str, *,
                       by: str | None = None, check_version: Callable[[int], None] = lambda _: None) -> Shown:
    """Move a won or lost deal back into an open stage; its close reason and competitor go (a manager's call).
    ``check_version`` refuses a stale reopening (the client's If-Match)."""
    opportunity = _found(session, tenant, opportunity_id, for_change=True)
    check_version(opportunity.version)
    rules.check_reopenable(opportunity.status)
    stage = stage_rules.active_stage(pipeline.pipeline(session, tenant), stage_name)
    rules.check_reopen_stage(stage)
    fields = rules.stage_facts(stage) | {"close_reason": None, "competitor": None}
    _apply(session, tenant, opportunity, rules.change_opportunity(_current(opportunity, fields), fields), by)
    return Shown(opportunity, customers.find_customer(session, tenant, opportunity.customer_id))


def stage_history(session: Session, tenant: str, opportunity_id: uuid.UUID, page: PageRequest) -> list[StageChange]:
    """A deal's stage changes, oldest first, plus one more if there is a next page."""
    _found(session, tenant, opportunity_id)
    return repository.stage_changes(session, tenant, opportunity_id, page)


def follow_customer(session: Session, tenant: str, opportunity: Opportunity, previous: uuid.UUID) -> None:
    """A merge or an unmerge moved the opportunity from ``previous`` to another customer."""
    before = forecast.deal_of(opportunity)
    # Read without waiting on the replica's row: the merge's consumer must not queue behind the view's.
    opportunity.region = forecast.region_of_customer(session, opportunity.customer_id, wait=False)
    forecast.deal_changed(session, tenant, before, forecast.deal_of(opportunity))
    opportunity.version += 1
    opportunity.updated_at = utcnow()
    _changed(session, tenant, "updated", opportunity,
             {"customer_id": {"old": str(previous), "new": str(opportunity.customer_id)}})


def erase_customer(session: Session, tenant: str, customer_id: uuid.UUID) -> None:
    """The customer is erased: names go; amounts and stages, which are no one's personal data, stay for the figures."""
    for opportunity in repository.opportunities_of(session, tenant, customer_id):
        if opportunity.name != ERASED_TEXT:
            opportunity.name = ERASED_TEXT
            opportunity.version += 1
            opportunity.updated_at = utcnow()
            _changed(session, tenant, "updated", opportunity, {"name": {"erased": True}})


def _found(session: Session, tenant: str, opportunity_id: uuid.UUID, *, for_change: bool = False) -> Opportunity:
    """The deal, or a 404; ``for_change``: locked until the transaction ends, so two changes of one deal run
    one after the other (each sees what the other wrote: its version, and what the forecast's rollup holds)."""
    opportunity = repository.get_opportunity(session, tenant, opportunity_id, lock=for_change)
    if opportunity is None:
        raise NotFound(f"No opportunity {opportunity_id}.")
    return opportunity


def priced_lines(session: Session, tenant: str, customer: CustomerReplica | None, currency: str,
                 lines: Sequence[LineIn], *, may_approve: bool) -> list[dict[str, Any]]:
    """Lines priced as a deal's are (orders placed directly price theirs the same way)."""
    return _priced_lines(session, tenant, customer, currency, lines, may_approve=may_approve)


def _priced_lines(session: Session, tenant: str, customer: CustomerReplica | None, currency: str,
                  lines: Sequence[LineIn], *, may_approve: bool) -> list[dict[str, Any]]:
    """Every line priced: as sent when it has a unit price (held to the discount threshold against the book's
    price all the same), else by the applicable price book (today's)."""
    known = products.find_products(session, tenant, (line.product_id for line in lines))
    priced: dict[int, dict[str, Any]] = {}
    for index, line in enumerate(lines):
        if line.unit_price is not None:
            if line.product_id not in known:
                raise InvalidInput.on(f"lines[{index}].product_id", f"no product {line.product_id}")
            priced[index] = rules.given_line(index, vars(line), currency)
    given = [GivenLine(index=i, product_id=line.product_id, quantity=line.quantity,
                       unit_price=Decimal(priced[i]["unit_price"]), discount_percent=Decimal(priced[i]["discount_percent"]))
             for i, line in enumerate(lines) if i in priced]
    check_given_prices(session, tenant, customer=customer, currency=currency, lines=given, on=utcnow().date(),
                       may_approve=may_approve)
    asked = [index for index, line in enumerate(lines) if line.unit_price is None]
    if asked:
        requests = [LineRequest(product_id=lines[i].product_id, quantity=lines[i].quantity,
                                discount_percent=lines[i].discount_percent or Decimal(0)) for i in asked]
        try:
            quoted = price_lines(session, tenant, customer=customer, currency=currency, lines=requests,
                                 on=utcnow().date(), may_approve=may_approve)
        except InvalidInput as problem:
            raise rules.renumbered(problem, asked) from problem
        for index, line in zip(asked, quoted, strict=True):
            priced[index] = rules.stored_line(
                product_id=line.product_id, quantity=line.quantity, unit_price=line.unit_price,
                discount_percent=line.discount_percent, line_total=line.line_total,
                price_book_id=line.price_book_id, reason=line.reason)
    return [priced[index] for index in range(len(lines))]


def _current(opportunity: Opportunity, fields: dict[str, Any]) -> dict[str, Any]:
    return {name: getattr(opportunity, name) for name in fields}


def _after(opportunity: Opportunity, diff: dict[str, Any], name: str) -> Any:
    return diff[name]["new"] if name in diff else getattr(opportunity, name)


def _stage_refresh(opportunity: Opportunity, stages: list[StageDef], fields: dict[str, Any]) -> dict[str, Any]:
    """A change that stays in its stage takes the stage's category and probability as they are now."""
    if "stage" in fields and fields["stage"] != opportunity.stage:
        return {}
    stage = next((s for s in stages if s.name == opportunity.stage and not s.retired), None)
    if stage is None:
        return {}  # a closed deal in a retired stage keeps what it had
    facts = {"forecast_category": stage.forecast_category, "probability": stage.probability}
    return rules.change_opportunity(_current(opportunity, facts), facts)


def _apply(session: Session, tenant: str, opportunity: Opportunity, diff: dict[str, Any], by: str | None) -> None:
    """Write a change, its history if it moved the deal, its forecast rollup rows, and its event."""
    old_status, old_stage = opportunity.status, opportunity.stage
    before = forecast.deal_of(opportunity)
    for name, change in diff.items():
        setattr(opportunity, name, change["new"])
    opportunity.version += 1
    opportunity.updated_at = utcnow()
    if opportunity.status != old_status:
        opportunity.closed_at = opportunity.updated_at if opportunity.status != "open" else None
    if opportunity.stage != old_stage:
        _record_move(session, opportunity, old_stage, by)
    forecast.deal_changed(session, tenant, before, forecast.deal_of(opportunity))
    _changed(session, tenant, rules.event_action(old_status, opportunity.status), opportunity, diff)


def _record_move(session: Session, opportunity: Opportunity, from_stage: str | None, by: str | None) -> None:
    session.add(StageChange(
        id=new_id(), tenant_id=opportunity.tenant_id, opportunity_id=opportunity.id, from_stage=from_stage,
        to_stage=opportunity.stage, amount=opportunity.amount, currency=opportunity.currency, changed_by=by,
        changed_at=opportunity.updated_at))


def _facts(opportunity: Opportunity) -> dict[str, Any]:
    return {
        "opportunity_id": opportunity.id, "customer_id": opportunity.customer_id, "name": opportunity.name,
        "amount": Money.of(opportunity.amount, opportunity.currency), "stage": opportunity.stage,
        "status": opportunity.status, "probability": opportunity.probability, "version": opportunity.version,
        "owner": opportunity.owner, "team": opportunity.team, "forecast_category": opportunity.forecast_category,
        "expected_close_date": opportunity.expected_close_date, "close_reason": opportunity.close_reason,
        "competitor": opportunity.competitor,
    }


def _changed(session: Session, tenant: str, action: str, opportunity: Opportunity, changes: dict[str, Any]) -> None:
    publish(session, contract.OPPORTUNITY_CHANGED[action],
            contract.OpportunityChanged(**_facts(opportunity), changes=changes),
            subject=str(opportunity.customer_id), tenant=tenant)
