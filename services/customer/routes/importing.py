"""HTTP edge of bulk import: ``POST /v1/customers/import`` with a CSV or NDJSON body."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from services.customer.bulk import BulkImporter
from services.customer.domain.importing import RecordSplitter, Row, RowReader
from services.customer.schemas.importing import ImportOut
from shared.auth import Principal, Scopes
from shared.errors import BadRequest

router = APIRouter(tags=["customers"])

Writer = Annotated[Principal, Depends(Scopes("customers:write"))]
CSV_TYPES = ("text/csv", "application/csv")
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
ROWS_PER_STEP = 1000


@router.post("/customers/import", response_model=ImportOut, summary="Import customers from CSV or NDJSON",
             openapi_extra={"requestBody": {"content": {"text/csv": {}, "application/x-ndjson": {}}, "required": True}})
async def import_customers(
    request: Request,
    who: Writer,
    format: Annotated[Literal["csv", "ndjson"] | None, Query(description="Default: from Content-Type.")] = None,
    on_duplicate: Annotated[Literal["create", "match"], Query(
        description="match: a row whose e-mail or phone a customer already has is reported as matched "
                    "(with that customer's id) instead of created.")] = "create",
) -> ImportOut:
    """Rows are read as the body arrives and written in batches, each its own transaction.

    Every row needs an ``external_id``; rows whose id the tenant already has are
    ``existing`` and left alone, so re-sending a file never creates twice. A failed
    row (listed with its line number) writes nothing; the other rows are imported.
    """
    csv_mode = _is_csv(format, request.headers.get("content-type", ""))
    relay = request.app.state.relay
    importer = await run_in_threadpool(partial(BulkImporter, request.app.state.sessions, who.tenant,
                                               on_commit=lambda created: relay.wake(),
                                               match_duplicates=on_duplicate == "match"))
    splitter, reader = RecordSplitter(csv_mode), RowReader(csv_mode)
    pending: list[Row] = []
    async for chunk in request.stream():
        pending += [row for line, text in splitter.feed(chunk) if (row := reader.row(line, text)) is not None]
        if len(pending) >= ROWS_PER_STEP:
            # Checking and writing rows is blocking work: off the event loop.
            await run_in_threadpool(_add_all, importer, pending)
            pending = []
    pending += [row for line, text in splitter.close() if (row := reader.row(line, text)) is not None]
    await run_in_threadpool(_add_all, importer, pending)
    report = await run_in_threadpool(importer.finish)
    return ImportOut.model_validate(report.as_dict())


def _add_all(importer: BulkImporter, rows: list[Row]) -> None:
    for row in rows:
        importer.add(row)


def _is_csv(format: str | None, content_type: str) -> bool:
    if format is not None:
        return format == "csv"
    media = content_type.split(";", 1)[0].strip().lower()
    if media in CSV_TYPES:
        return True
    if media in NDJSON_TYPES:
        return False
    raise BadRequest("Send text/csv or application/x-ndjson (or say ?format=csv|ndjson).")
