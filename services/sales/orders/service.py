"""Order use cases: place an order (from a won deal, or priced lines), move it through its life, take back
returns, read its history.

Placing copies a won deal's lines and currency, or prices the lines sent like a deal's
(``opportunities.service.priced_lines``: the price books, the discount threshold). The
customer must be known to the view replica. Confirming runs the credit check
(``credit.service``) under the customer's credit lock; over the limit the order goes
``on_hold`` with the figures, and only ``approve`` (``sales:approve``) confirms it then,
publishing ``confirmed`` with ``approved_by`` (API.md names no approved event). Every change
writes a row of history and publishes its event in the same transaction; nothing commits here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from services.sales import contract
from services.sales.credit import service as credit
from services.sales.customers import repository as customers
from services.sales.customers.tables import CustomerReplica
from services.sales.invoices import repository as invoices
from services.sales.loyalty import service as loyalty
from services.sales.offers import service as offers
from services.sales.opportunities import repository as opportunities
from services.sales.opportunities import rules as deal_rules
from services.sales.opportunities.service import priced_lines
from services.sales.orders import repository, rules
from services.sales.orders.schemas import OrderCreate, ReturnIn
from services.sales.orders.tables import Order, OrderChange, OrderReturn
from shared.contract import EventType
from shared.db import utcnow
from shared.errors import Conflict, InvalidInput, NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.outbox import publish
from shared.types import Money

NoCheck: Callable[[int], None] = lambda _: None  # noqa: E731


@dataclass(frozen=True)
class Shown:
    """An order with what is derived for it: the customer, what came back per line, its invoice."""

    order: Order
    customer: CustomerReplica | None
    returned: list[Decimal]
    returned_amount: Decimal
    invoice_id: uuid.UUID | None
    returns: list[OrderReturn] = field(default_factory=list)


def place_order(session: Session, tenant: str, body: OrderCreate, *, wait_seconds: float, by: str | None,
                may_approve: bool) -> Shown:
    deal_rules.refuse_nulls({name: getattr(body, name) for name in body.model_fields_set},
                            ("opportunity_id", "lines", "currency"))
    customer = customers.require_customer(session, tenant, body.customer_id, wait_seconds=wait_seconds)
    if body.opportunity_id is not None:
        if body.lines is not None or body.currency is not None:
            raise InvalidInput.on("lines", "an order from a deal takes the deal's lines and currency")
        currency, lines = _from_deal(session, tenant, body.customer_id, body.opportunity_id)
    else:
        if not body.lines:
            raise InvalidInput.on("lines", "required without opportunity_id")
        if body.currency is None:
            raise InvalidInput.on("currency", "required with lines: the currency to price them in")
        currency = body.currency
        lines = priced_lines(session, tenant, customer, currency, body.lines, may_approve=may_approve)
    now = utcnow()
    credit.check_rate(session, tenant, currency, now.date())
    lead_source = (repository.lead_source_of_deal(session, tenant, body.opportunity_id)
                   if body.channel is None and body.opportunity_id is not None else None)
    order = Order(id=new_id(), tenant_id=tenant, customer_id=body.customer_id, opportunity_id=body.opportunity_id,
                  status="placed", currency=currency, total=deal_rules.lines_total(lines, currency), lines=lines,
                  credit=None, approved_by=None, channel=rules.channel_of(body.channel, lead_source), version=1,
                  created_at=now, updated_at=now)
    session.add(order)
    _record(session, order, None, "place", by, None)
    shown = Shown(order, customer, [Decimal(0)] * len(lines), Decimal(0), None)
    _publish(session, shown, None)
    return shown


def list_orders(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[Shown]:
    rows = repository.list_orders(session, tenant, page, filters)
    return _shown(session, tenant, rows)


def get_order(session: Session, tenant: str, order_id: uuid.UUID) -> Shown:
    return _shown(session, tenant, [_found(session, tenant, order_id)])[0]


def history(session: Session, tenant: str, order_id: uuid.UUID, page: PageRequest) -> list[OrderChange]:
    _found(session, tenant, order_id)
    return repository.changes(session, tenant, order_id, page)


def returns(session: Session, tenant: str, order_id: uuid.UUID) -> list[OrderReturn]:
    _found(session, tenant, order_id)
    return repository.returns_of(session, tenant, {order_id})


def confirm(session: Session, tenant: str, order_id: uuid.UUID, *, by: str | None,
            check_version: Callable[[int], None] = NoCheck) -> Shown:
    """The credit check decides: confirmed within the limit, on_hold over it (with the figures either way), or
    on_hold with the reason when dunning holds the customer's new orders."""
    order = _changing(session, tenant, order_id, check_version)
    rules.next_status("confirm", order.status)
    credit.lock_customer(session, tenant, order.customer_id)
    exposure = credit.check(session, tenant, order.customer_id, order_id=order.id, order_total=order.total,
                            order_currency=order.currency, on=utcnow().date())
    figures = credit.figures(exposure)
    order.credit = figures.model_dump(mode="json")
    hold = credit.dunning_hold(session, tenant, order.customer_id)
    to = "confirmed" if exposure.within_limit and hold is None else "on_hold"
    details = {"credit": order.credit} | ({"dunning_hold": hold} if hold else {})
    return _move(session, tenant, order, "confirm", to, by, details, credit=figures, reason=hold)


