"""What a bench run stands on: PostgreSQL, a whole system with its own local Kafka, the baseline app.

The system is ``tests.support.system.System`` (the integration tests' harness): its own
Kafka broker, fresh PostgreSQL databases, the four services and the gateway as
uvicorn processes started exactly as ``crm run`` starts them. Everything is stopped
and dropped again at the end, whatever happened.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from bench.data import Loader, psycopg_url
from shared.migrate import upgrade
from crm.registry import SERVICES
from tests.support.databases import (
    DEFAULT_ADMIN_URL,
    create_postgres_database,
    drop_postgres_database,
    postgres_admin_url,
)
from tests.support.system import REPO, System, consumer_groups, free_port

TENANT = "bench"


class BenchError(Exception):
    """Something the bench needs is missing; said in one line."""


def ensure_postgres() -> str:
    """The PostgreSQL the bench uses (``CRM_TEST_POSTGRES_URL``); started if installed but stopped."""
    url = postgres_admin_url()
    if url is not None:
        return url
    # The same cluster .ci/run sets up: try to start it if it exists.
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if versions and shutil.which("pg_ctlcluster"):
        version = Path(versions[-1]).parts[-3]
        subprocess.run(["pg_ctlcluster", version, "main", "start"], capture_output=True, check=False)
        for _ in range(30):
            url = postgres_admin_url()
            if url is not None:
                return url
            time.sleep(1)
    raise BenchError(
        f"no PostgreSQL answers at {os.environ.get('CRM_TEST_POSTGRES_URL', DEFAULT_ADMIN_URL)}; "
        "set it up as .ci/run does (Debian's postgresql package, role crm/crm with CREATEDB) "
        "or point CRM_TEST_POSTGRES_URL at a server where the role may create databases"
    )


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Context:
    def __init__(self, *, quick: bool, log: Any = print) -> None:
        self.quick = quick
        self.log = log
        self.admin_url = ensure_postgres()
        self.root = Path(tempfile.mkdtemp(prefix="crm-bench-"))
        self.system = System(self.root, "postgresql", self.admin_url)
        self.baseline_db: str | None = None
        self.baseline_process: subprocess.Popen[bytes] | None = None
        self.baseline_port = free_port()
        self.loader: Loader | None = None
        self.idle_rss: dict[str, float] = {}
        self.loaded_rss: dict[str, float] = {}
        self.profiles: list[str] = []  # py-spy summaries, with --profile
        self.failed = False

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        self.log("starting Kafka, PostgreSQL databases, four services and the gateway...")
        started = time.monotonic()
        self.system.start()
        self.baseline_db = create_postgres_database(self.admin_url, "crm_bench_baseline")
        upgrade("customer", self.baseline_db)  # the same customers table, indexes included
        self.log(f"  system ready in {time.monotonic() - started:.0f} s ({self.root})")
        time.sleep(2.0)
        self.idle_rss = self.rss()

    def close(self) -> None:
        if self.baseline_process is not None:
            self._stop(self.baseline_process)
        try:
            self.system.stop()
        finally:
            if self.baseline_db:
                drop_postgres_database(self.admin_url, self.baseline_db)
            if self.failed:
                self.log(f"logs kept in {self.root}")
            else:
                shutil.rmtree(self.root, ignore_errors=True)

    # --- the system -----------------------------------------------------------------------

    @property
    def token(self) -> str:
        return self.system.token(TENANT)

    def url(self, name: str) -> str:
        return self.system.url(name)

    @property
    def bootstrap(self) -> str:
        return self.system.kafka.bootstrap_servers

    def pids(self) -> dict[str, int]:
        return {name: process.pid for name, process in self.system.processes.items()}

    def rss(self) -> dict[str, float]:
        return {name: rss_mb(pid) for name, pid in self.pids().items()}

    def data(self) -> Loader:
        if self.loader is None:
            assert self.baseline_db
            self.loader = Loader(customer_api=self.url("customer"), token=self.token,
                                 customer_db=self.system.database_urls["customer"], baseline_db=self.baseline_db,
                                 ids_file=self.root / "ids.txt")
        return self.loader

    def ensure_customers(self, n: int) -> Loader:
        loader = self.data()
        loader.ensure(n, progress=self.log)
        return loader

    def settle(self, timeout: float = 180.0) -> bool:
        """Wait until every outbox is drained and every consumer has caught up (bounded).

        The replicas count too: after a burst, the three other services still applying view
        versions take CPU from whatever is measured next.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._outbox_pending() == 0 and self._lag() == 0:
                return True
            time.sleep(0.5)
        return False

    def _outbox_pending(self) -> int:
        total = 0
        for service in SERVICES:
            with psycopg.connect(psycopg_url(self.system.database_urls[service])) as conn:
                total += conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone()[0]
        return total

    def _lag(self) -> int:
        return sum(self._group_lag(group, topics) for group, topics in consumer_groups().items())

    def _group_lag(self, group: str, topics: list[str]) -> int:
        # A consumer of the group that never subscribes: it only asks for the committed offsets.
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, client_id="bench-lag", group_id=group,
                                 enable_auto_commit=False)
        try:
            partitions = [TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or [])]
            lag = 0
            for tp, end in consumer.end_offsets(partitions).items():
                lag += end - (consumer.committed(tp) or 0)
            return lag
        finally:
            consumer.close()

    def ensure_topic(self, name: str, partitions: int = 3) -> None:
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="bench-topics")
        try:
            if name not in admin.list_topics():
                try:
                    admin.create_topics([NewTopic(name, partitions, 1)])
                except TopicAlreadyExistsError:
                    pass
        finally:
            admin.close()

    # --- the baseline app -----------------------------------------------------------------

    def baseline_url(self) -> str:
        """Start the bare FastAPI app (once), the same way the services are started."""
        if self.baseline_process is None:
            loader = self.data()
            assert loader.template is not None, "load the bench data first"
            with psycopg.connect(psycopg_url(self.system.database_urls["customer"])) as conn:
                template = conn.execute("SELECT row_to_json(c)::text FROM customers c WHERE id = %s",
                                        (loader.template.customer_id,)).fetchone()[0]
            env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
            env.update({"BENCH_BASELINE_DATABASE_URL": self.baseline_db or "", "BENCH_TEMPLATE_CUSTOMER": template,
                        "BENCH_TENANT": TENANT, "PYTHONPATH": str(REPO)})
            log = open(self.root / "baseline.log", "ab")  # noqa: SIM115 - the child owns it
            self.baseline_process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "bench.baseline_app:create_app", "--factory", "--host", "127.0.0.1",
                 "--port", str(self.baseline_port), "--log-level", "warning"],
                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{self.baseline_port}/openapi.json", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if self.baseline_process.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"the baseline app did not start; see {self.root / 'baseline.log'}")
                time.sleep(0.1)
        return f"http://127.0.0.1:{self.baseline_port}"

    @property
    def baseline_pid(self) -> int | None:
        return self.baseline_process.pid if self.baseline_process is not None else None

    @staticmethod
    def _stop(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))
