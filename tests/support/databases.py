"""Databases for a test system: SQLite files, or fresh PostgreSQL databases on a reachable server."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

ADMIN_URL_ENV = "CRM_TEST_POSTGRES_URL"
DEFAULT_ADMIN_URL = "postgresql+psycopg://crm:crm@127.0.0.1:5432/postgres"


def postgres_admin_url() -> str | None:
    """The server tests may create databases on, if one answers."""
    url = os.environ.get(ADMIN_URL_ENV, DEFAULT_ADMIN_URL)
    try:
        engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return url
    except Exception:  # noqa: BLE001 - absence of a server is an answer, not an error
        return None


def create_postgres_database(admin_url: str, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(admin_url: str, url: str, patience: float = 300.0) -> None:
    """Drop the database, disconnecting its users.

    A role without superuser rights cannot end other roles' backends: an autovacuum worker
    analysing freshly loaded tables makes the drop fail until it is done, so try again.
    After a million rows were loaded that takes minutes, not seconds.
    """
    name = make_url(url).database
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    deadline = time.monotonic() + patience
    try:
        while True:
            try:
                with engine.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                return
            except DBAPIError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(2.0)
    finally:
        engine.dispose()


def sqlite_url(folder: Path, service: str) -> str:
    return f"sqlite:///{folder / service}.db"
