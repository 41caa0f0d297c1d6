"""Reading an import body: records cut from the byte stream as it arrives, each turned into a lead's fields.

Plain Python, tested directly. CSV has a header line naming the columns (those of
``POST /v1/leads``); a record may span lines inside a quoted cell. NDJSON is one JSON
object per line. Blank lines are skipped; empty CSV cells are absent fields.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Row:
    line: int
    fields: dict[str, Any] | None
    error: str | None = None


class RecordReader:
    """Feed chunks, get rows (with the line each starts on); ``close`` gives what the last chunk left."""

    def __init__(self, csv_mode: bool) -> None:
        self.csv_mode = csv_mode
        self._pending = b""
        self._record: list[str] = []
        self._record_line = 0
        self._line = 0
        self.header: list[str] | None = None

    def feed(self, chunk: bytes) -> Iterator[Row]:
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        for raw in lines:
            yield from self._line_in(raw)

    def close(self) -> Iterator[Row]:
        if self._pending:
            yield from self._line_in(self._pending)
            self._pending = b""
        if self._record:
            yield from self._row(self._record_line, "\n".join(self._record))
            self._record = []

    def _line_in(self, raw: bytes) -> Iterator[Row]:
        self._line += 1
        try:
            text = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            yield Row(self._line, None, "not UTF-8 text")
            return
        if not self.csv_mode:
            yield from self._row(self._line, text)
            return
        if not self._record:
            self._record_line = self._line
        self._record.append(text)
        if "\n".join(self._record).count('"') % 2 == 0:  # quotes balanced: the record is whole
            record, self._record = "\n".join(self._record), []
            yield from self._row(self._record_line, record)

    def _row(self, line: int, text: str) -> Iterator[Row]:
        if not text.strip():
            return
        if not self.csv_mode:
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Row(line, None, f"not valid JSON ({exc.msg})")
                return
            yield Row(line, value, None) if isinstance(value, dict) else Row(line, None, "not a JSON object")
            return
        try:
            cells = next(csv.reader(io.StringIO(text)))
        except csv.Error as exc:
            yield Row(line, None, str(exc))
            return
        if self.header is None:
            self.header = [c.strip() for c in cells]
            return
        if len(cells) != len(self.header):
            yield Row(line, None, f"{len(cells)} cells, but the header has {len(self.header)} columns")
            return
        yield Row(line, csv_fields(dict(zip(self.header, cells, strict=True))))


def csv_fields(cells: dict[str, str]) -> dict[str, Any]:
    """A CSV record's fields: empty cells left out, the head count as a number when it is one."""
    fields: dict[str, Any] = {name: value.strip() for name, value in cells.items() if value.strip()}
    if "employees" in fields and fields["employees"].isdigit():
        fields["employees"] = int(fields["employees"])
    return fields
