"""The rules of an opportunity's life: its stage and what follows from it, its amount and lines, its closing.

Plain Python, tested directly. A deal's stage is one of its tenant's pipeline
(``pipeline_stages``); its status (open, won, lost), forecast category and probability
are the stage's, copied at every change, so reports read them from the deal alone. A
won deal says why (``close_reason``), a lost one also to whom (``competitor``). A closed
deal stays closed: its stage, amount, lines and close date are history, and only an
explicit reopening by a holder of ``sales:approve`` moves it again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from services.sales.pipeline_stages.rules import StageDef
from shared.changes import changed_fields
from shared.errors import Conflict, InvalidInput
from shared.types import check_money, minor_units

MAX_LINES = 200
# A positive quantity of at most 9 integer digits and 4 decimals (zero is no line).
QUANTITY = re.compile(r"^([1-9][0-9]{0,8}(\.[0-9]{1,4})?|0\.([1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9]))$")
# A discount in percent, 0 to 100, at most 2 decimals.
PERCENT = re.compile(r"^(100(\.0{1,2})?|[1-9]?[0-9](\.[0-9]{1,2})?)$")
# What a closed deal keeps: the figures it was closed with.
FROZEN_WHEN_CLOSED = ("stage", "amount", "currency", "lines", "expected_close_date")
REQUIRED = ("name", "amount", "stage", "lines")
GIVEN_PRICE = "price given with the line"


def quantity(value: object) -> Decimal:
    if not isinstance(value, str) or not QUANTITY.match(value):
        raise ValueError('must be a positive decimal string, at most 4 decimals, e.g. "2.5"')
    return Decimal(value)


def percent(value: object) -> Decimal:
    if not isinstance(value, str) or not PERCENT.match(value):
        raise ValueError('must be a decimal string from 0 to 100, at most 2 decimals, e.g. "12.5"')
    return Decimal(value)


def check_amount(amount: Decimal, currency: str) -> Decimal:
    """An opportunity's amount, checked by the money rule."""
    return check_money(amount, currency, "amount.amount")


def stage_facts(stage: StageDef) -> dict[str, Any]:
    """What a deal copies from its stage: the stage, its status, category and probability."""
    return {"stage": stage.name, "status": stage.outcome, "forecast_category": stage.forecast_category,
            "probability": stage.probability}


def refuse_nulls(sent: Mapping[str, Any], names: Iterable[str] = REQUIRED + ("currency",)) -> None:
    """Fields that may be left out but never sent as null (their schema leaves null out)."""
    for name in names:
        if name in sent and sent[name] is None:
            raise InvalidInput.on(name, "must not be null")


def check_amount_source(sent: set[str], *, amount: Any, currency: str | None, lines: list[Any] | None) -> str:
    """The currency of a new deal: its amount's, or the one its lines are priced in (422 naming the field)."""
    if amount is not None:
        if "currency" in sent:
            raise InvalidInput.on("currency", "only without an amount: the amount carries its currency")
        return str(amount.currency)
    if not lines:
        raise InvalidInput.on("amount", "required, unless the deal has lines")
    if currency is None:
        raise InvalidInput.on("currency", "required with lines and no amount: the currency to price them in")
    return currency


def line_total(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal, currency: str) -> Decimal:
    """Quantity times the unit price, less the discount, rounded once to the currency's minor units."""
    with localcontext() as context:
        context.prec = 60  # exact for every quantity, price and discount the schemas let in
        exact = quantity * unit_price * (Decimal(100) - discount_percent) / Decimal(100)
        return exact.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


def given_line(index: int, line: Mapping[str, Any], currency: str) -> dict[str, Any]:
    """A line sent with its unit price, priced as sent."""
    unit_price = check_money(line["unit_price"], currency, f"lines[{index}].unit_price")
    discount = line.get("discount_percent") or Decimal(0)
    return stored_line(product_id=line["product_id"], quantity=line["quantity"], unit_price=unit_price,
                       discount_percent=discount, line_total=line_total(line["quantity"], unit_price, discount, currency),
                       price_book_id=None, reason=GIVEN_PRICE)


