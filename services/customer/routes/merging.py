"""HTTP edges of merges: merge duplicates into a survivor, undo a merge, show where each value came from."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response

from services.customer import lifecycle
from services.customer.routes.customers import Reader, Writer, _found, customer_out
from services.customer.schemas.merging import FieldOrigin, MergeIn, MergeOut, ProvenanceOut, UnmergeIn, UnmergeOut
from shared.db import utcnow
from shared.http import DbSession, check_if_match, commit_write

router = APIRouter(tags=["merge"])


@router.post("/customers/{survivor_id}/merge", response_model=MergeOut,
             summary="Merge duplicates into this customer (reversible; honours If-Match on the survivor)")
def merge_customers(survivor_id: uuid.UUID, body: MergeIn, request: Request, db: DbSession, who: Writer) -> Response:
    """Refused with 422 for other kinds, unknown, deleted or merged records, and with 409 when the records'
    consent differs on a channel the body does not resolve."""
    if request.headers.get("if-match"):
        check_if_match(request, _found(db, who.tenant, survivor_id).version)
    record, survivor = lifecycle.merge(
        db, who, survivor_id, body.duplicate_ids, {name: str(source) for name, source in body.fields.items()},
        dict(body.consent), utcnow())
    out = MergeOut(merge_id=record.id, survivor=customer_out(survivor, who), merged_ids=record.merged_ids,
                   provenance={name: FieldOrigin(**origin) for name, origin in record.provenance.items()},
                   merged_at=record.merged_at)
    return commit_write(db, request, out, version=survivor.version)


@router.post("/customers/{survivor_id}/unmerge", response_model=UnmergeOut,
             summary="Undo a merge: the merged records come back, later changes to the survivor stay")
def unmerge_customers(survivor_id: uuid.UUID, request: Request, db: DbSession, who: Writer,
                      body: Annotated[UnmergeIn | None, Body()] = None) -> Response:
    undone = lifecycle.unmerge(db, who, survivor_id, body.merge_id if body else None, utcnow())
    out = UnmergeOut(merge_id=undone.merge.id, survivor=customer_out(undone.survivor, who),
                     restored=[customer_out(r, who) for r in undone.restored], kept_fields=undone.kept_fields)
    return commit_write(db, request, out, version=undone.survivor.version)


@router.get("/customers/{customer_id}/provenance", response_model=ProvenanceOut,
            summary="Where each of the customer's values came from (which record, which rule, when)")
def get_provenance(customer_id: uuid.UUID, db: DbSession, who: Reader) -> ProvenanceOut:
    customer = _found(db, who.tenant, customer_id, redirect=True)
    fields = lifecycle.provenance(db, who.tenant, customer)
    return ProvenanceOut(customer_id=customer.id, fields={name: FieldOrigin(**o) for name, o in fields.items()})
