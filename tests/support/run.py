"""`crm run` driven from a test: started as a user starts it, on ports of its own, and read back.

The fault scenarios and the walkthrough test start the real command (its broker, its
migrations, its nine children) rather than the test system, because what they check is
what a user of `crm run` sees: when the banner appears and what answers after it.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from crm.registry import SERVICES
from tests.support.system import REPO
from tests.support.waiting import eventually

# The gateway at the base, the four APIs after it, their workers ten above them.
OFFSETS = (0, 1, 2, 3, 4, 11, 12, 13, 14)
WORKER_OFFSETS = dict(zip(SERVICES, (11, 12, 13, 14), strict=True))
BANNER = "OneView CRM is running."
CRM = [sys.executable, "-m", "crm.cli"]


def free_port_run() -> int:
    """A base port with every port `crm run` takes above it free.

    Chosen below the kernel's ephemeral range (32768 and up on Linux): a port picked from that
    range can be taken by any outgoing connection (a Kafka client's) before `crm run` binds it.
    """
    for _ in range(200):
        base = random.randrange(20000, 32000)
        if all(is_free(base + i) for i in OFFSETS):
            return base
    raise RuntimeError("no run of free ports")


def free_port_pair() -> int:
    """A port free together with the next one (a broker's client and controller ports), below the ephemeral range."""
    for _ in range(200):
        port = random.randrange(32100, 32700)
        if is_free(port) and is_free(port + 1):
            return port
    raise RuntimeError("no pair of free ports")


def pid_serving(port: int) -> int:
    """The pid of the process listening on a local TCP port (from /proc, no tools needed)."""
    inodes = {line.split()[9] for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
              if line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "0A"}
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return int(fd.parts[2])
    raise AssertionError(f"nothing listens on {port}")


def is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class CrmRun:
    """One var folder and one set of ports; ``start`` and ``stop`` may be called again and again."""

    def __init__(self, var_dir: Path, *, kafka_port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.var_dir = var_dir
        self.base = free_port_run()
        self.kafka_port = kafka_port or free_port_pair()
        self.env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS" and not k.endswith("_DATABASE_URL")}
        self.env |= {"CRM_VAR_DIR": str(var_dir), "CRM_PORT_BASE": str(self.base), "PYTHONUNBUFFERED": "1"}
        self.env |= env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = var_dir / "run.log"
        self._log_offset = 0

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.base}"

    def worker_url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.base + WORKER_OFFSETS[service]}"

    def start(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it
        self.process = subprocess.Popen([*CRM, "run", "--kafka-port", str(self.kafka_port)], cwd=REPO, env=self.env,
                                        stdout=log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        """What this start of `crm run` has printed so far."""
        with open(self.log_path, "rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def wait_banner(self, timeout: float = 240) -> None:
        def banner() -> bool:
            assert self.process is not None and self.process.poll() is None, self.output()
            return BANNER in self.output()

        eventually(banner, timeout=timeout, interval=0.05, what="crm run to print its banner")

    def stop(self, timeout: float = 60) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self.process = None
        return code

    def crm(self, *args: str) -> str:
        return subprocess.run([*CRM, *args], cwd=REPO, env=self.env, check=True, capture_output=True,
                              text=True, timeout=300).stdout

    def token(self, tenant: str) -> str:
        return self.crm("token", "--tenant", tenant).strip()

    def metrics(self, service: str) -> dict[str, float]:
        """The worker's Prometheus samples, by name with labels (``crm_consumer_restarts_total{reason="stall"}``)."""
        samples: dict[str, float] = {}
        for line in httpx.get(self.worker_url(service) + "/metrics", timeout=5).text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                samples[name] = float(value)
        return samples

    def database_url(self, service: str) -> str:
        return f"sqlite:///{self.var_dir / f'{service}.db'}"


def customer_ids_in(database_url: str, table: str) -> list[uuid.UUID]:
    """Every customer id in one table of a service's database, as UUIDs whatever their stored form."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [uuid.UUID(str(row[0])) for row in connection.execute(text(f"SELECT customer_id FROM {table}"))]
    finally:
        engine.dispose()


def rows(database_url: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(statement), params)]
    finally:
        engine.dispose()


def wait_port_free(ports: list[int], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(is_free(p) for p in ports):
        time.sleep(0.1)
