"""``crm dlq`` and ``crm status`` against the running system: a poison message the view consumer dead-lettered is listed with its
error, fails again on retry and stays pending until purged; a dead letter whose cause is gone (a handler since
fixed: here a good event put on the dead-letter topic by hand) is retried through the consumer's own handler and
reaches the view, and a second copy of it is not applied twice (dedupe). Once drained, ``crm status`` shows every
API and worker up with no outbox backlog and no consumer lag."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from crm import deadletters
from shared.topics import dead_letter_topic
from tests.support.events import ticket_event
from tests.support.system import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration

SERVICE_DESK = "crm.service_desk.v1"


def _listed(system: System, key: str) -> list[dict[str, Any]]:
    """What ``crm dlq list --json`` shows of this customer's dead letters."""
    listed = system.crm("dlq", "list", "customer", "--json")
    assert listed.returncode == 0, listed.stderr
    return [letter for line in listed.stdout.splitlines() if (letter := json.loads(line))["key"] == key]


def _pending(system: System, key: str) -> list[deadletters.DeadLetter]:
    return [letter for letter in deadletters.pending(system.kafka.bootstrap_servers, "customer") if letter.key == key]


def _retry(system: System, letter: deadletters.DeadLetter) -> deadletters.Outcome:
    [outcome] = deadletters.retry(system.kafka.bootstrap_servers, "customer", system.database_urls["customer"],
                                  [letter])
    return outcome


def _by_hand(system: System, key: str, value: bytes) -> None:
    """A record on the dead-letter topic as the view consumer would have left it."""
    producer = system.producer()
    producer.send(dead_letter_topic("customer"), key=key.encode(), value=value, headers=[
        ("dlq_error", b"RuntimeError: a bug since fixed"), ("dlq_consumer", b"view"),
        ("dlq_topic", SERVICE_DESK.encode()), ("dlq_partition", b"0"), ("dlq_offset", b"0")]).get(timeout=30)
    producer.close()


def test_dead_letters_are_listed_retried_through_their_handler_once_and_purged(system: System) -> None:
    with system.client() as client:
        customer = client.post("/v1/customers", json={"kind": "person", "given_name": "Dora", "family_name": "Letter"})
        assert customer.status_code == 201, customer.text
        key, tenant = customer.json()["id"], client.tenant  # type: ignore[attr-defined]
        producer = system.producer()
        producer.send(SERVICE_DESK, key=key.encode(), value=b"{not an event").get(timeout=30)
        producer.close()
        eventually(lambda: _pending(system, key), what="the poison message to be dead-lettered", timeout=60)
        [poison] = _listed(system, key)
        assert (poison["consumer"], poison["topic"], poison["type"]) == ("view", SERVICE_DESK, "")
        assert poison["error"].startswith("unreadable event")

        failed = system.crm("dlq", "retry", "customer", poison["ref"])
        assert failed.returncode != 0 and f"{poison['ref']}: failed" in failed.stdout
        assert [p.ref for p in _pending(system, key)] == [poison["ref"]]

        good = ticket_event(customer_id=key, tenant=tenant, sequence=10**9 + uuid.uuid4().int % 10**6)
        _by_hand(system, key, good.to_bytes())
        fixed = next(p for p in _pending(system, key) if p.ref != poison["ref"])
        assert (fixed.event_type, fixed.error) == ("crm.service_desk.ticket.created.v1", "RuntimeError: a bug since fixed")
        assert _retry(system, fixed) == deadletters.Outcome(fixed.ref, True, "applied")
        eventually(lambda: client.get(f"/v1/customers/{key}/view").json()["kpis"].get("open_tickets") == 1,
                   what="the retried ticket to reach the view")

        # The same event dead-lettered twice: the second retry finds it applied and changes nothing. And the
        # record is on its own topic too, as every dead letter was before it failed (so that a replay of the topics
        # rebuilds what the retry applied): the live consumer finds it applied as well.
        _by_hand(system, key, good.to_bytes())
        copy = next(p for p in _pending(system, key) if p.ref not in (poison["ref"], fixed.ref))
        assert _retry(system, copy).detail == "applied before (dedupe): nothing done"
        producer = system.producer()
        producer.send(SERVICE_DESK, key=key.encode(), value=good.to_bytes()).get(timeout=30)
        producer.close()
        system.wait_drained()
        assert client.get(f"/v1/customers/{key}/view").json()["kpis"]["open_tickets"] == 1

        purged = system.crm("dlq", "purge", "customer", poison["ref"])
        assert purged.returncode == 0, purged.stderr
        assert _pending(system, key) == []


def test_status_shows_every_part_up_and_nothing_behind_once_drained(system: System) -> None:
    with system.client() as client:
        assert client.post("/v1/customers", json={"kind": "person", "given_name": "Stan",
                                                  "family_name": "Status"}).status_code == 201
    system.wait_drained()
    shown = system.crm("status", "--json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    report = json.loads(shown.stdout)
    assert report["up"] is True
    by_service = {s["service"]: s for s in report["services"]}
    assert set(by_service) == {"customer", "sales", "service_desk", "campaign"}
    for service, figures in by_service.items():
        assert (figures["api"], figures["worker"], figures["problems"]) == ("up", "up", []), service
        assert (figures["outbox_pending"], figures["consumer_lag"]) == (0, 0), service
        assert isinstance(figures["dead_letters"], int), service
    table = system.crm("status")
    assert table.returncode == 0 and "unified view: up to date" in table.stdout
