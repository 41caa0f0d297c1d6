"""The replica of a published view that a service keeps, read from one compacted topic alone.

Sales, service desk and campaign each keep the unified customer view this way: every
contact point shows the customer exactly as it was published, says which version it
holds, and a new replica bootstraps from the topic alone. The service declares the
table (``ReplicaColumns`` on its own Base) and what it reads (``Reads``: event type,
topic and ``ReplicatedView``, the fields this mechanism reads); ``ViewReplica`` does the rest: applying versions, lookups for the
records that embed the customer, and the hashes that prove a replay identical.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import datetime
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import String, delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.consumer import ConsumerSpec, Delivery
from shared.contract import Reads
from shared.db import utcnow
from shared.envelope import dumps
from shared.errors import InvalidInput

R = TypeVar("R", bound="ReplicaColumns")

# Called in the same transaction after a view is applied (``tenant`` and the view document) or forgotten
# (both None): ``(session, customer_id, tenant, view)``. A service keeps something derived from the
# views this way (e.g. indexed lookup keys). Only a version the replica applied is passed on: an older one
# arriving late is neither kept nor followed, so the view given is the one the replica now holds.
OnApplied = Callable[[Session, uuid.UUID, "str | None", "dict[str, Any] | None"], None]


class ReplicaColumns:
    """The columns of a view replica; a service's table is ``class X(ReplicaColumns, Base)``."""

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    view_version: Mapped[int]
    display_name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    view: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class ReplicatedProfile(BaseModel):
    display_name: str = ""
    kind: str = ""


class ReplicatedView(BaseModel):
    """What a replica reads of a published view (it keeps the whole document): the reader a
    service's ``Reads`` of the view names, so the contract test holds it against the producer."""

    version: int
    profile: ReplicatedProfile = Field(default_factory=ReplicatedProfile)


class EmbeddedCustomer(BaseModel):
    """How another service shows the customer a record belongs to."""

    id: uuid.UUID
    display_name: str
    view_version: int


def embedded(replica: ReplicaColumns | None, customer_id: uuid.UUID) -> EmbeddedCustomer:
    if replica is None:
        # Erased or not yet replicated: still name the id, with no personal data.
        return EmbeddedCustomer(id=customer_id, display_name="(unavailable)", view_version=0)
    return EmbeddedCustomer(id=replica.customer_id, display_name=replica.display_name, view_version=replica.view_version)


class ViewReplica(Generic[R]):
    """One service's replica of the published view: its consumer, its lookups, its hashes."""

    def __init__(self, model: type[R], *, reads: Reads, consumer_name: str = "view-replica",
                 on_applied: OnApplied | None = None) -> None:
        self.model, self.reads, self.consumer_name = model, reads, consumer_name
        self.on_applied = on_applied
        table = model.__table__  # type: ignore[attr-defined]
        # Built once per dialect: a Core statement executed with each row's parameters skips the ORM's
        # bulk-insert path and statement building, which were half of a replica worker's time per event.
        self._upserts = {"postgresql": _newer_version(table, postgresql_insert),
                         "sqlite": _newer_version(table, sqlite_insert)}

    def consumer(self) -> ConsumerSpec:
        # No processed-event rows: applying a version twice changes nothing (only a newer one wins),
        # and a redelivery replays the partition in order, so a tombstone still comes after what it forgets.
        return ConsumerSpec(name=self.consumer_name, topics=[self.reads.topic], handle=self.apply,
                            accepts_tombstones=True, types=frozenset({self.reads.name}), dedupe=False)

    def apply(self, session: Session, delivery: Delivery) -> None:
        """Keep the newest published version of each customer's view; a tombstone forgets it."""
        customer_id = uuid.UUID(delivery.key)
        if delivery.event is None:
            self.forget(session, customer_id)
            return
        if delivery.event.type != self.reads.name:
            return
        view = self.reads.read(delivery.event.data)
        written = session.execute(self._upserts[session.get_bind().dialect.name], {
            "customer_id": customer_id, "tenant_id": delivery.event.tenant, "view_version": view.version,
            "display_name": view.profile.display_name, "kind": view.profile.kind, "view": delivery.event.data,
            "updated_at": utcnow(),
        }).first()
        if written is not None and self.on_applied is not None:
            self.on_applied(session, customer_id, delivery.event.tenant, delivery.event.data)

    def forget(self, session: Session, customer_id: uuid.UUID) -> None:
        model: Any = self.model
        session.execute(delete(model).where(model.customer_id == customer_id))
        if self.on_applied is not None:
            self.on_applied(session, customer_id, None, None)

    def find(self, session: Session, tenant: str, customer_id: uuid.UUID) -> R | None:
        # By primary key: a request that asks for its customer many times (the record's own checks, routing,
        # the SLA's policy choice) reads the row, and parses its view, once per unit of work.
        row: R | None = session.get(self.model, customer_id)
        return row if row is not None and row.tenant_id == tenant else None

    def find_many(self, session: Session, tenant: str, ids: set[uuid.UUID]) -> dict[uuid.UUID, R]:
        if not ids:
            return {}
        model: Any = self.model
        rows = session.scalars(select(model).where(model.tenant_id == tenant, model.customer_id.in_(ids)))
        return {row.customer_id: row for row in rows}

    def require(self, session: Session, tenant: str, customer_id: uuid.UUID, *, wait_seconds: float = 0.0) -> R:
        """The customer a new record is for; unknown customers are a 422, never a silent orphan.

        With ``wait_seconds`` (the client sent the consistency token of its customer write)
        the replica gets that long to catch up before the request is refused. Call it before
        the request writes anything: waiting ends the session's transaction to see new rows.
        """
        found = self.find(session, tenant, customer_id)
        deadline = time.monotonic() + wait_seconds
        while found is None and time.monotonic() < deadline:
            time.sleep(0.02)
            session.rollback()
            found = self.find(session, tenant, customer_id)
        if found is None:
            raise InvalidInput.on("customer_id", f"no customer {customer_id} is known to this service")
        return found

    def states(self, session: Session) -> dict[uuid.UUID, tuple[int, str]]:
        """Each replicated customer's view version and a hash of the view held, for drift checks."""
        model: Any = self.model
        rows = session.scalars(select(model).order_by(model.customer_id).execution_options(yield_per=1000))
        return {row.customer_id: (row.view_version, document_hash(row.view)) for row in rows}

    def digest(self, session: Session) -> str:
        """One hash over the whole replica, to prove a rebuild from the view topic identical."""
        hasher = hashlib.sha256()
        for customer_id, (version, doc_hash) in self.states(session).items():
            hasher.update(f"{customer_id}:{version}:{doc_hash};".encode())
        return hasher.hexdigest()


# What a newer version replaces; the key and the tenant stay.
_REPLACED = ("view_version", "display_name", "kind", "view", "updated_at")


def _newer_version(table: Any, insert: Any) -> Any:
    """One statement, whichever of insert and update it turns out to be: an older version arriving late
    must not win, and a read before the write would cost every event one more round trip. It returns a
    row only when it wrote one, so whoever follows the replica knows without reading it back."""
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.customer_id],
        set_={name: statement.excluded[name] for name in _REPLACED},
        where=table.c.view_version < statement.excluded.view_version,
    ).returning(table.c.view_version)


def document_hash(view: dict[str, Any]) -> str:
    return hashlib.sha256(dumps(view).encode()).hexdigest()
