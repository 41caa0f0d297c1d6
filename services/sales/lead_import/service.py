"""Bulk lead import: rows through the same create as ``POST /v1/leads`` (de-duplicated, scored, routed).

Rows are written a batch at a time, each batch one unit of work. A row that fails (its
fields, or a rule such as an unknown customer) is reported with its line and writes
nothing; the others go on. A row duplicating an open lead — also one earlier in the same
file — is folded into it, as through the API, and reported with that lead's id: an
import run twice creates nothing twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from services.sales.lead_import.rules import RecordReader, Row
from services.sales.leads import service as leads
from services.sales.leads.schemas import LeadCreate
from shared.db import unit_of_work
from shared.errors import InvalidInput

BATCH_SIZE = 500
MAX_REPORTED = 1000


@dataclass
class ImportReport:
    created: int = 0
    duplicates: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    merged: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.duplicates + self.failed

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "created": self.created, "duplicates": self.duplicates, "failed": self.failed,
                "errors": self.errors, "errors_truncated": self.failed > len(self.errors),
                "merged": self.merged, "merged_truncated": self.duplicates > len(self.merged)}


class LeadImporter:
    """Feed rows with ``add``; ``finish`` writes what is left and returns the report."""

    def __init__(self, sessions: sessionmaker[Session], tenant: str, *, on_commit: Callable[[], None],
                 batch_size: int = BATCH_SIZE) -> None:
        self.sessions, self.tenant, self.on_commit, self.batch_size = sessions, tenant, on_commit, batch_size
        self.report = ImportReport()
        self._batch: list[Row] = []

    def add(self, row: Row) -> None:
        self._batch.append(row)
        if len(self._batch) >= self.batch_size:
            self._write()

    def finish(self) -> ImportReport:
        self._write()
        return self.report

    def _write(self) -> None:
        if not self._batch:
            return
        with unit_of_work(self.sessions) as session:
            for row in self._batch:
                self._import(session, row)
        self._batch = []
        self.on_commit()

    def _import(self, session: Session, row: Row) -> None:
        if row.fields is None:
            self._failed(row, [{"field": "row", "message": row.error or "unreadable"}])
            return
        try:
            body = LeadCreate.model_validate({"source": "import"} | row.fields)
            shown = leads.create_lead(session, self.tenant, body)
        except ValidationError as exc:
            self._failed(row, [{"field": ".".join(str(p) for p in e["loc"]) or "row", "message": e["msg"]}
                               for e in exc.errors()])
            return
        except InvalidInput as exc:
            self._failed(row, exc.errors or [{"field": "row", "message": exc.detail}])
            return
        if shown.duplicate_of is None:
            self.report.created += 1
            return
        self.report.duplicates += 1
        if len(self.report.merged) < MAX_REPORTED:
            self.report.merged.append({"line": row.line, "lead_id": str(shown.duplicate_of),
                                       "matched_on": shown.matched_on})

    def _failed(self, row: Row, errors: list[dict[str, str]]) -> None:
        self.report.failed += 1
        if len(self.report.errors) < MAX_REPORTED:
            self.report.errors.append({"line": row.line, "errors": errors})


async def import_stream(sessions: sessionmaker[Session], tenant: str, chunks: AsyncIterable[bytes], csv_mode: bool,
                        *, on_commit: Callable[[], None]) -> ImportReport:
    """Import a body as it arrives; checking and writing rows is blocking work, done off the event loop."""
    importer = LeadImporter(sessions, tenant, on_commit=on_commit)
    reader = RecordReader(csv_mode)
    pending: list[Row] = []
    async for chunk in chunks:
        pending += list(reader.feed(chunk))
        if len(pending) >= BATCH_SIZE:
            await to_thread.run_sync(_add_all, importer, pending)
            pending = []
    pending += list(reader.close())
    await to_thread.run_sync(_add_all, importer, pending)
    return await to_thread.run_sync(importer.finish)


def _add_all(importer: LeadImporter, rows: list[Row]) -> None:
    for row in rows:
        importer.add(row)
