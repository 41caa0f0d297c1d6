"""Bulk writes of the customer master: many customers, their keys and their events in one go.

Through ``shared.bulk`` (COPY on PostgreSQL, executemany on SQLite), in the caller's
open transaction, so customers and their ``crm.customer.created.v1`` outbox rows
commit together.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.customer.customers.tables import Customer, CustomerKey
from shared.bulk import analyze, write_outbox, write_rows
from shared.db import in_chunks

_JSON_COLUMNS = {"emails", "phones", "addresses", "tags", "custom_fields", "annual_revenue", "credit_limit"}


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
    write_rows(session, Customer.__table__, customers, json_columns=_JSON_COLUMNS)  # type: ignore[arg-type]
    write_rows(session, CustomerKey.__table__, keys)  # type: ignore[arg-type]
    write_outbox(session, outbox)


def refresh_statistics(session: Session) -> None:
    """Let PostgreSQL's planner see how much a bulk load has grown the tables (see ``shared.bulk.analyze``)."""
    analyze(session, Customer.__table__, CustomerKey.__table__)  # type: ignore[arg-type]
