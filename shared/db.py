"""Database plumbing shared by every service: engine, sessions, column types, the platform tables
and the unit of work.

Every service has its own database (one URL per service) and its own ``MetaData``: its
tables subclass a ``DeclarativeBase`` of its own (``services/<name>/database.py``) built
with ``COLUMN_TYPES``, so no process can create or migrate another service's tables. The
three platform tables every database holds (outbox, processed events, idempotency keys)
are defined once, here, in ``PLATFORM_METADATA``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Engine,
    Index,
    Integer,
    LargeBinary,
    String,
    TypeDecorator,
    Uuid,
    create_engine,
    event,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

JsonType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
SequenceType = BigInteger().with_variant(Integer(), "sqlite")


# Bound parameters per IN (...) list: well inside every driver's limits, and plans stay simple.
IN_LIST_SIZE = 1000


def in_chunks(values: Iterable[Any], size: int = IN_LIST_SIZE) -> Iterator[list[Any]]:
    """``values`` in lists of at most ``size``, for ``IN (...)`` queries over many keys."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def dialect_insert(session: Session, model: Any) -> Any:
    """An INSERT of ``model`` in the session's own dialect (PostgreSQL's or SQLite's), which offers
    ``on_conflict_do_nothing`` and ``on_conflict_do_update``."""
    dialect = session.get_bind().dialect.name
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(model)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


# How every service maps Python annotations to columns: ``type_annotation_map`` of its Base.
COLUMN_TYPES: dict[Any, Any] = {
    datetime: UtcDateTime,
    uuid.UUID: Uuid,
    dict[str, Any]: JsonType,
    list[Any]: JsonType,
}


class PlatformBase(DeclarativeBase):
    """The platform tables' own registry: they join each service's database, never its MetaData."""

    type_annotation_map = COLUMN_TYPES


PLATFORM_METADATA = PlatformBase.metadata


class OutboxRecord(PlatformBase):
    """An event committed together with the change it describes, waiting for the relay."""

    __tablename__ = "outbox"

    sequence: Mapped[int] = mapped_column(SequenceType, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime]
    # None marks a tombstone: the relay sends a null value so compaction forgets the key.
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(nullable=True)

    # Only pending rows: the relay's claim must not walk past everything already published.
    __table_args__ = (Index("ix_outbox_pending", "sequence", postgresql_where=text("published_at IS NULL"),
                            sqlite_where=text("published_at IS NULL")),)


class ProcessedEvent(PlatformBase):
    """Remembers which events a consumer has applied, so a redelivery changes nothing."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    processed_at: Mapped[datetime]


class IdempotencyRecord(PlatformBase):
    """The first response to a write carrying an ``Idempotency-Key``, replayed on a retry."""

    __tablename__ = "idempotency_keys"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime]


def make_engine(url: str) -> Engine:
    """An engine tuned for the given backend (SQLite in WAL mode, PostgreSQL pooled)."""
    if url.startswith("sqlite"):
        _ensure_sqlite_folder(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    # Enough steady connections for a busy service's request threads, relay and consumers: an
    # overflow connection is opened and closed per use, and under load that churn (a new
    # PostgreSQL backend each time) cost a tenth of the customer service's CPU. Five services
    # at their peak stay within PostgreSQL's default max_connections of 100.
    return create_engine(url, pool_size=18, max_overflow=2, pool_pre_ping=True)


def _ensure_sqlite_folder(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers proceed while the relay and consumers write; busy_timeout
    # makes concurrent writers wait instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def hold_lock(session: Session, name: str, *, shared: bool = False) -> None:
    """Hold a lock called ``name`` until the session's transaction ends, so check-then-write use cases
    about the same thing (no duplicate lead, no overlapping price book) run one after the other.
    ``shared``: many holders at once, but none while someone holds it exclusively (writers that may
    run side by side, against one that must see them all finished).

    PostgreSQL: an advisory transaction lock on a 64-bit digest of the name. SQLite: nothing, as
    the embedded default serves one process whose writers take the database's one write lock.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(name.encode()).digest()
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    session.execute(text(f"SELECT {function}(:key)"), {"key": int.from_bytes(digest[:8], "big", signed=True)})


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work outside a request (jobs, bulk batches, command-line tools).

    With the request's unit of work (``shared.http``) and the consumer runner's, this
    is the only place that commits: code inside it never calls ``commit()``.
    """
    session = sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
