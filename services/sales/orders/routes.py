"""HTTP edges of orders: place, list, read, move through the lifecycle, returns, history.

Reading needs ``sales:read`` only, so a partner holding an API key with that scope reads an
order's status; changing needs ``sales:write``; releasing an order held for credit also
``sales:approve``. Every transition honours If-Match (412).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Body, Depends, Request, Response

from services.sales import contract
from services.sales.opportunities.routes import line_out
from services.sales.orders import rules, service
from services.sales.orders.schemas import (
    CancelIn,
    CreditOut,
    OrderChangeOut,
    OrderCreate,
    OrderLineOut,
    OrderOut,
    ReturnIn,
    ReturnLineOut,
    ReturnOut,
    Status,
)
from services.sales.orders.tables import OrderChange, OrderReturn
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, check_if_match, etag, feature_router, next_cursor, patience, written
from shared.replica import embedded
from shared.types import Money

router = feature_router(tags=["orders"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]
Approver = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE, contract.APPROVE_SCOPE))]
STALE: dict[int | str, dict[str, Any]] = {412: {"description": "If-Match names a version that is no longer current."}}


def order_out(shown: service.Shown) -> OrderOut:
    order = shown.order
    return OrderOut(
        id=order.id, customer_id=order.customer_id, customer=embedded(shown.customer, order.customer_id),
        opportunity_id=order.opportunity_id, status=order.status,  # type: ignore[arg-type]
        allowed_actions=rules.allowed_actions(order.status), total=Money.of(order.total, order.currency),
        returned=Money.of(shown.returned_amount, order.currency),
        loyalty_discount=Money.of(order.loyalty_discount or Decimal(0), order.currency),
        lines=[OrderLineOut(**line_out(line, order.currency).model_dump(),
                            returned_quantity=format(back.normalize(), "f") if back else "0")
               for line, back in zip(order.lines, shown.returned, strict=True)],
        credit=CreditOut.model_validate(order.credit) if order.credit else None, approved_by=order.approved_by,
        channel=order.channel, invoice_id=shown.invoice_id, version=order.version, created_at=order.created_at, updated_at=order.updated_at)


def change_out(change: OrderChange) -> OrderChangeOut:
    return OrderChangeOut(id=change.id, order_id=change.order_id, from_status=change.from_status,
                          to_status=change.to_status, action=change.action, changed_by=change.changed_by,
                          changed_at=change.changed_at, details=change.details)


def return_out(record: OrderReturn) -> ReturnOut:
    return ReturnOut(id=record.id, order_id=record.order_id, amount=Money.of(record.amount, record.currency),
                     lines=[ReturnLineOut(line=line["line"], product_id=line["product_id"], quantity=line["quantity"],
                                          amount=Money.of(Decimal(line["amount"]), record.currency))
                            for line in record.lines],
                     reason=record.reason, created_by=record.created_by, created_at=record.created_at)


def _answer(response: Response, shown: service.Shown) -> OrderOut:
    written(response, version=shown.order.version)
    return order_out(shown)


@router.post("/orders", status_code=201, response_model=OrderOut, summary="Place an order")
def place_order(body: OrderCreate, request: Request, response: Response, db: DbSession, who: Writer) -> OrderOut:
    """From a won deal (its lines copied) or from lines priced by the price books; the currency needs a rate to
    the tenant's currency (the sales policy's)."""
    shown = service.place_order(db, who.tenant, body, wait_seconds=patience(request), by=who.subject,
                                may_approve=who.allows(contract.APPROVE_SCOPE))
    written(response, version=shown.order.version, location=f"/v1/orders/{shown.order.id}")
    return order_out(shown)


@router.get("/orders", response_model=Page[OrderOut], summary="List orders")
def list_orders(db: DbSession, who: Reader, paging: Paging, customer_id: uuid.UUID | None = None,
                status: Status | None = None, opportunity_id: uuid.UUID | None = None) -> Page[OrderOut]:
    shown = service.list_orders(db, who.tenant, paging, {"customer_id": customer_id, "status": status,
                                                         "opportunity_id": opportunity_id})
    return Page(items=[order_out(s) for s in shown[: paging.limit]],
                next_cursor=next_cursor([s.order.id for s in shown], paging.limit))


@router.get("/orders/{order_id:uuid}", response_model=OrderOut, summary="Read an order (and its status)")
def get_order(order_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> OrderOut:
    shown = service.get_order(db, who.tenant, order_id)
    response.headers["ETag"] = etag(shown.order.version)
    return order_out(shown)


@router.get("/orders/{order_id:uuid}/history", response_model=Page[OrderChangeOut],
            summary="An order's status changes, oldest first")
def order_history(order_id: uuid.UUID, db: DbSession, who: Reader, paging: Paging) -> Page[OrderChangeOut]:
    changes = service.history(db, who.tenant, order_id, paging)
    return Page(items=[change_out(c) for c in changes[: paging.limit]],
                next_cursor=next_cursor([c.id for c in changes], paging.limit))


@router.post("/orders/{order_id:uuid}/confirm", response_model=OrderOut, responses=STALE,
             summary="Confirm an order: the credit check confirms it or holds it (on_hold, with the figures)")
def confirm_order(order_id: uuid.UUID, request: Request, response: Response, db: DbSession, who: Writer) -> OrderOut:
    """Exposure (open receivables + confirmed uninvoiced orders + this one, in the tenant currency at today's
    rates) against the customer's credit limit; a currency without a rate is a 422 naming it."""
    return _answer(response, service.confirm(db, who.tenant, order_id, by=who.subject,
                                             check_version=lambda v: check_if_match(request, v)))


