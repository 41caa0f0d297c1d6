"""Use cases of consent: a customer's consent per channel, its history, and recording a change.

Every change is kept as history and announced (``crm.customer.consent_changed.v1``).
Nothing here commits.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.customer import contract
from services.customer.consent import repository, rules
from services.customer.consent.tables import ConsentRecord
from services.customer.customers import repository as customers_repository
from shared.db import utcnow
from shared.errors import NotFound
from shared.outbox import publish


def _exists(db: Session, tenant: str, customer_id: uuid.UUID) -> None:
    if customers_repository.get_customer(db, tenant, customer_id) is None:
        raise NotFound(f"No customer {customer_id}.")


def current(db: Session, tenant: str, customer_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """Every channel's consent, ``unknown`` where nothing was recorded."""
    _exists(db, tenant, customer_id)
    return rules.current(repository.current_of(db, tenant, customer_id))


def history(db: Session, tenant: str, customer_id: uuid.UUID, channel: str | None) -> list[ConsentRecord]:
    _exists(db, tenant, customer_id)
    return repository.history_of(db, tenant, customer_id, channel)


def record(db: Session, tenant: str, customer_id: uuid.UUID, channel: str, *, status: str, source: str,
           wording: str | None, recorded_at: datetime | None, recorded_by: str) -> dict[str, dict[str, Any]]:
    """Record the customer's consent for one channel; returns every channel's consent after it."""
    _exists(db, tenant, customer_id)
    previous = rules.current(repository.current_of(db, tenant, customer_id))[channel]["status"]
    change = rules.record(channel=channel, status=status, source=source, wording=wording, recorded_at=recorded_at,
                          previous=previous, recorded_by=recorded_by, now=utcnow())
    save(db, tenant, customer_id, change)
    return rules.current(repository.current_of(db, tenant, customer_id))


def save(db: Session, tenant: str, customer_id: uuid.UUID, change: dict[str, Any]) -> None:
    """A checked consent record (``rules.record``) stored and announced, as every consent change is."""
    repository.save(db, tenant, customer_id, change)
    publish(db, contract.CONSENT_CHANGED, contract.ConsentChanged(customer_id=customer_id, **change),
            subject=str(customer_id), tenant=tenant)