def stored_line(*, product_id: Any, quantity: Decimal, unit_price: Decimal, discount_percent: Decimal,
                line_total: Decimal, price_book_id: Any, reason: str) -> dict[str, Any]:
    """A line as the opportunity keeps it: decimals as strings, ids as text."""
    return {"product_id": str(product_id), "quantity": format(quantity, "f"), "unit_price": format(unit_price, "f"),
            "discount_percent": format(discount_percent, "f"), "line_total": format(line_total, "f"),
            "price_book_id": str(price_book_id) if price_book_id is not None else None, "reason": reason}


def renumbered(problem: InvalidInput, indexes: list[int]) -> InvalidInput:
    """A pricing problem about the k-th line priced, told about the line's place in the deal (``lines[i]``)."""

    def place(text: str) -> str:
        return _LINE_INDEX.sub(lambda m: f"lines[{indexes[int(m.group(1))]}]" if int(m.group(1)) < len(indexes)
                               else m.group(0), text)

    errors = [{"field": place(e["field"]), "message": e["message"]} for e in problem.errors or []]
    return InvalidInput(place(problem.detail), errors=errors or None)


_LINE_INDEX = re.compile(r"lines\[(\d+)\]")


def lines_total(lines: Iterable[Mapping[str, Any]], currency: str) -> Decimal:
    """The amount a deal with lines is worth: the sum of their totals (422 naming amount if it is too large)."""
    return check_money(sum((Decimal(line["line_total"]) for line in lines), Decimal(0)), currency, "amount.amount")


def check_amount_agrees(sent: Decimal | None, sent_currency: str | None, total: Decimal, currency: str) -> None:
    """A deal with lines is worth their sum: a sent amount that says otherwise is refused."""
    if sent is not None and (sent != total or sent_currency != currency):
        raise InvalidInput.on("amount", f"the lines add up to {format(total, 'f')} {currency}; "
                                        "leave the amount out or send that")


def patch_fields(patch: dict[str, Any]) -> dict[str, Any]:
    """The columns a PATCH sets: the money object becomes amount and currency; required fields can't be cleared."""
    refuse_nulls(patch, REQUIRED)
    fields = dict(patch)
    if "amount" in fields:
        money = fields.pop("amount")
        fields["amount"] = check_amount(Decimal(money["amount"]), money["currency"])
        fields["currency"] = money["currency"]
    return fields


def check_close_reasons(status: str, close_reason: str | None, competitor: str | None) -> None:
    """A won deal says why; a lost one also to whom (422 naming each missing field)."""
    missing = []
    if status in ("won", "lost") and not close_reason:
        missing.append({"field": "close_reason", "message": f"required to close a deal as {status}"})
    if status == "lost" and not competitor:
        missing.append({"field": "competitor", "message": "required to close a deal as lost"})
    if missing:
        raise InvalidInput("; ".join(f"{m['field']}: {m['message']}" for m in missing), errors=missing)


def check_closed_change(status: str, stage: str, diff: Mapping[str, Any]) -> None:
    """A closed deal keeps its figures: changing them is a 409 naming what is allowed."""
    if status == "open":
        return
    frozen = [name for name in FROZEN_WHEN_CLOSED if name in diff]
    if frozen:
        raise Conflict(f"The opportunity is {status} ({stage}); its {', '.join(frozen)} cannot change. A closed deal "
                       "may change its name, owner, team, close_reason and competitor; to move it again, reopen it "
                       "(POST /v1/opportunities/{id}/reopen, scope sales:approve).")


def check_reopenable(status: str) -> None:
    """Only a closed deal is reopened."""
    if status == "open":
        raise Conflict("The opportunity is open; move it with PATCH /v1/opportunities/{id}.")


def check_reopen_stage(stage: StageDef) -> None:
    """A reopened deal goes back into an open stage."""
    if stage.outcome != "open":
        raise InvalidInput.on("stage", f"'{stage.name}' closes a deal; reopen into an open stage")


def change_opportunity(current: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """``{field: {old, new}}`` of what a change really changes."""
    return changed_fields(current, fields)


def event_action(old_status: str | None, new_status: str) -> str:
    """What the event says happened: created, won, lost or updated."""
    if old_status is None:
        return "created"
    if old_status != new_status and new_status in ("won", "lost"):
        return new_status
    return "updated"