def approve(session: Session, tenant: str, order_id: uuid.UUID, *, by: str | None,
            check_version: Callable[[int], None] = NoCheck) -> Shown:
    """A manager releases an order held for credit (the caller holds sales:approve)."""
    order = _changing(session, tenant, order_id, check_version)
    to = rules.next_status("approve", order.status)
    credit.lock_customer(session, tenant, order.customer_id)
    order.approved_by = by
    figures = contract.CreditFigures.model_validate(order.credit) if order.credit else None
    return _move(session, tenant, order, "approve", to, by, {"approved_by": by}, credit=figures)


def ship(session: Session, tenant: str, order_id: uuid.UUID, *, by: str | None,
         check_version: Callable[[int], None] = NoCheck) -> Shown:
    order = _changing(session, tenant, order_id, check_version)
    return _move(session, tenant, order, "ship", rules.next_status("ship", order.status), by, None)


def deliver(session: Session, tenant: str, order_id: uuid.UUID, *, by: str | None,
            check_version: Callable[[int], None] = NoCheck) -> Shown:
    order = _changing(session, tenant, order_id, check_version)
    shown = _move(session, tenant, order, "deliver", rules.next_status("deliver", order.status), by, None)
    offers.basket_changed(session, tenant, order.customer_id)
    return shown


def cancel(session: Session, tenant: str, order_id: uuid.UUID, *, reason: str | None, by: str | None,
           check_version: Callable[[int], None] = NoCheck) -> Shown:
    order = _changing(session, tenant, order_id, check_version)
    to = rules.next_status("cancel", order.status)
    rules.check_cancellable(invoices.invoice_of_order(session, tenant, order.id) is not None)
    shown = _move(session, tenant, order, "cancel", to, by, {"reason": reason} if reason else None, reason=reason)
    loyalty.restore_redemption(session, order)
    return shown


def take_return(session: Session, tenant: str, order_id: uuid.UUID, body: ReturnIn, *, by: str | None,
                check_version: Callable[[int], None] = NoCheck) -> tuple[Shown, OrderReturn]:
    """Goods come back, by line, at most what was shipped and not yet returned; all of it: the order is returned."""
    order = _changing(session, tenant, order_id, check_version)
    rules.next_status("return", order.status)
    before = repository.returns_of(session, tenant, {order.id})
    already = rules.returned_quantities(len(order.lines), [r.lines for r in before])
    planned = rules.plan_return(order.lines, already, [(line.line, line.quantity) for line in body.lines],
                                order.currency)
    amount = sum((Decimal(line["amount"]) for line in planned), Decimal(0))
    now = utcnow()
    record = OrderReturn(id=new_id(), tenant_id=tenant, order_id=order.id, customer_id=order.customer_id,
                         lines=planned, amount=amount, currency=order.currency, reason=body.reason, created_by=by,
                         created_at=now)
    session.add(record)
    # What came back, this return included (the session flushes it before reading), as every read shows it.
    shown = _shown(session, tenant, [order])[0]
    previous = order.status
    if rules.all_returned(order.lines, shown.returned):
        order.status = "returned"
        offers.basket_changed(session, tenant, order.customer_id)
    order.version += 1
    order.updated_at = now
    _record(session, order, previous, "return", by, {"return_id": str(record.id), "amount": format(amount, "f")})
    payload = contract.OrderReturned(
        **_facts(shown, previous), return_id=record.id, amount=Money.of(amount, order.currency),
        lines=[contract.ReturnedLine(line=line["line"], product_id=line["product_id"], quantity=line["quantity"])
               for line in planned], reason=body.reason)
    publish(session, contract.ORDER_RETURNED, payload, subject=str(order.customer_id), tenant=tenant)
    return shown, record


