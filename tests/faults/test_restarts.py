"""Restarts on purpose: the whole system again and again on existing data, then the broker under load.

What a user of `crm run` depends on after any restart: every worker's consumer holds its
partitions within seconds of its process starting, the first write reaches every copy of
the customer at once, a token read never answers 404, and after a broker restart the
consumers resume with nothing lost or applied twice. Each round is recorded and the
distribution printed (``make test-faults`` runs the long form with the output shown);
``make test`` runs a short form of both scenarios.

The counts come from ``CRM_FAULT_SYSTEM_RESTARTS`` and ``CRM_FAULT_BROKER_RESTARTS``.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from crm.registry import SERVICES
from tests.support.run import CrmRun, customer_ids_in, free_port_pair, rows
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

SYSTEM_RESTARTS = int(os.environ.get("CRM_FAULT_SYSTEM_RESTARTS", "2"))
BROKER_RESTARTS = int(os.environ.get("CRM_FAULT_BROKER_RESTARTS", "1"))

# Where each worker's consumer leaves its mark of a new customer: the view, and each follower's replica.
EFFECT_TABLE = {"customer": "customer_views", "sales": "customer_replicas", "service_desk": "customer_replicas",
                "campaign": "customer_replicas"}

# The targets of the consumer-stall issue (p99 over the rounds).
JOIN_TARGET_SECONDS = 3.0
FIRST_WRITE_TARGET_SECONDS = 1.0
RESUME_TARGET_SECONDS = 5.0


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return (f"n={len(values)} min={min(values):.2f} p50={statistics.median(values):.2f} "
            f"p99={p99(values):.2f} max={max(values):.2f} s")


def report(title: str, figures: dict[str, list[float]]) -> str:
    lines = [title, *(f"  {name:<28} {summary(values)}" for name, values in figures.items() if values)]
    text = "\n".join(lines)
    print("\n" + text)
    return text


def new_customer(gateway: str, headers: dict[str, str], name: str) -> httpx.Response:
    return httpx.post(gateway + "/v1/customers", headers=headers,
                      json={"kind": "person", "given_name": name, "family_name": "Restart"}, timeout=30)


def times_to_every_copy(run: CrmRun, customer_id: uuid.UUID, since: float, timeout: float = 60) -> dict[str, float]:
    """Seconds from ``since`` until each service's consumer has applied the customer."""
    reached: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(reached) < len(SERVICES) and time.monotonic() < deadline:
        for service in SERVICES:
            if service not in reached and customer_id in customer_ids_in(run.database_url(service), EFFECT_TABLE[service]):
                reached[service] = time.monotonic() - since
        time.sleep(0.02)
    missing = sorted(set(SERVICES) - set(reached))
    assert not missing, f"customer {customer_id} never reached {missing} within {timeout} s:\n{run.output()[-3000:]}"
    return reached


def watchdog_firings(run: CrmRun, reason: str = "stall") -> dict[str, float]:
    """Times each worker's consumer was created anew: by the watchdog ("stall") or after an error ("crash")."""
    return {s: run.metrics(s).get(f'crm_consumer_restarts_total{{reason="{reason}"}}', 0.0) for s in SERVICES}


def abandoned_joins_finished(run: CrmRun) -> float:
    """How often the workers finished a group join the Kafka client had abandoned (shared.group)."""
    return sum(run.metrics(s).get("crm_consumer_orphaned_joins_total", 0.0) for s in SERVICES)


def test_every_consumer_joins_fast_and_sees_the_first_write_after_each_restart(tmp_path: Path) -> None:
    run = CrmRun(tmp_path / "var")
    joins: dict[str, list[float]] = {s: [] for s in SERVICES}
    first_write: dict[str, list[float]] = {s: [] for s in SERVICES}
    banners: list[float] = []
    token_reads: list[float] = []
    stalls: dict[str, float] = {}
    problems: list[str] = []
    rescued = 0.0
    headers: dict[str, str] = {}
    # One run before the rounds leaves history behind: committed offsets, views, replicas.
    run.start()
    try:
        run.wait_banner()
        headers = {"Authorization": f"Bearer {run.token('restarts')}"}
        for n in range(10):
            assert new_customer(run.gateway, headers, f"History{n}").status_code == 201
    finally:
        assert run.stop() == 0, run.output()

    for round_ in range(SYSTEM_RESTARTS):
        started = time.monotonic()
        run.start()
        try:
            run.wait_banner()
            banners.append(time.monotonic() - started)
            for service in SERVICES:
                # Zero: not joined yet when the banner appeared (read again once the first write is through).
                joins[service].append(run.metrics(service).get("crm_consumer_join_seconds", 0.0))
            written_at = time.monotonic()
            created = new_customer(run.gateway, headers, f"Round{round_}")
            assert created.status_code == 201, created.text
            customer_id = uuid.UUID(created.json()["id"])
            view = httpx.get(f"{run.gateway}/v1/customers/{customer_id}/view", timeout=30, headers=headers | {
                "CRM-Consistency-Token": created.headers["CRM-Consistency-Token"]})
            token_reads.append(time.monotonic() - written_at)
            if view.status_code != 200 or not view.json()["consistency"]["satisfied"]:
                problems.append(f"round {round_}: token read answered {view.status_code}: {view.text[:300]}")
            for service, seconds in times_to_every_copy(run, customer_id, written_at).items():
                first_write[service].append(seconds)
                if not joins[service][-1]:
                    joins[service][-1] = run.metrics(service).get("crm_consumer_join_seconds", 0.0)
                    problems.append(f"round {round_}: {service} held no partitions when the banner appeared "
                                    f"(it joined {joins[service][-1]:.2f} s after its start)")
            for service, fired in watchdog_firings(run).items():
                stalls[service] = stalls.get(service, 0) + fired
            rescued += abandoned_joins_finished(run)
        finally:
            assert run.stop() == 0, run.output()

    text = report(f"{SYSTEM_RESTARTS} restarts of crm run on existing data "
                  f"({rescued:.0f} abandoned group joins finished)", {
        "banner after start": banners,
        **{f"{s} join after start": v for s, v in joins.items()},
        **{f"{s} first write": v for s, v in first_write.items()},
        "token read of first write": token_reads,
    })
    assert not problems, "\n".join([*problems, text])
    assert not any(stalls.values()), f"the watchdog fired: {stalls}\n{text}"
    for service in SERVICES:
        assert p99(joins[service]) <= JOIN_TARGET_SECONDS, f"{service} joined too slowly\n{text}"
        assert p99(first_write[service]) <= FIRST_WRITE_TARGET_SECONDS, f"{service} saw its first write late\n{text}"


