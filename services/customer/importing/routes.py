"""HTTP edge of bulk import: ``POST /v1/customers/import`` with a CSV or NDJSON body."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query, Request

from services.customer import contract
from services.customer.importing import service
from services.customer.importing.schemas import ImportOut
from shared.auth import Principal, Scopes
from shared.http import BULK_BODY, BulkFormat, feature_router, reads_csv

router = feature_router(tags=["customers"], streamed=True)

Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


@router.post("/customers/import", response_model=ImportOut, summary="Import customers from CSV or NDJSON",
             openapi_extra=BULK_BODY)
async def import_customers(
    request: Request,
    who: Writer,
    format: BulkFormat = None,
    on_duplicate: Annotated[Literal["create", "match"], Query(
        description="match: a row whose e-mail or phone a customer already has is reported as matched "
                    "(with that customer's id) instead of created.")] = "create",
) -> ImportOut:
    """Rows are read as the body arrives (an empty body imports nothing) and written in batches, each its own transaction.

    Every row needs an ``external_id``; rows whose id the tenant already has are
    ``existing`` and left alone, so re-sending a file never creates twice. A failed
    row (listed with its line number) writes nothing; the other rows are imported.
    """
    csv_mode = reads_csv(request, format)
    waker = request.app.state.waker
    report = await service.import_stream(request.app.state.sessions, who.tenant, request.stream(), csv_mode,
                                         on_commit=lambda created: waker.wake(),
                                         match_duplicates=on_duplicate == "match")
    return ImportOut.model_validate(report.as_dict())

