"""Credit note use cases: credit a return or correct an invoice; list and read credit notes.

A credit note reduces what its invoice owes. For a return it is worth the return's value,
against the order's invoice (one credit note per return); a correction names its amount.
Either is at most what the invoice was not credited or written off yet (its total less
earlier credit notes and the write-off): a credit note on a paid invoice gives what its payments now
over-cover back to them as the customer's credit (``payments.release_excess``), which the customer's next
invoices spend. Numbers are gap-free (``CN-<year>-<n>``) like invoices'.
Takes the customer's credit lock; publishes ``crm.sales.credit_note.issued.v1`` (and
``invoice.paid`` if nothing is left open); points the invoice earned on what it no longer charges are taken
back (``loyalty.reverse_for_credit_note``). Nothing commits here.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from services.sales import contract
from services.sales.credit import service as credit
from services.sales.credit_notes import repository
from services.sales.credit_notes.schemas import CreditNoteCreate
from services.sales.credit_notes.tables import CreditNote
from services.sales.invoices import repository as invoices
from services.sales.invoices import rules as invoice_rules
from services.sales.invoices import service as invoice_service
from services.sales.loyalty import service as loyalty
from services.sales.orders import repository as orders
from services.sales.payments import service as payments
from shared.contract import EventType
from shared.db import utcnow
from shared.errors import Conflict, InvalidInput, NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.outbox import publish
from shared.types import Money, check_money


def issue_credit_note(session: Session, tenant: str, body: CreditNoteCreate, *, by: str | None) -> CreditNote:
    for name in ("return_id", "invoice_id", "amount"):
        if name in body.model_fields_set and getattr(body, name) is None:
            raise InvalidInput.on(name, "must not be null")
    if (body.return_id is None) == (body.invoice_id is None):
        raise InvalidInput.on("return_id", "name a return, or an invoice and an amount (a correction)")
    if body.return_id is not None:
        if body.amount is not None:
            raise InvalidInput.on("amount", "a return's credit note is worth the return")
        returned = orders.get_return(session, tenant, body.return_id)
        if returned is None:
            raise InvalidInput.on("return_id", f"no return {body.return_id}")
        found = invoices.invoice_of_order(session, tenant, returned.order_id)
        if found is None:
            raise InvalidInput.on("return_id", "the order is not invoiced: its invoice will leave the return out")
        if returned.created_at <= found.created_at:
            raise InvalidInput.on("return_id", "the return came before the invoice, which left it out already")
        amount, kind, field = returned.amount, "return", "return_id"
    else:
        assert body.invoice_id is not None
        if body.amount is None:
            raise InvalidInput.on("amount", "required for a correction")
        found = invoices.get_invoice(session, tenant, body.invoice_id)
        if found is None:
            raise InvalidInput.on("invoice_id", f"no invoice {body.invoice_id}")
        amount = check_money(body.amount, found.currency, "amount")
        if amount == 0:
            raise InvalidInput.on("amount", "must be more than 0")
        kind, field = "correction", "amount"
    credit.lock_customer(session, tenant, found.customer_id)
    invoice = invoices.get_invoice(session, tenant, found.id, lock=True)
    assert invoice is not None
    if body.return_id is not None and repository.of_return(session, tenant, body.return_id) is not None:
        raise Conflict("The return has its credit note already.")
    if invoice.status == "written_off":
        raise Conflict("The invoice is written off; nothing is left to credit.")
    creditable = invoice.total - repository.credited(session, tenant, invoice.id) - invoice.written_off
    if amount > creditable:
        raise InvalidInput.on(field, f"at most {format(creditable, 'f')} {invoice.currency} is left to credit")
    today = utcnow().date()
    sequence = invoices.next_number(session, tenant, "credit_note", today.year)
    note = CreditNote(id=new_id(), tenant_id=tenant, customer_id=invoice.customer_id, invoice_id=invoice.id,
                      number=invoice_rules.number("credit_note", today.year, sequence), kind=kind,
                      return_id=body.return_id, amount=amount, currency=invoice.currency, reason=body.reason,
                      issued_on=today, created_by=by, created_at=utcnow())
    session.add(note)
    session.flush()
    payments.release_excess(session, tenant, invoice)
    invoice_service.settle(session, invoice_service.shown_many(session, tenant, [invoice])[0])
    _publish(session, contract.CREDIT_NOTE_ISSUED, note)
    loyalty.reverse_for_credit_note(session, note)
    return note


def follow_customer(session: Session, tenant: str, note: CreditNote, previous: uuid.UUID) -> None:
    """A merge or an unmerge moved the credit note from ``previous`` (with its invoice, which moved first)."""
    _publish(session, contract.CREDIT_NOTE_MOVED, note)


def _publish(session: Session, event: EventType, note: CreditNote) -> None:
    publish(session, event, contract.CreditNoteIssued(
        credit_note_id=note.id, customer_id=note.customer_id, invoice_id=note.invoice_id, number=note.number,
        kind=note.kind, return_id=note.return_id, amount=Money.of(note.amount, note.currency), reason=note.reason,
        issued_on=note.issued_on,
        paid_revenue=invoice_service.paid_revenue(session, note.tenant_id, note.customer_id)),
        subject=str(note.customer_id), tenant=note.tenant_id)


def list_credit_notes(session: Session, tenant: str, page: PageRequest, filters: dict[str, Any]) -> list[CreditNote]:
    return repository.list_credit_notes(session, tenant, page, filters)


def get_credit_note(session: Session, tenant: str, credit_note_id: uuid.UUID) -> CreditNote:
    found = repository.get_credit_note(session, tenant, credit_note_id)
    if found is None:
        raise NotFound(f"No credit note {credit_note_id}.")
    return found


