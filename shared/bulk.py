"""Bulk writes: many rows of a table in one go, inside the caller's open transaction.

PostgreSQL gets ``COPY ... FROM STDIN`` in its text format, written by us in large
blocks (an order of magnitude faster than INSERTs, and cheaper than a driver call per
row); SQLite gets one executemany. The imports use it for their rows, keys, history and
outbox rows, so everything a batch writes commits or rolls back together.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.orm import Session

from shared.db import OutboxRecord, in_chunks

OUTBOX_COLUMNS = ("event_id", "tenant_id", "topic", "key", "type", "occurred_at", "data")


def write_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]], *,
               columns: Sequence[str] | None = None, json_columns: Collection[str] = ()) -> None:
    """Insert ``rows`` (dicts keyed by column name) in list order; ``columns``: only these (default: the
    first row's keys; the others take their database default). ``json_columns`` hold JSON documents."""
    if not rows:
        return
    names = list(columns or rows[0].keys())
    if session.get_bind().dialect.name == "postgresql":
        _copy(session, table, rows, names, json_columns)
        return
    session.execute(insert(table), [{name: row[name] for name in names} for row in rows])


def write_outbox(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Outbox rows (``shared.outbox.outbox_row``) in list order, so their sequences follow it."""
    write_rows(session, OutboxRecord.__table__, rows, columns=OUTBOX_COLUMNS,  # type: ignore[arg-type]
               json_columns=("data",))


def analyze(session: Session, *tables: Table) -> None:
    """Let PostgreSQL's planner see how much a bulk load has grown these tables (in a transaction of its own).

    A table loaded from empty keeps the statistics of an empty table until autovacuum
    catches up, and the planner then scans it for every lookup of the next batch (which
    keys exist, which lead holds an e-mail): without it, half of a 30k-row customer import's
    time and four fifths of a 20k-row lead import's went there. An import calls it each
    time it has doubled what it wrote: a handful of times for any file size.
    """
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite plans these lookups with the indexes without statistics
    session.execute(text(f"ANALYZE {', '.join(table.name for table in tables)}"))


def _copy(session: Session, table: Table, rows: Sequence[dict[str, Any]], names: list[str],
          json_columns: Collection[str]) -> None:
    # One formatter per column, chosen once: this loop runs for every value of a million-row import.
    formats = [(name, _json_text if name in json_columns else _text) for name in names]
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for chunk in in_chunks(rows):
            copy.write("".join(["\t".join([format_(row[name]) for name, format_ in formats]) + "\n"
                                for row in chunk]))


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _json_text(value: Any) -> str:
    if value is None:
        return "\\N"
    # Key order does not matter: jsonb keeps its own.
    return _escaped(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def _text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        return _escaped(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # UUID, int, Decimal: no characters that need escaping


def _escaped(value: str) -> str:
    # Most text has nothing to escape; four scans in C are cheaper than translating every string.
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value
