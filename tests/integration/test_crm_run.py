"""`crm run` as a newcomer uses it: one command brings up Kafka, the services and the gateway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.run import OFFSETS, free_port_pair, free_port_run, is_free, pid_serving
from tests.support.system import REPO
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def test_crm_run_serves_the_readme_walkthrough_and_stops_cleanly(tmp_path: Path) -> None:
    base = free_port_run()
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS" and not k.endswith("_DATABASE_URL")}
    env |= {"CRM_VAR_DIR": str(tmp_path), "CRM_PORT_BASE": str(base), "PYTHONUNBUFFERED": "1"}
    crm = [sys.executable, "-m", "crm.cli"]
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115
    process = subprocess.Popen([*crm, "run", "--kafka-port", str(free_port_pair())], cwd=REPO, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    gateway = f"http://127.0.0.1:{base}"
    try:
        def ready() -> bool:
            assert process.poll() is None, (tmp_path / "run.log").read_text()
            try:
                return httpx.get(gateway + "/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        eventually(ready, timeout=240, interval=0.5, what="crm run to serve the gateway")
        token = subprocess.run([*crm, "token", "--tenant", "readme"], cwd=REPO, env=env, check=True,
                               capture_output=True, text=True).stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}
        customer = httpx.post(gateway + "/v1/customers", headers=headers, json={
            "kind": "person", "given_name": "Ada", "family_name": "Lovelace",
            "emails": [{"address": "ada@example.com"}]})
        assert customer.status_code == 201, customer.text
        started = time.monotonic()
        opportunity = httpx.post(gateway + "/v1/opportunities", headers=headers | {
            "CRM-Consistency-Token": customer.headers["CRM-Consistency-Token"]}, json={
            "customer_id": customer.json()["id"], "name": "Analytical engine",
            "amount": {"amount": "1234.50", "currency": "EUR"}}, timeout=30)
        assert opportunity.status_code == 201, opportunity.text
        view = httpx.get(f"{gateway}/v1/customers/{customer.json()['id']}/view", headers=headers | {
            "CRM-Consistency-Token": opportunity.headers["CRM-Consistency-Token"]}, timeout=30).json()
        assert view["consistency"]["satisfied"] is True
        assert view["kpis"]["open_opportunities"] == 1
        assert time.monotonic() - started < 5, "the view should follow within a second or two"
        banner = (tmp_path / "run.log").read_text()
        assert gateway in banner and "/docs" in banner
        # A worker that dies is started again by crm run, and its service carries on. (Its group
        # hands the partitions on once the killed member's session has expired: seconds, not at once.)
        worker = f"http://127.0.0.1:{base + 12}"
        killed = pid_serving(base + 12)
        os.kill(killed, signal.SIGKILL)
        eventually(lambda: _answers(worker) and pid_serving(base + 12) != killed, timeout=60, interval=0.5,
                   what="crm run to start the sales worker again")
        assert "started sales-worker again" in (tmp_path / "run.log").read_text()
        later = httpx.post(gateway + "/v1/customers", headers=headers, json={
            "kind": "person", "given_name": "Grace", "family_name": "Hopper"})
        assert later.status_code == 201, later.text
        eventually(lambda: httpx.post(gateway + "/v1/opportunities", headers=headers, json={
            "customer_id": later.json()["id"], "name": "Compiler", "amount": {"amount": "1", "currency": "USD"}},
            timeout=30).status_code == 201, timeout=60, interval=1, what="the restarted sales worker to replicate")
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    assert code == 0, (tmp_path / "run.log").read_text()
    assert all(is_free(base + i) for i in OFFSETS), "a child outlived crm run"


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
