"""The lead import's reads and writes: a whole batch's candidates in a few queries, its rows in one go."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, any_, bindparam, select
from sqlalchemy.orm import Session

from services.sales.leads import rules
from services.sales.leads.repository import KEY_COLUMNS
from services.sales.leads.tables import CustomerMatchKey, Lead, LeadHistory
from shared.bulk import analyze, write_outbox, write_rows
from shared.db import in_chunks

LEAD_COLUMNS: tuple[str, ...] = tuple(column.key for column in Lead.__table__.columns)


def _among(session: Session, column: Any, values: Collection[Any]) -> Iterator[ColumnElement[bool]]:
    """``column IN values`` as conditions to query one after the other: on PostgreSQL one, with the values
    as a single array parameter (binding thousands of separate parameters cost a tenth of an import's
    time); elsewhere IN lists of ``in_chunks`` size."""
    ordered = sorted(values)
    if not ordered:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield column == any_(bindparam(None, ordered, type_=ARRAY(column.type)))
        return
    for chunk in in_chunks(ordered):
        yield column.in_(chunk)


def open_leads_with_keys(session: Session, tenant: str, pairs: Collection[tuple[str, str]]) -> list[Lead]:
    """Every open lead holding one of these ``(kind, value)`` keys, oldest first, locked until the
    transaction ends (a change by id meanwhile waits for the batch instead of being overwritten)."""
    found: dict[uuid.UUID, Lead] = {}
    for kind, column in KEY_COLUMNS.items():
        for among in _among(session, column, {value for k, value in pairs if k == kind}):
            for lead in session.scalars(select(Lead).where(
                    Lead.tenant_id == tenant, among, Lead.status.in_(rules.OPEN_STATUSES))
                    .with_for_update()):
                found[lead.id] = lead
    return sorted(found.values(), key=lambda lead: (lead.created_at, lead.id))


def open_leads_of_customers(session: Session, tenant: str, customer_ids: Collection[uuid.UUID]) -> list[Lead]:
    """The open leads of these customers, oldest first, locked like ``open_leads_with_keys``."""
    found: dict[uuid.UUID, Lead] = {}
    for among in _among(session, Lead.customer_id, customer_ids):
        for lead in session.scalars(select(Lead).where(
                Lead.tenant_id == tenant, among, Lead.status.in_(rules.OPEN_STATUSES))
                .with_for_update()):
            found[lead.id] = lead
    return sorted(found.values(), key=lambda lead: (lead.created_at, lead.id))


def customers_with_keys(session: Session, tenant: str,
                        pairs: Collection[tuple[str, str]]) -> dict[tuple[str, str], uuid.UUID]:
    """The replicated customer holding each of these keys (the lowest id, if several do)."""
    found: dict[tuple[str, str], uuid.UUID] = {}
    for kind in rules.KEY_KINDS:
        for among in _among(session, CustomerMatchKey.value, {value for k, value in pairs if k == kind}):
            for value, customer_id in session.execute(select(CustomerMatchKey.value, CustomerMatchKey.customer_id)
                                                      .where(CustomerMatchKey.tenant_id == tenant,
                                                             CustomerMatchKey.kind == kind, among)):
                pair = (kind, value)
                if pair not in found or customer_id < found[pair]:
                    found[pair] = customer_id
    return found


def write(session: Session, leads: Sequence[Lead], history: Sequence[dict[str, Any]],
          outbox: Sequence[dict[str, Any]]) -> None:
    """The batch's new leads (objects never added to the session), history entries and outbox rows."""
    write_rows(session, Lead.__table__, [{name: getattr(lead, name) for name in LEAD_COLUMNS}  # type: ignore[arg-type]
                                         for lead in leads], json_columns=("score_reasons",))
    write_rows(session, LeadHistory.__table__, history, json_columns=("details",))  # type: ignore[arg-type]
    write_outbox(session, outbox)


def refresh_statistics(session: Session) -> None:
    analyze(session, Lead.__table__, LeadHistory.__table__)  # type: ignore[arg-type]
