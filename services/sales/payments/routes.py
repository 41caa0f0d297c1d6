"""HTTP edges of payments: receive one (allocated as asked, or oldest first), list, read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response

from services.sales import contract
from services.sales.payments import service
from services.sales.payments.schemas import AllocationOut, PaymentCreate, PaymentOut
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, feature_router, next_cursor, patience, written
from shared.types import Money

router = feature_router(tags=["payments"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


def payment_out(shown: service.Shown) -> PaymentOut:
    payment = shown.payment
    c = payment.currency
    return PaymentOut(id=payment.id, customer_id=payment.customer_id, amount=Money.of(payment.amount, c),
                      received_on=payment.received_on, reference=payment.reference,
                      allocations=[AllocationOut(invoice_id=a.invoice_id, amount=Money.of(a.amount, c))
                                   for a in shown.allocations],
                      unallocated=Money.of(shown.unallocated, c), created_at=payment.created_at)


@router.post("/payments", status_code=201, response_model=PaymentOut,
             summary="Receive a payment: allocated as named, or to the oldest open invoices first")
def receive_payment(body: PaymentCreate, request: Request, response: Response, db: DbSession,
                    who: Writer) -> PaymentOut:
    """More than the allocations take is refused (422 naming amount) unless keep_excess_as_credit is true."""
    shown = service.receive_payment(db, who.tenant, body, by=who.subject, wait_seconds=patience(request))
    written(response, location=f"/v1/payments/{shown.payment.id}")
    return payment_out(shown)


@router.get("/payments", response_model=Page[PaymentOut], summary="List payments")
def list_payments(db: DbSession, who: Reader, paging: Paging, customer_id: uuid.UUID | None = None) -> Page[PaymentOut]:
    shown = service.list_payments(db, who.tenant, paging, {"customer_id": customer_id})
    return Page(items=[payment_out(s) for s in shown[: paging.limit]],
                next_cursor=next_cursor([s.payment.id for s in shown], paging.limit))


@router.get("/payments/{payment_id:uuid}", response_model=PaymentOut, summary="Read a payment")
def get_payment(payment_id: uuid.UUID, db: DbSession, who: Reader) -> PaymentOut:
    return payment_out(service.get_payment(db, who.tenant, payment_id))
