"""Fixtures shared by every test: whole systems on SQLite and on PostgreSQL, each with its own Kafka.

Systems are started once per test session (starting Kafka and five processes takes
seconds); every test isolates itself by using a fresh tenant.
Set ``CRM_REQUIRE_POSTGRES=1`` (CI does) to fail, rather than skip, when no
PostgreSQL server is reachable at ``CRM_TEST_POSTGRES_URL``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sqlalchemy.orm import Session, sessionmaker

from shared.db import make_engine, make_sessions
from shared.migrate import upgrade
from tests.support.databases import create_postgres_database, drop_postgres_database, postgres_admin_url
from tests.support.system import System

BACKENDS = ("sqlite", "postgresql")


def _admin_url_or_skip() -> str:
    url = postgres_admin_url()
    if url is None:
        if os.environ.get("CRM_REQUIRE_POSTGRES") == "1":
            pytest.fail("CRM_REQUIRE_POSTGRES=1 but no PostgreSQL answers at CRM_TEST_POSTGRES_URL")
        pytest.skip("no PostgreSQL server reachable (set CRM_TEST_POSTGRES_URL)")
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return _admin_url_or_skip()


@pytest.fixture(scope="session", params=BACKENDS)
def system(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """A running system (Kafka, four services, gateway) on one database backend."""
    backend: str = request.param
    admin_url = _admin_url_or_skip() if backend == "postgresql" else None
    root: Path = tmp_path_factory.mktemp(f"system-{backend}")
    running = System(root, backend, admin_url)
    try:
        running.start()
    except BaseException:
        running.stop()
        raise
    yield running
    running.stop()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of each system together, so that each backend's system starts once (about 20 s); among
    them, those that kill its broker or services last, so a slow recovery cannot spill into other tests;
    the fault scenarios (whole systems of their own, restarted again and again) after everything."""
    def order(item: pytest.Item) -> tuple[bool, int, bool]:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("system") if callspec is not None else None
        return (item.nodeid.startswith("tests/faults/"), -1 if backend is None else BACKENDS.index(backend),
                item.nodeid.startswith("tests/integration/test_delivery.py"))

    items.sort(key=order)


def _migrated_sessions(service: str, backend: str, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / f'{service}.db'}"
        upgrade(service, url)
        engine = make_engine(url)
        yield make_sessions(engine)
        engine.dispose()
        return
    admin = _admin_url_or_skip()
    url = create_postgres_database(admin, f"crm_test_{service}")
    try:
        upgrade(service, url)
        engine = make_engine(url)
        yield make_sessions(engine)
        engine.dispose()
    finally:
        drop_postgres_database(admin, url)


@pytest.fixture(params=BACKENDS)
def sales_sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions on a freshly migrated sales database of one backend: for its use cases called directly, in
    transactions of their own (no processes, no Kafka)."""
    yield from _migrated_sessions("sales", request.param, tmp_path)


@pytest.fixture(params=BACKENDS)
def customer_sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions on a freshly migrated customer database of one backend, like ``sales_sessions``."""
    yield from _migrated_sessions("customer", request.param, tmp_path)


@pytest.fixture()
def other_sales_sessions(sales_sessions: sessionmaker[Session], tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A second fresh sales database on the backend of ``sales_sessions``, to compare two ways of doing one thing."""
    folder = tmp_path / "other"
    folder.mkdir()
    yield from _migrated_sessions("sales", sales_sessions.kw["bind"].dialect.name, folder)


@pytest.fixture(params=BACKENDS)
def desk_sessions(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions on a freshly migrated service desk database of one backend, like ``sales_sessions``."""
    yield from _migrated_sessions("service_desk", request.param, tmp_path)
