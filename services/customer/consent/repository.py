"""Queries of consent: the current state per channel and the full history."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.customer.consent.tables import Consent, ConsentRecord

_FIELDS = ("status", "source", "wording", "recorded_at", "recorded_by")


def current_of(session: Session, tenant: str, customer_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    rows = session.scalars(select(Consent).where(Consent.tenant_id == tenant, Consent.customer_id == customer_id))
    return {row.channel: {name: getattr(row, name) for name in _FIELDS} for row in rows}


def save(session: Session, tenant: str, customer_id: uuid.UUID, record: dict[str, Any]) -> None:
    """The new current state of the channel, and its line in the history."""
    row = session.get(Consent, (customer_id, record["channel"]))
    if row is None:
        row = Consent(tenant_id=tenant, customer_id=customer_id, channel=record["channel"], version=0)
        session.add(row)
    for name in _FIELDS:
        setattr(row, name, record[name])
    row.version += 1
    session.add(ConsentRecord(tenant_id=tenant, customer_id=customer_id, **record))


def history_of(session: Session, tenant: str, customer_id: uuid.UUID, channel: str | None) -> list[ConsentRecord]:
    query = select(ConsentRecord).where(ConsentRecord.tenant_id == tenant, ConsentRecord.customer_id == customer_id)
    if channel is not None:
        query = query.where(ConsentRecord.channel == channel)
    return list(session.scalars(query.order_by(ConsentRecord.sequence)))
