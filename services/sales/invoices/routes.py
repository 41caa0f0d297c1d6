"""HTTP edges of invoices: issue one for an order, list, read, write off."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from services.sales import contract
from services.sales.invoices import rules, service
from services.sales.invoices.schemas import InvoiceCreate, InvoiceOut, Status, WriteOffIn
from services.sales.payments import service as payments
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.http import DbSession, Page, Paging, check_if_match, etag, feature_router, next_cursor, written
from shared.types import Money

router = feature_router(tags=["invoices"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]
Approver = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE, contract.APPROVE_SCOPE))]
STALE: dict[int | str, dict[str, Any]] = {412: {"description": "If-Match names a version that is no longer current."}}


def invoice_out(shown: service.Shown) -> InvoiceOut:
    invoice = shown.invoice
    c = invoice.currency
    return InvoiceOut(
        id=invoice.id, customer_id=invoice.customer_id, order_id=invoice.order_id, number=invoice.number,
        issued_on=invoice.issued_on, due_on=invoice.due_on, payment_terms_days=invoice.payment_terms_days,
        total=Money.of(invoice.total, c), open_amount=Money.of(shown.open_amount, c), paid=Money.of(shown.paid, c),
        credited=Money.of(shown.credited, c), written_off=Money.of(invoice.written_off, c),
        write_off_reason=invoice.write_off_reason,
        status=rules.shown_status(invoice.status, invoice.due_on, utcnow().date()),  # type: ignore[arg-type]
        version=invoice.version, created_at=invoice.created_at, updated_at=invoice.updated_at)


@router.post("/invoices", status_code=201, response_model=InvoiceOut,
             summary="Invoice an order (numbered without gaps per tenant and year; due after the payment terms)")
def issue_invoice(body: InvoiceCreate, response: Response, db: DbSession, who: Writer) -> InvoiceOut:
    """The customer's credit (over-payments kept) in the invoice's currency pays it at once, in the same
    transaction: the answer shows what is left open."""
    issued = service.issue_invoice(db, who.tenant, body)
    payments.spend_credit(db, who.tenant, issued.invoice)
    shown = service.shown_many(db, who.tenant, [issued.invoice])[0]
    written(response, version=shown.invoice.version, location=f"/v1/invoices/{shown.invoice.id}")
    return invoice_out(shown)


@router.get("/invoices", response_model=Page[InvoiceOut], summary="List invoices")
def list_invoices(db: DbSession, who: Reader, paging: Paging, customer_id: uuid.UUID | None = None,
                  order_id: uuid.UUID | None = None, status: Status | None = None) -> Page[InvoiceOut]:
    shown = service.list_invoices(db, who.tenant, paging, {"customer_id": customer_id, "order_id": order_id,
                                                           "status": status})
    return Page(items=[invoice_out(s) for s in shown[: paging.limit]],
                next_cursor=next_cursor([s.invoice.id for s in shown], paging.limit))


@router.get("/invoices/{invoice_id:uuid}", response_model=InvoiceOut, summary="Read an invoice")
def get_invoice(invoice_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> InvoiceOut:
    shown = service.get_invoice(db, who.tenant, invoice_id)
    response.headers["ETag"] = etag(shown.invoice.version)
    return invoice_out(shown)


@router.post("/invoices/{invoice_id:uuid}/write-off", response_model=InvoiceOut, responses=STALE,
             summary="Write off an invoice's open amount as bad debt, with a reason (needs sales:approve)")
def write_off(invoice_id: uuid.UUID, body: WriteOffIn, request: Request, response: Response, db: DbSession,
              who: Approver) -> InvoiceOut:
    shown = service.write_off(db, who.tenant, invoice_id, body.reason,
                              check_version=lambda v: check_if_match(request, v))
    written(response, version=shown.invoice.version)
    return invoice_out(shown)
