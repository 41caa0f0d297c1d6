"""Use cases of the unified view: read it (optionally waiting for a write to show) and its timeline."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

from anyio import to_thread
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from services.customer.view import repository
from services.customer.view.tables import CustomerView, TimelineRecord
from shared.errors import NotFound, Problem
from shared.http import ConsistencyToken, PageRequest

# How often a read waiting for a write looks again.
POLL_SECONDS = 0.01


@dataclass(frozen=True)
class Read:
    """A view as stored, whether it reflects the write the reader waited for, and how long that took."""

    stored: repository.StoredView | None
    satisfied: bool
    waited_ms: int


async def read_view(engine: Engine, tenant: str, customer_id: uuid.UUID, token: ConsistencyToken | None,
                    wait_seconds: float) -> Read:
    """The stored view; with a consistency token, waits (at most ``wait_seconds``) until it reflects that write."""
    started = time.monotonic()
    deadline = started + wait_seconds
    while True:
        stored = await to_thread.run_sync(repository.read_stored, engine, tenant, customer_id)
        satisfied = _reflects(stored, token, customer_id)
        # Without a token there is nothing to wait for: an unknown customer is a 404 at once
        # (it used to be one after the whole wait, which a client could make every read cost).
        if satisfied or token is None or time.monotonic() >= deadline:
            break
        await asyncio.sleep(POLL_SECONDS)
    return Read(stored, satisfied, int((time.monotonic() - started) * 1000))


class ViewPending(Problem):
    """A read's consistency token names a customer the view has not heard of yet.

    Not a 404: the client has just written that customer, and saying it does not exist
    would be false. The write is on its way; the client retries after ``Retry-After``.
    """

    slug, title, status = "view-pending", "The view has not caught up yet", 503

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": "1", "CRM-Consistency": "stale"})


def pending(read: Read, token: ConsistencyToken | None, customer_id: uuid.UUID) -> bool:
    """Whether the view has never seen a customer the read's token says was written."""
    return read.stored is None and token is not None and str(customer_id) in token.subjects


def _reflects(stored: repository.StoredView | None, token: ConsistencyToken | None, customer_id: uuid.UUID) -> bool:
    if token is None:
        return stored is not None
    if str(customer_id) not in token.subjects:
        return stored is not None  # the write did not touch this customer
    return (stored is not None and stored.document is not None
            and stored.source_sequences.get(token.service, 0) >= token.sequence)


@dataclass(frozen=True)
class Timeline:
    """A page of the timeline, or the survivor a merged-away customer's timeline moved to."""

    entries: list[TimelineRecord]
    merged_into: uuid.UUID | None = None


def timeline(db: Session, tenant: str, customer_id: uuid.UUID, page: PageRequest, source: str | None,
             type_prefix: str | None) -> Timeline:
    """Newest first (one row more than the page, to tell whether more exist)."""
    view: CustomerView | None = repository.get_view_of(db, tenant, customer_id)
    if view is not None and view.merged_into is not None:
        return Timeline([], merged_into=view.merged_into)
    if view is None or not view.profile:
        raise NotFound(f"No customer {customer_id} in the unified view.")
    return Timeline(repository.timeline(db, tenant, customer_id, page, source, type_prefix))
