"""Lead import: reading CSV and NDJSON bodies, and rows through the same create as the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.sales.database import Base
from services.sales.lead_import.rules import RecordReader, Row
from services.sales.lead_import.service import LeadImporter
from services.sales.leads.tables import Lead
from shared.db import PLATFORM_METADATA, make_engine, make_sessions


def _rows(csv_mode: bool, *chunks: bytes) -> list[Row]:
    reader = RecordReader(csv_mode)
    rows = [row for chunk in chunks for row in reader.feed(chunk)]
    return rows + list(reader.close())


def test_csv_records_may_span_chunks_and_quoted_line_breaks() -> None:
    rows = _rows(True, b'email,company,employees\nada@acme.com,"Acme\nGmbH",12', b'0\n\n,,\nbad,row\n')
    assert rows[0] == Row(2, {"email": "ada@acme.com", "company": "Acme\nGmbH", "employees": 120})
    assert rows[1] == Row(5, {})
    assert rows[2].line == 6 and rows[2].error == "2 cells, but the header has 3 columns"


def test_ndjson_rows_are_objects_one_per_line() -> None:
    rows = _rows(False, b'{"email": "a@b.com"}\n[1]\n{oops\n')
    assert [(r.line, r.fields, r.error) for r in rows] == [
        (1, {"email": "a@b.com"}, None), (2, None, "not a JSON object"),
        (3, None, "not valid JSON (Expecting property name enclosed in double quotes)")]


@pytest.fixture()
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'sales.db'}")
    PLATFORM_METADATA.create_all(engine)
    Base.metadata.create_all(engine)
    yield make_sessions(engine)
    engine.dispose()


def test_an_import_dedupes_across_rows_and_batches_and_reports_each_failure(sessions: sessionmaker[Session]) -> None:
    commits: list[int] = []
    importer = LeadImporter(sessions, "acme", on_commit=lambda: commits.append(1), batch_size=2)
    for line, fields in enumerate([{"email": "ada@acme.com"}, {"email": "ADA@acme.com "}, {"phone": "+49 30 1234567"},
                                   {"phone": "+49301234567", "email": "x@gmail.com"}, {"source": "fair"},
                                   {"email": "no-at-sign"}], start=2):
        importer.add(Row(line, fields))
    importer.add(Row(8, None, "not UTF-8 text"))
    report = importer.finish().as_dict()
    assert (report["rows"], report["created"], report["duplicates"], report["failed"]) == (7, 2, 2, 3)
    assert [m["matched_on"] for m in report["merged"]] == [["email"], ["phone"]]
    assert [e["line"] for e in report["errors"]] == [6, 7, 8]
    assert report["errors"][0]["errors"][0]["field"] == "email" and len(commits) == 4
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Lead)) == 2