@router.post("/orders/{order_id:uuid}/approve", response_model=OrderOut, responses=STALE,
             summary="Release an order held for credit (needs sales:approve)")
def approve_order(order_id: uuid.UUID, request: Request, response: Response, db: DbSession,
                  who: Approver) -> OrderOut:
    return _answer(response, service.approve(db, who.tenant, order_id, by=who.subject,
                                             check_version=lambda v: check_if_match(request, v)))


@router.post("/orders/{order_id:uuid}/ship", response_model=OrderOut, responses=STALE, summary="Ship an order")
def ship_order(order_id: uuid.UUID, request: Request, response: Response, db: DbSession, who: Writer) -> OrderOut:
    return _answer(response, service.ship(db, who.tenant, order_id, by=who.subject,
                                          check_version=lambda v: check_if_match(request, v)))


@router.post("/orders/{order_id:uuid}/deliver", response_model=OrderOut, responses=STALE,
             summary="Record an order's delivery")
def deliver_order(order_id: uuid.UUID, request: Request, response: Response, db: DbSession, who: Writer) -> OrderOut:
    return _answer(response, service.deliver(db, who.tenant, order_id, by=who.subject,
                                             check_version=lambda v: check_if_match(request, v)))


@router.post("/orders/{order_id:uuid}/cancel", response_model=OrderOut, responses=STALE,
             summary="Cancel an order before it ships (not once invoiced)")
def cancel_order(order_id: uuid.UUID, request: Request, response: Response, db: DbSession, who: Writer,
                 body: Annotated[CancelIn | None, Body()] = None) -> OrderOut:
    return _answer(response, service.cancel(db, who.tenant, order_id, reason=body.reason if body else None,
                                            by=who.subject, check_version=lambda v: check_if_match(request, v)))


@router.post("/orders/{order_id:uuid}/returns", status_code=201, response_model=ReturnOut, responses=STALE,
             summary="Take back goods of a shipped order, by line (at most what was shipped and not returned)")
def return_goods(order_id: uuid.UUID, body: ReturnIn, request: Request, response: Response, db: DbSession,
                 who: Writer) -> ReturnOut:
    shown, record = service.take_return(db, who.tenant, order_id, body, by=who.subject,
                                        check_version=lambda v: check_if_match(request, v))
    written(response, version=shown.order.version, location=f"/v1/orders/{order_id}/returns")
    return return_out(record)


@router.get("/orders/{order_id:uuid}/returns", response_model=list[ReturnOut], summary="An order's returns")
def list_returns(order_id: uuid.UUID, db: DbSession, who: Reader) -> list[ReturnOut]:
    return [return_out(r) for r in service.returns(db, who.tenant, order_id)]