class Writer(threading.Thread):
    """A light, steady load: one new customer every ``interval`` seconds, and what was acknowledged."""

    def __init__(self, gateway: str, headers: dict[str, str], interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.gateway, self.headers, self.interval = gateway, headers, interval
        self.acknowledged: list[uuid.UUID] = []
        self.refused: list[int] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stopping.wait(self.interval):
            n += 1
            try:
                answer = new_customer(self.gateway, self.headers, f"Load{n}")
            except httpx.HTTPError:
                self.refused.append(-1)
                continue
            if answer.status_code == 201:
                self.acknowledged.append(uuid.UUID(answer.json()["id"]))
            else:
                self.refused.append(answer.status_code)


def test_consumers_resume_after_each_broker_restart_and_nothing_is_lost_or_doubled(tmp_path: Path) -> None:
    var = tmp_path / "var"
    kafka_port = free_port_pair()
    broker = ["kafka", "--data-dir", str(var / "kafka"), "--port", str(kafka_port)]
    run = CrmRun(var, kafka_port=kafka_port, env={"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}"})
    run.crm(*broker, "start")
    run.start()
    resumes: dict[str, list[float]] = {s: [] for s in SERVICES}
    writer: Writer | None = None
    try:
        run.wait_banner()
        headers = {"Authorization": f"Bearer {run.token('broker-restarts')}"}
        writer = Writer(run.gateway, headers)
        writer.start()
        for round_ in range(BROKER_RESTARTS):
            time.sleep(2)
            run.crm(*broker, "stop")
            time.sleep(1)
            run.crm(*broker, "start")  # returns once the broker answers
            accepting = time.monotonic()
            probe = new_customer(run.gateway, headers, f"Probe{round_}")
            assert probe.status_code == 201, probe.text
            for service, seconds in times_to_every_copy(run, uuid.UUID(probe.json()["id"]), accepting).items():
                resumes[service].append(seconds)
        time.sleep(2)
        writer.stopping.set()
        writer.join()
        acknowledged = writer.acknowledged
        assert acknowledged, "the writer got nothing acknowledged"

        def every_copy_complete() -> bool:
            return all(set(acknowledged) <= set(customer_ids_in(run.database_url(s), EFFECT_TABLE[s]))
                       for s in SERVICES)

        eventually(every_copy_complete, timeout=120, interval=0.5, what="every acknowledged customer in every copy")
        for service in SERVICES:
            ids = customer_ids_in(run.database_url(service), EFFECT_TABLE[service])
            assert len(ids) == len(set(ids)), f"{service} holds a customer twice"
        # Applied once: each customer's view saw exactly one creation, and every replica holds its newest version.
        created = rows(run.database_url("customer"),
                       "SELECT customer_id, count(*) FROM timeline_entries WHERE type = :t GROUP BY customer_id",
                       t="crm.customer.created.v1")
        doubled = [row for row in created if row[1] != 1]
        assert not doubled, f"creations applied twice in the view: {doubled[:5]}"
        assert len(created) >= len(acknowledged)
        versions = dict(rows(run.database_url("customer"), "SELECT customer_id, version FROM customer_views"))
        for service in SERVICES[1:]:
            replicated = dict(rows(run.database_url(service), "SELECT customer_id, view_version FROM customer_replicas"))
            assert replicated == versions, f"{service}'s replica differs from the view"
        stalls = watchdog_firings(run)
        # A broker outage is waited out by the same client: recreating it makes a new member, which
        # waits for the old one's session to expire before it gets any partition.
        crashes = watchdog_firings(run, "crash")
        rescued = abandoned_joins_finished(run)
    finally:
        if writer is not None:
            writer.stopping.set()
        code = run.stop()
        run.crm(*broker, "stop")
    text = report(f"{BROKER_RESTARTS} broker restarts under {1 / 0.2:.0f} writes/s "
                  f"({len(acknowledged)} acknowledged, {len(writer.refused)} refused, "
                  f"{rescued:.0f} abandoned group joins finished)",
                  {f"{s} resumed after broker up": v for s, v in resumes.items()})
    assert code == 0, run.output()
    assert not any(stalls.values()), f"the watchdog fired: {stalls}\n{text}"
    assert not any(crashes.values()), f"consumers were recreated: {crashes}\n{text}"
    for service in SERVICES:
        assert p99(resumes[service]) <= RESUME_TARGET_SECONDS, f"{service} resumed too slowly\n{text}"
