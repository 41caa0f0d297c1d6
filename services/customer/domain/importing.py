"""Bulk import and export formats: CSV and NDJSON rows to customer bodies and back, read incrementally.

Plain Python. An NDJSON line is the body of ``POST /v1/customers`` (plus
``external_id``, which every imported row needs so that a re-run never creates a
customer twice). A CSV row is the same customer flattened into columns: lists are
``;``-separated (the first entry is primary), money is ``<field>_amount`` and
``<field>_currency``, one postal address is ``address_*``, custom fields are
``custom.<name>``.

A row may link to its organization (``parent_external_id`` for a subsidiary,
``organization_external_id`` for a person) by the other customer's external id, so
one file can carry a whole group: the linked customer must exist already or come
earlier in the file. An export writes links that way whenever the linked customer has
an external id, so it imports into another tenant with its hierarchy intact.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Fields a document carries that an import row may repeat (e.g. from `crm export`) but never sets.
READ_ONLY = frozenset({"id", "display_name", "version", "created_at", "updated_at", "customer_group", "value_tier",
                       "pii_masked"})
PLAIN_COLUMNS = ("external_id", "kind", "given_name", "family_name", "organization_name", "country", "region",
                 "industry", "employees", "preferred_language", "preferred_currency", "owner", "parent_id",
                 "organization_id", "organization_role", "parent_external_id", "organization_external_id")
# Links by external id, and the id field each one fills once resolved.
LINKS_BY_EXTERNAL_ID = {"parent_external_id": "parent_id", "organization_external_id": "organization_id"}
MONEY_COLUMNS = ("annual_revenue", "credit_limit", "lifetime_value")
ADDRESS_COLUMNS = ("line1", "line2", "city", "postal_code", "region", "country")
CSV_COLUMNS: tuple[str, ...] = (
    *PLAIN_COLUMNS, "emails", "phones", "tags",
    *(f"address_{p}" for p in ADDRESS_COLUMNS),
    *(f"{m}_{part}" for m in MONEY_COLUMNS for part in ("amount", "currency")),
)


class RowError(ValueError):
    """A row that cannot even be read (bad JSON, wrong shape): reported with its line number."""


@dataclass(frozen=True)
class Row:
    line: int
    body: dict[str, Any] | None
    error: str | None = None


def import_body(raw: Any) -> dict[str, Any]:
    """An NDJSON object as a create body: read-only document fields dropped."""
    if not isinstance(raw, dict):
        raise RowError("each line must be a JSON object")
    return {k: v for k, v in raw.items() if k not in READ_ONLY}


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def body_from_csv(record: dict[str, str | None]) -> dict[str, Any]:
    """A CSV record (column -> text) as a create body; empty cells are simply absent."""
    cells = {k.strip(): v.strip() for k, v in record.items() if k and v is not None and v.strip()}
    body: dict[str, Any] = {name: cells[name] for name in PLAIN_COLUMNS if name in cells}
    for name, field, key in (("emails", "emails", "address"), ("phones", "phones", "number")):
        values = _split(cells.get(name, ""))
        if values:
            body[field] = [{key: v, "primary": i == 0} for i, v in enumerate(values)]
    if "tags" in cells:
        body["tags"] = _split(cells["tags"])
    address = {part: cells[f"address_{part}"] for part in ADDRESS_COLUMNS if f"address_{part}" in cells}
    if address:
        body["addresses"] = [address | {"primary": True}]
    for name in MONEY_COLUMNS:
        amount, currency = cells.get(f"{name}_amount"), cells.get(f"{name}_currency")
        if amount is not None or currency is not None:
            body[name] = {"amount": amount, "currency": currency}
    custom = {k[7:]: v for k, v in cells.items() if k.startswith("custom.")}
    if custom:
        body["custom_fields"] = custom
    unknown = set(cells) - set(CSV_COLUMNS) - {k for k in cells if k.startswith("custom.")}
    if unknown:
        raise RowError(f"unknown column(s): {', '.join(sorted(unknown))}")
    return body


def split_links(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A row's body without its links by external id, and those links (id field -> external id)."""
    links = {field: str(body[name]) for name, field in LINKS_BY_EXTERNAL_ID.items() if body.get(name)}
    return {k: v for k, v in body.items() if k not in LINKS_BY_EXTERNAL_ID}, links