def _from_deal(session: Session, tenant: str, customer_id: uuid.UUID,
               opportunity_id: uuid.UUID) -> tuple[str, list[dict[str, Any]]]:
    deal = opportunities.get_opportunity(session, tenant, opportunity_id)
    if deal is None:
        raise InvalidInput.on("opportunity_id", f"no opportunity {opportunity_id}")
    if deal.customer_id != customer_id:
        raise InvalidInput.on("opportunity_id", "the deal is another customer's")
    if deal.status != "won":
        raise InvalidInput.on("opportunity_id", f"the deal is {deal.status}; an order is made from a won deal")
    if not deal.lines:
        raise InvalidInput.on("opportunity_id", "the deal has no lines to order")
    if repository.live_order_of_deal(session, tenant, opportunity_id) is not None:
        raise Conflict("The deal has an order already (cancel it to order the deal again).")
    return deal.currency, [dict(line) for line in deal.lines]


def _found(session: Session, tenant: str, order_id: uuid.UUID, *, lock: bool = False) -> Order:
    order = repository.get_order(session, tenant, order_id, lock=lock)
    if order is None:
        raise NotFound(f"No order {order_id}.")
    return order


def _changing(session: Session, tenant: str, order_id: uuid.UUID, check_version: Callable[[int], None]) -> Order:
    """The order locked for a change (two changes of one order run one after the other), If-Match checked."""
    order = _found(session, tenant, order_id, lock=True)
    check_version(order.version)
    return order


def _shown(session: Session, tenant: str, rows: list[Order]) -> list[Shown]:
    ids = {o.id for o in rows}
    by_order: dict[uuid.UUID, list[OrderReturn]] = {}
    for record in repository.returns_of(session, tenant, ids):
        by_order.setdefault(record.order_id, []).append(record)
    found = customers.find_customers(session, tenant, {o.customer_id for o in rows})
    invoiced = invoices.invoice_ids_of_orders(session, tenant, ids)
    return [Shown(o, found.get(o.customer_id),
                  rules.returned_quantities(len(o.lines), [r.lines for r in by_order.get(o.id, [])]),
                  sum((r.amount for r in by_order.get(o.id, [])), Decimal(0)), invoiced.get(o.id),
                  by_order.get(o.id, [])) for o in rows]


def _move(session: Session, tenant: str, order: Order, action: str, to: str, by: str | None,
          details: dict[str, Any] | None, *, credit: contract.CreditFigures | None = None,
          reason: str | None = None) -> Shown:
    previous = order.status
    order.status = to
    order.version += 1
    order.updated_at = utcnow()
    _record(session, order, previous, action, by, details)
    shown = _shown(session, tenant, [order])[0]
    _publish(session, shown, previous, credit=credit, reason=reason)
    return shown


def _record(session: Session, order: Order, from_status: str | None, action: str, by: str | None,
            details: dict[str, Any] | None) -> None:
    session.add(OrderChange(id=new_id(), tenant_id=order.tenant_id, order_id=order.id, from_status=from_status,
                            to_status=order.status, action=action, changed_by=by, changed_at=order.updated_at,
                            details=details))


def _facts(shown: Shown, previous: str | None) -> dict[str, Any]:
    order = shown.order
    return {"order_id": order.id, "customer_id": order.customer_id, "opportunity_id": order.opportunity_id,
            "status": order.status, "from_status": previous, "total": Money.of(order.total, order.currency),
            "returned": Money.of(shown.returned_amount, order.currency), "line_count": len(order.lines),
            "version": order.version, "approved_by": order.approved_by}


def follow_customer(session: Session, tenant: str, order: Order, previous: uuid.UUID) -> None:
    """A merge or an unmerge moved the order from ``previous``; its status and version stay as they were."""
    _publish(session, _shown(session, tenant, [order])[0], order.status, event=contract.ORDER_MOVED)


def _publish(session: Session, shown: Shown, previous: str | None, *, credit: contract.CreditFigures | None = None,
             reason: str | None = None, event: EventType | None = None) -> None:
    order = shown.order
    event = event or contract.ORDER_EVENTS[order.status]
    publish(session, event, contract.OrderReported(**_facts(shown, previous), credit=credit, reason=reason),
            subject=str(order.customer_id), tenant=order.tenant_id)
