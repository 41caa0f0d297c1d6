"""HTTP edges of credit notes: issue one (for a return, or a correction), list, read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Response

from services.sales import contract
from services.sales.credit_notes import service
from services.sales.credit_notes.schemas import CreditNoteCreate, CreditNoteOut
from services.sales.credit_notes.tables import CreditNote
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, feature_router, next_cursor, written
from shared.types import Money

router = feature_router(tags=["credit notes"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


def credit_note_out(note: CreditNote) -> CreditNoteOut:
    return CreditNoteOut(id=note.id, customer_id=note.customer_id, invoice_id=note.invoice_id, number=note.number,
                         kind=note.kind,  # type: ignore[arg-type]
                         return_id=note.return_id, amount=Money.of(note.amount, note.currency), reason=note.reason,
                         issued_on=note.issued_on, created_at=note.created_at)


@router.post("/credit-notes", status_code=201, response_model=CreditNoteOut,
             summary="Credit a return (its value) or correct an invoice (an amount)")
def issue_credit_note(body: CreditNoteCreate, response: Response, db: DbSession, who: Writer) -> CreditNoteOut:
    note = service.issue_credit_note(db, who.tenant, body, by=who.subject)
    written(response, location=f"/v1/credit-notes/{note.id}")
    return credit_note_out(note)


@router.get("/credit-notes", response_model=Page[CreditNoteOut], summary="List credit notes")
def list_credit_notes(db: DbSession, who: Reader, paging: Paging, customer_id: uuid.UUID | None = None,
                      invoice_id: uuid.UUID | None = None) -> Page[CreditNoteOut]:
    notes = service.list_credit_notes(db, who.tenant, paging, {"customer_id": customer_id, "invoice_id": invoice_id})
    return Page(items=[credit_note_out(n) for n in notes[: paging.limit]],
                next_cursor=next_cursor([n.id for n in notes], paging.limit))


@router.get("/credit-notes/{credit_note_id:uuid}", response_model=CreditNoteOut, summary="Read a credit note")
def get_credit_note(credit_note_id: uuid.UUID, db: DbSession, who: Reader) -> CreditNoteOut:
    return credit_note_out(service.get_credit_note(db, who.tenant, credit_note_id))
