"""HTTP edge of bulk import: ``POST /v1/customers/import`` with a CSV or NDJSON body."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query, Request

from services.customer import contract
from services.customer.importing import service
from services.customer.importing.schemas import ImportOut
from shared.auth import Principal, Scopes
from shared.errors import UnsupportedMediaType
from shared.http import feature_router

router = feature_router(tags=["customers"], streamed=True)

Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]
CSV_TYPES = ("text/csv", "application/csv")
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")


@router.post("/customers/import", response_model=ImportOut, summary="Import customers from CSV or NDJSON",
             openapi_extra={"requestBody": {"required": False, "content": {
                 media: {"schema": {"type": "string", "format": "binary"}} for media in ("text/csv", "application/x-ndjson")}}})
async def import_customers(
    request: Request,
    who: Writer,
    format: Annotated[Literal["csv", "ndjson"] | None, Query(description="Default: from Content-Type.")] = None,
    on_duplicate: Annotated[Literal["create", "match"], Query(
        description="match: a row whose e-mail or phone a customer already has is reported as matched "
                    "(with that customer's id) instead of created.")] = "create",
) -> ImportOut:
    """Rows are read as the body arrives (an empty body imports nothing) and written in batches, each its own transaction.

    Every row needs an ``external_id``; rows whose id the tenant already has are
    ``existing`` and left alone, so re-sending a file never creates twice. A failed
    row (listed with its line number) writes nothing; the other rows are imported.
    """
    headers = request.headers
    # No body at all (no type, no length, not chunked): nothing to read, so no type to insist on.
    bodiless = ("content-type" not in headers and headers.get("content-length", "0") == "0"
                and "transfer-encoding" not in headers)
    csv_mode = True if bodiless and format is None else _is_csv(format, headers.get("content-type", ""))
    waker = request.app.state.waker
    report = await service.import_stream(request.app.state.sessions, who.tenant, request.stream(), csv_mode,
                                         on_commit=lambda created: waker.wake(),
                                         match_duplicates=on_duplicate == "match")
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
