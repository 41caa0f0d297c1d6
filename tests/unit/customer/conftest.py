"""A customer database of its own for the use-case tests: every table of the service on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.customer import app  # noqa: F401 - imports every feature, so the MetaData is complete
from services.customer.database import Base
from shared.db import PLATFORM_METADATA, OutboxRecord, make_engine, make_sessions

TENANT = "acme"


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'customer.db'}")
    PLATFORM_METADATA.create_all(engine)
    Base.metadata.create_all(engine)
    with make_sessions(engine)() as session:
        yield session
    engine.dispose()


def announced(db: Session, event_type: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
    """The outbox rows so far (type, key, data), oldest first; only one type if asked."""
    rows = db.scalars(select(OutboxRecord).order_by(OutboxRecord.sequence))
    return [(r.type, r.key, r.data) for r in rows if event_type is None or r.type == event_type]
