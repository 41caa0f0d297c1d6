"""Bulk writes of the customer master: many customers, their keys and their events in one go.

PostgreSQL gets ``COPY ... FROM STDIN`` (an order of magnitude faster than INSERTs);
SQLite gets one executemany per table. Either way everything is written in the
caller's open transaction, so customers and their ``crm.customer.created.v1``
outbox rows commit together.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, insert, select, text
from sqlalchemy.orm import Session

from services.customer.customers.tables import Customer, CustomerKey
from shared.db import OutboxRecord, in_chunks

_JSON_COLUMNS = {"emails", "phones", "addresses", "tags", "custom_fields", "annual_revenue", "credit_limit"}
_OUTBOX_COLUMNS = ("event_id", "tenant_id", "topic", "key", "type", "occurred_at", "data")


def existing_external_ids(session: Session, tenant: str, external_ids: Sequence[str]) -> dict[str, uuid.UUID]:
    found: dict[str, uuid.UUID] = {}
    for chunk in in_chunks(external_ids):
        rows = session.execute(select(Customer.external_id, Customer.id).where(
            Customer.tenant_id == tenant, Customer.external_id.in_(chunk)))
        found.update((external_id, customer_id) for external_id, customer_id in rows)
    return found


def live_by_external_ids(session: Session, tenant: str,
                         external_ids: Sequence[str]) -> dict[str, tuple[uuid.UUID, str]]:
    """Id and kind of the live (not deleted, not merged away) customers holding these external ids."""
    found: dict[str, tuple[uuid.UUID, str]] = {}
    for chunk in in_chunks(external_ids):
        rows = session.execute(select(Customer.external_id, Customer.id, Customer.kind).where(
            Customer.tenant_id == tenant, Customer.external_id.in_(chunk),
            Customer.deleted_at.is_(None), Customer.merged_into.is_(None)))
        found.update((external_id, (customer_id, kind)) for external_id, customer_id, kind in rows
                     if external_id is not None)
    return found


def external_ids_of(session: Session, tenant: str, ids: Iterable[uuid.UUID]) -> dict[str, str]:
    """The external id of each of these customers that has one (by id as a string)."""
    found: dict[str, str] = {}
    for chunk in in_chunks(set(ids)):
        rows = session.execute(select(Customer.id, Customer.external_id).where(
            Customer.tenant_id == tenant, Customer.id.in_(chunk),
            Customer.external_id.is_not(None)))
        found.update((str(customer_id), str(external_id)) for customer_id, external_id in rows)
    return found


def owners_of_keys(session: Session, tenant: str, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
    """Which live customer holds each of these e-mail or phone keys (the oldest, if several do)."""
    found: dict[tuple[str, str], uuid.UUID] = {}
    for kind in {k for k, _ in keys}:
        for chunk in in_chunks(sorted({v for k, v in keys if k == kind})):
            rows = session.execute(
                select(CustomerKey.value, CustomerKey.customer_id)
                .join(Customer, Customer.id == CustomerKey.customer_id)
                .where(CustomerKey.tenant_id == tenant, CustomerKey.kind == kind,
                       CustomerKey.value.in_(chunk),
                       Customer.deleted_at.is_(None), Customer.merged_into.is_(None),
                       Customer.erased_at.is_(None))
                .order_by(CustomerKey.value, Customer.id))
            for value, customer_id in rows:
                found.setdefault((kind, value), customer_id)
    return found


def kinds_of(session: Session, tenant: str, ids: Iterable[uuid.UUID]) -> dict[str, str]:
    """Kind of each live customer among ``ids`` (as strings): what import rows may link to."""
    found: dict[str, str] = {}
    for chunk in in_chunks(set(ids)):
        found.update((str(i), k) for i, k in session.execute(select(Customer.id, Customer.kind).where(
            Customer.tenant_id == tenant, Customer.id.in_(chunk),
            Customer.deleted_at.is_(None), Customer.merged_into.is_(None))))
    return found


def write(session: Session, customers: list[dict[str, Any]], keys: list[dict[str, Any]],
          outbox: list[dict[str, Any]]) -> None:
    """Insert rows (dicts keyed by column name); outbox rows in list order, so sequences follow it."""
    if not customers:
        return
    if session.get_bind().dialect.name == "postgresql":
        _copy(session, Customer.__table__, customers)  # type: ignore[arg-type]
        _copy(session, CustomerKey.__table__, keys)  # type: ignore[arg-type]
        _copy(session, OutboxRecord.__table__, outbox, _OUTBOX_COLUMNS)  # type: ignore[arg-type]
        return
    session.execute(insert(Customer.__table__), customers)
    if keys:
        session.execute(insert(CustomerKey.__table__), keys)
    session.execute(insert(OutboxRecord.__table__), [{k: row[k] for k in _OUTBOX_COLUMNS} for row in outbox])


def refresh_statistics(session: Session) -> None:
    """Let PostgreSQL's planner see how much a bulk load has grown the tables (in a transaction of its own).

    A table loaded from empty keeps the statistics of an empty table until autovacuum
    catches up, and the planner then scans it for every lookup of the next batch (which
    external ids exist, who holds an e-mail): half of a 30k-row import's time went there.
    """
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite plans these lookups with the indexes without statistics
    session.execute(text("ANALYZE customers, customer_keys"))


def _copy(session: Session, table: Table, rows: list[dict[str, Any]], columns: Sequence[str] | None = None) -> None:
    """COPY in PostgreSQL's text format, written by us in large blocks (cheaper than a driver call per row)."""
    if not rows:
        return
    # Only the columns the rows carry: the others take their database default (columns added later included).
    names = list(columns or rows[0].keys())
    # One formatter per column, chosen once: this loop runs for every value of a million-row import.
    columns_and_formats = [(n, _json_text if n in _JSON_COLUMNS or n == "data" else _text) for n in names]
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for chunk in in_chunks(rows):
            copy.write("".join(["\t".join([format_(row[name]) for name, format_ in columns_and_formats]) + "\n"
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
