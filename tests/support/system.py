"""A complete OneView CRM for integration tests: its own Kafka broker, databases and service processes.

Services run as real child processes (uvicorn), exactly as ``crm run`` starts them,
so tests can SIGKILL one, restart it, or stop the broker under it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from sqlalchemy import create_engine, text

from crm.localkafka import LocalKafka
from crm.registry import ALL_SCOPES, SERVICES, worker_of
from shared.auth import mint_token
from shared.migrate import upgrade
from shared.settings import DEV_JWT_SECRET
from tests.support.databases import create_postgres_database, drop_postgres_database, sqlite_url
from tests.support.mailbox import MailServer
from tests.support.waiting import eventually

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


T = TypeVar("T")


def answer_within(seconds: float, ask: Callable[[], T]) -> T | None:
    """What ``ask`` returns, or None if it has not answered in time; its exception is raised here.

    kafka-python's admin calls take no timeout and can hang on a lost coordinator, so
    they are asked from a helper thread that may be abandoned.
    """
    found: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            found.append(ask())
        except Exception as exc:  # noqa: BLE001 - handed to the caller
            failed.append(exc)

    asking = threading.Thread(target=run, daemon=True)
    asking.start()
    asking.join(seconds)
    if failed:
        raise failed[0]
    return found[0] if found else None


def worker_name(service: str) -> str:
    return f"{service}-worker"


def _factory(name: str) -> str:
    if name == "gateway":
        return "services.gateway.app:create_gateway_from_env"
    if name.endswith("-worker"):
        return f"services.{name.removesuffix('-worker')}.worker:create_worker"
    return f"services.{name}.app:create_app"


def consumer_groups() -> dict[str, list[str]]:
    """Every consumer group the services run (one per worker), and the topics each reads."""
    return {f"crm.{service}": sorted({topic for spec in worker_of(service).CONSUMERS for topic in spec.topics})
            for service in SERVICES}


class System:
    def __init__(self, root: Path, backend: str, postgres_admin_url: str | None = None) -> None:
        self.root = root
        self.backend = backend
        self.postgres_admin_url = postgres_admin_url
        self.kafka = LocalKafka(data_dir=root / "kafka", port=free_port(), controller_port=free_port())
        self.ports = {name: free_port() for name in (*SERVICES, *map(worker_name, SERVICES), "gateway")}
        self.database_urls: dict[str, str] = {}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        # Where the service desk sends its mail: a real SMTP server in this process.
        self.mail = MailServer(free_port())

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> None:
        self.mail.start()
        self.kafka.start()
        for service in SERVICES:
            self.database_urls[service] = self._new_database(service)
            upgrade(service, self.database_urls[service])
        # All nine at once: each is a fresh interpreter spending most of its start importing, and started
        # one after the other they took 20-25 s of a test session's start.
        names = [name for service in SERVICES for name in (worker_name(service), service)] + ["gateway"]
        for name in names:
            self.start_process(name, wait=False)
        for name in names:
            eventually(lambda name=name: self._answers(name), timeout=60, what=f"{name} to answer /healthz")
        for service in SERVICES:
            self.wait_ready(service)
        self.wait_consumers_joined()

    def wait_consumers_joined(self, timeout: float = 120) -> None:
        """Until every consumer group has its member holding partitions: a fresh broker creates its
        offsets topic on the first group's request, and a test must not race the joins."""
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(bootstrap_servers=self.kafka.bootstrap_servers)

        def joined() -> bool:
            try:
                groups = answer_within(15, lambda: admin.describe_groups(list(consumer_groups())))
            except KafkaError:
                return False  # the coordinator is still being set up
            return groups is not None and all(group["group_state"] == "Stable" and any(
                member["member_assignment"] and member["member_assignment"]["assigned_partitions"]
                for member in group["members"]) for group in groups.values())

        try:
            eventually(joined, timeout=timeout, interval=0.5, what="every consumer group to be joined")
        finally:
            admin.close()

    def stop(self) -> None:
        for name in list(self.processes):
            self.stop_process(name)
        self.kafka.stop()
        self.mail.stop()
        if self.postgres_admin_url:
            for url in self.database_urls.values():
                drop_postgres_database(self.postgres_admin_url, url)

    def _new_database(self, service: str) -> str:
        if self.backend == "postgresql":
            assert self.postgres_admin_url
            return create_postgres_database(self.postgres_admin_url, f"crm_test_{service}")
        return sqlite_url(self.root, service)

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
        env.update({
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap_servers,
            "CRM_VAR_DIR": str(self.root),
            "CRM_JWT_SECRET": DEV_JWT_SECRET,
            "CRM_SERVICE_URLS": json.dumps({name: self.url(name) for name in (*SERVICES, *map(worker_name, SERVICES),
                                                                           "gateway")}),
            # Sales converts leads into customers through the customer service's API.
            "CRM_CUSTOMER_SERVICE_URL": self.url("customer"),
            "CRM_RELAY_IDLE_POLL_SECONDS": "0.2",
            "CRM_CONSISTENCY_WAIT_SECONDS": "10",
            "CRM_CONSUMER_SESSION_TIMEOUT_MS": "6000",
            # The sales worker's periodic jobs look every second, so tests see them act without waiting long.
            "CRM_LEAD_FIRST_TOUCH_CHECK_SECONDS": "1",
            "CRM_FORECAST_ROLLUP_BUILD_SECONDS": "1",
            "CRM_COLLECTIONS_CHECK_SECONDS": "1",
            # The service desk mails through the local SMTP server and checks SLAs and waiting tickets often.
            "CRM_SMTP_HOST": "127.0.0.1",
            "CRM_SMTP_PORT": str(self.mail.port),
            "CRM_MAIL_SEND_SECONDS": "0.5",
            "CRM_SLA_CHECK_SECONDS": "1",
            "CRM_ASSIGNMENT_SECONDS": "1",
            # The campaign worker carries unsubscribes to the customer's consent every second.
            "CRM_CONSENT_SYNC_SECONDS": "1",
            # It looks for sends often, and its links point at the gateway.
            "CRM_CAMPAIGN_SEND_SECONDS": "0.5",
            "CRM_PUBLIC_BASE_URL": self.url("gateway"),
            "PYTHONUNBUFFERED": "1",
        })
        for service, url in self.database_urls.items():
            env[f"{service.upper()}_DATABASE_URL"] = url
        for service in SERVICES:
            env[f"{service.upper()}_WORKER_PORT"] = str(self.ports[worker_name(service)])
        return env

    def start_process(self, name: str, *, wait: bool = True) -> None:
        """Start one process: ``gateway``, a service's API (``sales``) or its worker (``sales-worker``);
        with ``wait``, until it answers."""
        target = _factory(name)
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1",
             "--port", str(self.ports[name]), "--log-level", "warning"],
            cwd=REPO, env=self.environment(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        if wait:
            eventually(lambda: self._answers(name), timeout=30, what=f"{name} to answer /healthz")

    def stop_process(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill_process(self, name: str) -> None:
        """SIGKILL: no shutdown hook runs, exactly like a crash."""
        process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait()

    def restart_process(self, name: str) -> None:
        self.stop_process(name)
        self.start_process(name)

    def kill_service(self, service: str) -> None:
        """SIGKILL both processes of a service, its API and its worker, as a crash of its host would."""
        self.kill_process(service)
        self.kill_process(worker_name(service))

    def start_service(self, service: str) -> None:
        self.start_process(worker_name(service))
        self.start_process(service)

    def restart_service(self, service: str) -> None:
        self.stop_process(service)
        self.stop_process(worker_name(service))
        self.start_service(service)

    def _answers(self, name: str) -> bool:
        process = self.processes[name]
        if process.poll() is not None:
            raise AssertionError(f"{name} exited with {process.returncode}; see {self.root / name}.log:\n" + self.log_tail(name))
        try:
            return httpx.get(self.url(name) + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, service: str, timeout: float = 60) -> None:
        """Until the service's API (its database) and its worker (database and Kafka) say they are ready."""
        def ready() -> bool:
            try:
                return all(httpx.get(self.url(name) + "/readyz", timeout=2).status_code == 200
                           for name in (service, worker_name(service)))
            except httpx.HTTPError:
                return False

        eventually(ready, timeout=timeout, what=f"{service} to be ready")

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.root / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    # --- clients ------------------------------------------------------------------------

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def token(self, tenant: str, scopes: tuple[str, ...] = ALL_SCOPES) -> str:
        return mint_token(secret=DEV_JWT_SECRET, issuer="oneview-crm", tenant=tenant, scopes=list(scopes))

    @contextmanager
    def client(self, tenant: str | None = None, *, service: str = "gateway",
               scopes: tuple[str, ...] = ALL_SCOPES) -> Iterator[httpx.Client]:
        """An HTTP client for one tenant (a fresh random one by default), through the gateway."""
        tenant = tenant or f"t-{uuid.uuid4().hex[:12]}"
        headers = {"Authorization": f"Bearer {self.token(tenant, scopes)}"}
        with httpx.Client(base_url=self.url(service), headers=headers, timeout=30) as client:
            client.tenant = tenant  # type: ignore[attr-defined]
            yield client

    def sql(self, service: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
        """Read a service's own database directly, to check what was (not) written; or change it, committed
        (e.g. to move a deadline into the past rather than wait it out)."""
        engine = create_engine(self.database_urls[service])
        try:
            with engine.begin() as connection:
                result = connection.execute(text(statement), params)
                return [tuple(row) for row in result] if result.returns_rows else []
        finally:
            engine.dispose()

    # --- Kafka --------------------------------------------------------------------------

    def producer(self) -> KafkaProducer:
        return KafkaProducer(bootstrap_servers=self.kafka.bootstrap_servers, enable_idempotence=True, acks="all")

    def wait_drained(self, timeout: float = 120) -> None:
        """Until every outbox is published and every consumer group has caught up with its topics."""
        from kafka import KafkaAdminClient

        groups = consumer_groups()
        admins = [KafkaAdminClient(bootstrap_servers=self.kafka.bootstrap_servers)]
        reader = KafkaConsumer(bootstrap_servers=self.kafka.bootstrap_servers)

        def committed_offsets(group: str) -> dict[TopicPartition, Any] | None:
            found = answer_within(15, lambda: admins[-1].list_group_offsets(group).get(group, {}))
            if found is None:
                # Give up on that client (it may stay hung): the next look uses a new one.
                admins.append(KafkaAdminClient(bootstrap_servers=self.kafka.bootstrap_servers))
            return found

        try:
            previous: list[object] = [None]
            behind: list[str] = ["nothing looked at yet"]

            def snapshot() -> tuple[object, ...] | None:
                """Positions of everything, or None while any outbox or consumer is behind."""
                pending = [s for s in SERVICES if self.sql(s, "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0]]
                if pending:
                    behind[0] = f"unpublished outbox rows in {pending}"
                    return None
                positions: list[tuple[str, str, int, int]] = []
                for group, topics in groups.items():
                    try:
                        committed = committed_offsets(group)
                    except KafkaError as exc:
                        behind[0] = f"offsets of {group} unreadable: {exc!r}"
                        return None  # e.g. the group coordinator is moving after a broker restart
                    if committed is None:
                        behind[0] = f"offsets of {group}: no answer in 15 s"
                        return None

                    partitions = [TopicPartition(t, p) for t in topics for p in reader.partitions_for_topic(t) or ()]
                    for partition, end in reader.end_offsets(partitions).items():
                        done = committed.get(partition)
                        if end > 0 and (done is None or done.offset < end):
                            behind[0] = f"{group} at {done and done.offset} of {end} on {partition.topic}[{partition.partition}]"
                            return None
                        positions.append((group, partition.topic, partition.partition, end))
                return tuple(sorted(positions))

            def drained() -> bool:
                # Stable across two looks: a consumer may commit its offset just after the outbox looked empty.
                current = snapshot()
                settled = current is not None and current == previous[0]
                previous[0] = current
                return settled

            try:
                eventually(drained, timeout=timeout, interval=0.3, what="outboxes and consumers to drain")
            except AssertionError as exc:
                raise AssertionError(f"{exc}; last seen behind: {behind[0]}") from None
        finally:
            reader.close()
            for admin in admins:
                admin.close()

    def crm(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the ``crm`` command line against this system."""
        return subprocess.run([sys.executable, "-m", "crm.cli", *args], cwd=REPO, env=self.environment(),
                              capture_output=True, text=True, timeout=300)

    def read_topic(self, topic: str, *, timeout_ms: int = 3000) -> list[Any]:
        """Every record currently on a topic, from offset zero (a throwaway reader, no group)."""
        consumer = KafkaConsumer(bootstrap_servers=self.kafka.bootstrap_servers, enable_auto_commit=False,
                                 consumer_timeout_ms=timeout_ms)
        try:
            partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or [])]
            if not partitions:
                return []
            consumer.assign(partitions)
            consumer.seek_to_beginning(*partitions)
            end = consumer.end_offsets(partitions)
            records: list[Any] = []
            deadline = time.monotonic() + timeout_ms / 1000 + 10
            while any(consumer.position(p) < end[p] for p in partitions) and time.monotonic() < deadline:
                for batch in consumer.poll(timeout_ms=500).values():
                    records.extend(batch)
            return records
        finally:
            consumer.close()
