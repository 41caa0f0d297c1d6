"""HTTP edges of merges: merge duplicates into a survivor, undo a merge, show where each value came from."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Body, Depends, Request, Response

from services.customer import contract
from services.customer.customers.routes import customer_out
from services.customer.merging import service
from services.customer.merging.schemas import FieldOrigin, MergeIn, MergeOut, ProvenanceOut, UnmergeIn, UnmergeOut
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.openapi import GONE
from shared.http import DbSession, check_if_match, feature_router, written

router = feature_router(tags=["merge"], responses=GONE)

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


@router.post("/customers/{survivor_id:uuid}/merge", response_model=MergeOut,
             summary="Merge duplicates into this customer (reversible; honours If-Match on the survivor)")
def merge_customers(survivor_id: uuid.UUID, body: MergeIn, request: Request, response: Response, db: DbSession,
                    who: Writer) -> MergeOut:
    """Refused with 422 for other kinds, unknown, deleted or merged records, and with 409 when the records'
    consent differs on a channel the body does not resolve."""
    record, survivor = service.merge(
        db, who, survivor_id, body.duplicate_ids, {name: str(source) for name, source in body.fields.items()},
        dict(body.consent), utcnow(),
        check_version=(lambda version: check_if_match(request, version)) if request.headers.get("if-match") else None)
    written(response, version=survivor.version)
    return MergeOut(merge_id=record.id, survivor=customer_out(survivor, who), merged_ids=record.merged_ids,
                    provenance={name: FieldOrigin(**origin) for name, origin in record.provenance.items()},
                    merged_at=record.merged_at)


@router.post("/customers/{survivor_id:uuid}/unmerge", response_model=UnmergeOut,
             summary="Undo a merge: the merged records come back, later changes to the survivor stay")
def unmerge_customers(survivor_id: uuid.UUID, response: Response, db: DbSession, who: Writer,
                      body: Annotated[UnmergeIn | None, Body()] = None) -> UnmergeOut:
    undone = service.unmerge(db, who, survivor_id, body.merge_id if body else None, utcnow())
    written(response, version=undone.survivor.version)
    return UnmergeOut(merge_id=undone.merge.id, survivor=customer_out(undone.survivor, who),
                      restored=[customer_out(r, who) for r in undone.restored], kept_fields=undone.kept_fields)


@router.get("/customers/{customer_id:uuid}/provenance", response_model=ProvenanceOut,
            summary="Where each of the customer's values came from (which record, which rule, when)")
def get_provenance(customer_id: uuid.UUID, db: DbSession, who: Reader) -> ProvenanceOut:
    customer, fields = service.provenance(db, who.tenant, customer_id)
    return ProvenanceOut(customer_id=customer.id, fields={name: FieldOrigin(**o) for name, o in fields.items()})
