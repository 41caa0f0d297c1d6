"""Replicas of one service on one PostgreSQL database and one consumer group: a second customer API and a
second customer worker beside the system's, a gateway balancing the two APIs (``CRM_CUSTOMER_URLS``), a
workload of creates and changes through it, and the second worker killed in the middle of it. Every
customer's view then holds each of its writes exactly once and the last change last, both APIs served
writes, and the system's worker holds every partition again."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.system import REPO, System, free_port
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

CUSTOMERS = 30
CHANGES = 2


class Extra:
    """One more process of the system, started as the system starts its own (same code, same environment)."""

    def __init__(self, system: System, target: str, log: Path, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "warning"], cwd=REPO, env=system.environment() | env, stdout=log.open("ab"),
            stderr=subprocess.STDOUT, start_new_session=True)

    def ready(self) -> bool:
        try:
            return httpx.get(self.url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)


def _partitions(worker_url: str) -> float:
    for line in httpx.get(worker_url + "/metrics", timeout=5).text.splitlines():
        if line.startswith("crm_consumer_partitions "):
            return float(line.split()[1])
    return -1.0


def _writes_served(api_url: str) -> float:
    served = 0.0
    for line in httpx.get(api_url + "/metrics", timeout=5).text.splitlines():
        if line.startswith("crm_http_requests_total{") and 'route="/customers' in line and 'method="GET"' not in line:
            served += float(line.rsplit(" ", 1)[1])
    return served


def _workload(gateway: str, headers: dict[str, str], names: list[str], written: dict[str, list[str]],
              problems: list[str]) -> None:
    with httpx.Client(base_url=gateway, headers=headers, timeout=30) as client:
        for name in names:
            created = client.post("/v1/customers", json={"kind": "person", "given_name": name, "family_name": "Replica"})
            if created.status_code != 201:
                problems.append(f"create {name}: {created.status_code} {created.text[:200]}")
                continue
            customer_id = created.json()["id"]
            written[customer_id] = [name]
            for change in range(1, CHANGES + 1):
                given = f"{name}-{change}"
                changed = client.patch(f"/v1/customers/{customer_id}", json={"given_name": given})
                if changed.status_code != 200:
                    problems.append(f"change {name}: {changed.status_code} {changed.text[:200]}")
                    break
                written[customer_id].append(given)


def test_two_apis_and_two_workers_of_one_service_lose_and_double_nothing_when_a_worker_dies(system: System) -> None:
    if system.backend != "postgresql":
        pytest.skip("replicas share one PostgreSQL database; the embedded SQLite serves one process")
    own_worker = system.url("customer-worker")
    total = _partitions(own_worker)
    assert total > 0
    api = Extra(system, "services.customer.app:create_app", system.root / "customer-2.log")
    worker = Extra(system, "services.customer.worker:create_worker", system.root / "customer-worker-2.log",
                   CUSTOMER_WORKER_PORT=str(free_port()))
    gateway: Extra | None = None
    try:
        eventually(lambda: api.ready() and worker.ready(), timeout=90, what="the second API and worker")
        gateway = Extra(system, "services.gateway.app:create_gateway_from_env", system.root / "gateway-2.log",
                        CRM_CUSTOMER_URLS=json.dumps([system.url("customer"), api.url]))
        eventually(gateway.ready, timeout=60, what="the balancing gateway")
        # The group shares the partitions out between the two workers.
        eventually(lambda: 0 < _partitions(own_worker) < total, timeout=60, what="the partitions to be shared")

        headers = {"Authorization": f"Bearer {system.token(f'replicas-{uuid.uuid4().hex[:8]}')}"}
        written: dict[str, list[str]] = {}
        problems: list[str] = []
        names = [f"R{n:02d}" for n in range(CUSTOMERS)]
        writers = [threading.Thread(target=_workload, args=(gateway.url, headers, names[i::3], written, problems))
                   for i in range(3)]
        for writer in writers:
            writer.start()
        eventually(lambda: len(written) >= CUSTOMERS // 3, timeout=60, what="a third of the workload")
        worker.stop(signal.SIGKILL)  # a crash: no leaving the group, no last commit
        for writer in writers:
            writer.join(timeout=180)
        assert not problems, problems
        assert len(written) == CUSTOMERS

        # The survivor takes the dead worker's partitions once the group gives up on it.
        eventually(lambda: _partitions(own_worker) == total, timeout=90, what="the partitions back on one worker")
        system.wait_drained()
        with httpx.Client(base_url=system.url("gateway"), headers=headers, timeout=30) as client:
            for customer_id, names_given in written.items():
                view = client.get(f"/v1/customers/{customer_id}/view").json()
                # One create and two changes, each applied once, in the order written: the last name shows.
                assert (view["version"], view["profile"]["given_name"]) == (1 + CHANGES, names_given[-1]), view
        served = {url: _writes_served(url) for url in (system.url("customer"), api.url)}
        assert all(served.values()), served  # both APIs took writes from the balancing gateway
    finally:
        for extra in (gateway, worker, api):
            if extra is not None:
                extra.stop()
        eventually(lambda: _partitions(own_worker) == total, timeout=90, what="the system's worker to hold all again")
