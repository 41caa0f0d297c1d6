"""The service desk's app on a migrated SQLite database of its own, with one customer in its view replica: for
HTTP tests of the desk's routes without processes or Kafka."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from services.service_desk.customers.tables import CustomerReplica
from shared.auth import mint_token
from shared.db import make_engine, make_sessions, unit_of_work, utcnow
from shared.migrate import upgrade
from shared.settings import DEV_JWT_SECRET


@contextmanager
def desk_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, tenant: str, customer: uuid.UUID,
             view: dict[str, Any], display_name: str = "Ada Ltd", scopes: list[str] | None = None,
             ) -> Iterator[tuple[TestClient, sessionmaker[Session]]]:
    """A client of the desk's app (with a token of ``tenant``'s unless ``scopes`` is empty) and sessions on its
    database, which holds ``customer`` as an organization whose published view is ``view``."""
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    upgrade("service_desk", url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    with unit_of_work(sessions) as session:
        session.add(CustomerReplica(customer_id=customer, tenant_id=tenant, view_version=view.get("version", 1),
                                    display_name=display_name, kind="organization", view=view,
                                    updated_at=utcnow()))
    monkeypatch.setenv("SERVICE_DESK_DATABASE_URL", url)
    from services.service_desk.app import create_app

    scopes = ["admin"] if scopes is None else scopes
    headers = {"Authorization": f"Bearer {mint_token(secret=DEV_JWT_SECRET, issuer='oneview-crm', tenant=tenant, scopes=scopes)}"} if scopes else {}
    try:
        with TestClient(create_app(), headers=headers) as client:
            yield client, sessions
    finally:
        engine.dispose()
