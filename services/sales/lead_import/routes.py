"""HTTP edge of the lead import: ``POST /v1/leads/import`` with a CSV or NDJSON body."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query, Request

from services.sales import contract
from services.sales.lead_import import service
from services.sales.lead_import.schemas import ImportOut
from shared.auth import Principal, Scopes
from shared.errors import UnsupportedMediaType
from shared.http import feature_router

router = feature_router(tags=["leads"], streamed=True)

Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]
CSV_TYPES = ("text/csv", "application/csv")
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


@router.post("/leads/import", response_model=ImportOut, summary="Import leads from CSV or NDJSON",
             openapi_extra={"requestBody": {"required": False, "content": {
                 media: {"schema": {"type": "string", "format": "binary"}} for media in ("text/csv", "application/x-ndjson")}}})
async def import_leads(
    request: Request,
    who: Writer,
    format: Annotated[Literal["csv", "ndjson"] | None, Query(description="Default: from Content-Type.")] = None,
) -> ImportOut:
    """Each row (the fields of ``POST /v1/leads``; ``source`` defaults to ``import``) is created, de-duplicated,
    scored and routed as through the API, in batches, each its own transaction. A failed row (with its line)
    writes nothing; a duplicate row is folded into its open lead and listed. An empty body imports nothing."""
    headers = request.headers
    bodiless = ("content-type" not in headers and headers.get("content-length", "0") == "0"
                and "transfer-encoding" not in headers)
    csv_mode = True if bodiless and format is None else _is_csv(format, headers.get("content-type", ""))
    waker = request.app.state.waker
    report = await service.import_stream(request.app.state.sessions, who.tenant, request.stream(), csv_mode,
                                         on_commit=waker.wake)
    return ImportOut.model_validate(report.as_dict())


def _is_csv(format: str | None, content_type: str) -> bool:
    if format is not None:
        return format == "csv"
    media = content_type.split(";", 1)[0].strip().lower()
    if media in CSV_TYPES:
        return True
    if media in NDJSON_TYPES:
        return False
    raise UnsupportedMediaType("Send text/csv or application/x-ndjson (or say ?format=csv|ndjson).")