def linked_by_external_id(document: dict[str, Any], external_ids: dict[str, str]) -> dict[str, Any]:
    """The document with each link to a customer that has an external id written by that id instead."""
    linked = dict(document)
    for name, field in LINKS_BY_EXTERNAL_ID.items():
        target = document.get(field)
        if target is not None and str(target) in external_ids:
            linked[name], linked[field] = external_ids[str(target)], None
    return linked


def csv_from_document(document: dict[str, Any], custom_names: list[str]) -> dict[str, str]:
    """A customer document as one CSV record (the inverse of ``body_from_csv``)."""
    row = {name: "" if document.get(name) is None else str(document[name]) for name in PLAIN_COLUMNS}
    if not row["external_id"]:
        row["external_id"] = str(document["id"])
    emails = sorted(document.get("emails") or [], key=lambda e: not e["primary"])
    phones = sorted(document.get("phones") or [], key=lambda p: not p["primary"])
    row["emails"] = ";".join(e["address"] for e in emails)
    row["phones"] = ";".join(p["number"] for p in phones)
    row["tags"] = ";".join(document.get("tags") or [])
    primary = next((a for a in document.get("addresses") or [] if a["primary"]), None) or {}
    for part in ADDRESS_COLUMNS:
        row[f"address_{part}"] = primary.get(part) or ""
    for name in MONEY_COLUMNS:
        money = document.get(name) or {}
        row[f"{name}_amount"], row[f"{name}_currency"] = money.get("amount", ""), money.get("currency", "")
    for name in custom_names:
        value = (document.get("custom_fields") or {}).get(name)
        row[f"custom.{name}"] = "" if value is None else str(value)
    return row


def ndjson_from_document(document: dict[str, Any]) -> str:
    """A customer document as one NDJSON line an import takes back (external id defaults to the id)."""
    body = {k: v for k, v in document.items() if (k not in READ_ONLY or k == "id") and
            (v is not None or k not in LINKS_BY_EXTERNAL_ID.values())}
    body["external_id"] = body.get("external_id") or str(document["id"])
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


# --- reading a stream ---------------------------------------------------------------------------


class RecordSplitter:
    """Cuts a byte stream into whole records (with the line each starts on), chunk by chunk.

    For CSV a record may span lines (a quoted cell with a line break): it is complete
    once its double quotes balance.
    """

    def __init__(self, csv_mode: bool) -> None:
        self.csv_mode = csv_mode
        self._pending = b""
        self._record: list[str] = []
        self._record_line = 0
        self._line = 0
        self._first = True

    def feed(self, chunk: bytes) -> Iterator[tuple[int, str]]:
        data = self._pending + chunk
        *lines, self._pending = data.split(b"\n")
        for raw in lines:
            yield from self._line_in(raw)

    def close(self) -> Iterator[tuple[int, str]]:
        if self._pending:
            yield from self._line_in(self._pending)
            self._pending = b""
        if self._record:
            yield self._record_line, "\n".join(self._record)
            self._record = []

    def _line_in(self, raw: bytes) -> Iterator[tuple[int, str]]:
        self._line += 1
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        if self._first:
            text = text.removeprefix("\ufeff")
            self._first = False
        if not self._record:
            self._record_line = self._line
        self._record.append(text)
        if not self.csv_mode or "\n".join(self._record).count('"') % 2 == 0:
            yield self._record_line, "\n".join(self._record)
            self._record = []


class RowReader:
    """Turns whole records into rows: an NDJSON object per line, or CSV records after a header line."""

    def __init__(self, csv_mode: bool) -> None:
        self.csv_mode = csv_mode
        self.header: list[str] | None = None

    def row(self, line: int, text: str) -> Row | None:
        if not text.strip():
            return None
        try:
            if not self.csv_mode:
                return Row(line, import_body(json.loads(text)))
            cells = next(csv.reader(io.StringIO(text)))
            if self.header is None:
                self.header = [c.strip() for c in cells]
                return None
            if len(cells) != len(self.header):
                raise RowError(f"{len(cells)} cells, but the header has {len(self.header)} columns")
            return Row(line, body_from_csv(dict(zip(self.header, cells, strict=True))))
        except json.JSONDecodeError as exc:
            return Row(line, None, f"not valid JSON ({exc.msg})")
        except (RowError, csv.Error) as exc:
            return Row(line, None, str(exc))
