"""HTTP edge of the lead import: ``POST /v1/leads/import`` with a CSV or NDJSON body."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.sales import contract
from services.sales.lead_import import service
from services.sales.lead_import.schemas import ImportOut
from shared.auth import Principal, Scopes
from shared.http import BULK_BODY, BulkFormat, feature_router, reads_csv

router = feature_router(tags=["leads"], streamed=True)

Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


@router.post("/leads/import", response_model=ImportOut, summary="Import leads from CSV or NDJSON",
             openapi_extra=BULK_BODY)
async def import_leads(request: Request, who: Writer, format: BulkFormat = None) -> ImportOut:
    """Each row (the fields of ``POST /v1/leads``; ``source`` defaults to ``import``) is created, de-duplicated,
    scored and routed as through the API, in batches, each its own transaction. A failed row (with its line)
    writes nothing; a duplicate row is folded into its open lead and listed. An empty body imports nothing."""
    csv_mode = reads_csv(request, format)
    waker = request.app.state.waker
    report = await service.import_stream(request.app.state.sessions, who.tenant, request.stream(), csv_mode,
                                         on_commit=waker.wake)
    return ImportOut.model_validate(report.as_dict())

