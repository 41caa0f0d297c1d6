"""Nothing acknowledged is lost, nothing redelivered counts twice, nothing unreadable blocks a partition,
and no consumer stays stuck outside its group."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.admin import NewTopic
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor

from services.customer.contract import SALES_TOPIC, SERVICE_DESK_TOPIC
from shared.consumer import ConsumerSpec, EventConsumer
from shared.db import make_engine, make_sessions
from shared.metrics import ServiceMetrics
from shared.topics import dead_letter_topic
from tests.support.events import opportunity_event, ticket_event
from tests.support.system import System
from tests.support.waiting import eventually

SALES, SERVICE_DESK = SALES_TOPIC.name, SERVICE_DESK_TOPIC.name

pytestmark = pytest.mark.integration

GRACE = {"kind": "person", "given_name": "Grace", "family_name": "Hopper"}


def _view(client, customer_id: str, predicate=lambda v: True) -> dict:  # type: ignore[no-untyped-def]
    def probe() -> dict | None:
        response = client.get(f"/v1/customers/{customer_id}/view")
        return response.json() if response.status_code == 200 and predicate(response.json()) else None

    return eventually(probe, timeout=60, what=f"the view of {customer_id}")


def _unpublished(system: System, tenant: str) -> int:
    rows = system.sql("customer", "SELECT count(*) FROM outbox WHERE tenant_id = :t AND published_at IS NULL", t=tenant)
    return int(rows[0][0])


def test_write_acknowledged_while_kafka_is_down_survives_a_service_crash(system: System) -> None:
    system.kafka.kill()
    try:
        with system.client() as client:
            created = client.post("/v1/customers", json=GRACE)
            assert created.status_code == 201, created.text
            assert _unpublished(system, client.tenant) == 1  # type: ignore[attr-defined]
            system.kill_service("customer")
    finally:
        system.kafka.start()
        system.start_service("customer")
        for service in ("customer", "sales", "service_desk", "campaign"):
            system.wait_ready(service)
    with system.client(client.tenant) as client:  # type: ignore[attr-defined]
        view = _view(client, created.json()["id"])
        assert view["version"] == 1
        assert view["profile"]["display_name"] == "Grace Hopper"
        eventually(lambda: _unpublished(system, client.tenant) == 0, what="the outbox to drain")  # type: ignore[attr-defined]
        system.wait_drained()  # consumers rejoin their groups after the broker came back
        opportunity = client.post("/v1/opportunities", headers={"CRM-Consistency-Token": created.headers["CRM-Consistency-Token"]},
                                  json={"customer_id": created.json()["id"], "name": "COBOL",
                                        "amount": {"amount": "5", "currency": "USD"}})
        assert opportunity.status_code == 201, opportunity.text


def test_write_acknowledged_just_before_sigkill_is_published_once(system: System) -> None:
    with system.client() as client:
        created = client.post("/v1/customers", json=GRACE)
        assert created.status_code == 201
        system.kill_service("customer")
        system.start_service("customer")
        system.wait_ready("customer")
        view = _view(client, created.json()["id"])
        assert view["version"] == 1


def test_an_api_killed_right_after_its_201_still_gets_its_event_out(system: System) -> None:
    with system.client() as client:
        created = client.post("/v1/customers", json=GRACE)
        assert created.status_code == 201
        system.kill_process("customer")  # the API only: its worker relays what the API committed
        try:
            rows = eventually(lambda: system.sql("customer", "SELECT published_at FROM outbox WHERE key = :k AND "
                                                 "type = 'crm.customer.created.v1' AND published_at IS NOT NULL",
                                                 k=created.json()["id"]) or None, what="the event to be published")
            assert len(rows) == 1
        finally:
            system.start_process("customer")
            system.wait_ready("customer")
        assert _view(client, created.json()["id"])["version"] == 1


def test_a_worker_killed_in_the_middle_of_a_batch_loses_nothing_and_applies_nothing_twice(system: System) -> None:
    """A burst of writes, the customer worker SIGKILLed while it relays and builds views, then started again."""
    with system.client() as client:
        ids = []
        for index in range(40):
            created = client.post("/v1/customers", json=GRACE | {"given_name": f"Grace{index}"})
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
            if index == 20:
                system.kill_process("customer-worker")
        system.start_process("customer-worker")
        system.wait_ready("customer")
        for customer_id in ids:
            assert _view(client, customer_id)["version"] == 1
        eventually(lambda: _unpublished(system, client.tenant) == 0, what="the outbox to drain")  # type: ignore[attr-defined]
        system.wait_drained()
        # Each creation went out once and was folded into its view once: one version, one timeline entry.
        for customer_id in ids:
            assert system.sql("customer", "SELECT count(*) FROM outbox WHERE key = :k AND type = "
                              "'crm.customer.created.v1'", k=customer_id) == [(1,)]
            assert system.sql("customer", "SELECT count(*) FROM outbox WHERE key = :k AND type = "
                              "'crm.customer.view.updated.v1'", k=customer_id) == [(1,)]


def test_redelivered_event_is_applied_once(system: System) -> None:
    with system.client() as client:
        customer = client.post("/v1/customers", json=GRACE).json()
        _view(client, customer["id"])
        tenant = client.tenant  # type: ignore[attr-defined]
        duplicate = opportunity_event(customer_id=customer["id"], tenant=tenant, amount="100.00", sequence=10)
        marker = opportunity_event(customer_id=customer["id"], tenant=tenant, amount="1.00", sequence=11)
        producer = system.producer()
        for event in (duplicate, duplicate, duplicate, marker):
            producer.send(SALES, key=customer["id"].encode(), value=event.to_bytes()).get(timeout=30)
        producer.close()
        view = _view(client, customer["id"], lambda v: v["kpis"]["open_opportunities"] == 2)
        assert view["kpis"]["open_pipeline_value"] == [{"amount": "101.00", "currency": "EUR"}]
        assert view["source_sequences"]["sales"] == 11
        # Each of the customer service's consumers of the sales topic (the view, classification) applied it once.
        system.wait_drained()
        applied = system.sql("customer", "SELECT consumer, count(*) FROM processed_events WHERE event_id = :id "
                                         "GROUP BY consumer ORDER BY consumer", id=duplicate.id)
        assert applied == [("classification", 1), ("view", 1)]


def test_an_older_state_arriving_late_does_not_overwrite_a_newer_one(system: System) -> None:
    with system.client() as client:
        customer = client.post("/v1/customers", json=GRACE).json()
        _view(client, customer["id"])
        tenant = client.tenant  # type: ignore[attr-defined]
        won = opportunity_event(customer_id=customer["id"], tenant=tenant, amount="7.00", sequence=21,
                                status="won", opportunity_id="opp-late")
        stale_open = opportunity_event(customer_id=customer["id"], tenant=tenant, amount="7.00", sequence=20,
                                       status="open", opportunity_id="opp-late")
        marker = ticket_event(customer_id=customer["id"], tenant=tenant, sequence=22)
        producer = system.producer()
        producer.send(SALES, key=customer["id"].encode(), value=won.to_bytes()).get(timeout=30)
        producer.send(SALES, key=customer["id"].encode(), value=stale_open.to_bytes()).get(timeout=30)
        producer.send(SERVICE_DESK, key=customer["id"].encode(), value=marker.to_bytes()).get(timeout=30)
        producer.close()
        view = _view(client, customer["id"], lambda v: v["kpis"]["open_tickets"] == 1 and v["kpis"]["won_deals"] == 1)
        time.sleep(0.5)  # the stale event is on the same partition as "won", so it has been applied by now
        view = client.get(f"/v1/customers/{customer['id']}/view").json()
        assert view["kpis"]["won_deals"] == 1
        assert view["kpis"]["open_opportunities"] == 0


def test_poison_messages_go_to_the_dead_letter_topic_and_the_consumer_moves_on(system: System) -> None:
    with system.client() as client:
        customer = client.post("/v1/customers", json=GRACE).json()
        _view(client, customer["id"])
        tenant = client.tenant  # type: ignore[attr-defined]
        key = customer["id"].encode()
        producer = system.producer()
        producer.send(SERVICE_DESK, key=key, value=b"{this is not json").get(timeout=30)
        broken = ticket_event(customer_id=customer["id"], tenant=tenant, sequence=30, status=None)
        producer.send(SERVICE_DESK, key=key, value=broken.to_bytes()).get(timeout=30)
        good = ticket_event(customer_id=customer["id"], tenant=tenant, sequence=31)
        producer.send(SERVICE_DESK, key=key, value=good.to_bytes()).get(timeout=30)
        producer.close()

        view = _view(client, customer["id"], lambda v: v["kpis"]["open_tickets"] == 1)
        assert view["source_sequences"]["service_desk"] == 31

        def dead_letters() -> list:  # type: ignore[type-arg]
            return [r for r in system.read_topic(dead_letter_topic("customer")) if r.key == key]

        records = eventually(lambda: (found := dead_letters()) and len(found) >= 2 and found, what="two dead letters")
        assert [r.value for r in records] == [b"{this is not json", broken.to_bytes()]
        errors = [dict(r.headers)["dlq_error"].decode() for r in records]
        assert errors[0].startswith("unreadable event")
        assert "status" in errors[1]
        assert all(dict(r.headers)["dlq_topic"] == SERVICE_DESK.encode() for r in records)


def test_an_idle_member_is_not_a_stalled_one_and_takes_the_partition_when_it_frees(system: System) -> None:
    """More members than partitions (replicas of a worker): the one holding nothing is settled in its
    group, ready, and never recreated by the watchdog; when the partition frees it takes it over."""
    topic, group = f"crm.idle-{uuid.uuid4().hex[:8]}.v1", f"crm.idle-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=system.kafka.bootstrap_servers)
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    # Another live member takes the only partition first, so ours joins and gets nothing.
    squatting, leave = threading.Event(), threading.Event()

    def squat() -> None:
        # Heartbeats every half second: the rebalance our member's join starts ends within the stall limit.
        squatter = KafkaConsumer(topic, group_id=group, bootstrap_servers=system.kafka.bootstrap_servers,
                                 enable_auto_commit=False, partition_assignment_strategy=(CooperativeStickyAssignor,),
                                 session_timeout_ms=6000, heartbeat_interval_ms=500)
        while not leave.is_set():
            squatter.poll(timeout_ms=200)
            if squatter.assignment():
                squatting.set()
        squatter.close()

    squatter = threading.Thread(target=squat, daemon=True)
    squatter.start()
    assert squatting.wait(30), "the squatter never got the partition"
    engine = make_engine(system.database_urls["customer"])
    applied: list[str] = []
    metrics = ServiceMetrics("customer")
    consumer = EventConsumer(
        name="idle-probe", service="customer", group_id=group,
        specs=[ConsumerSpec(name="idle-probe", topics=[topic],
                            handle=lambda session, delivery: applied.append(delivery.event.id))],  # type: ignore[union-attr]
        bootstrap_servers=system.kafka.bootstrap_servers, sessions=make_sessions(engine), producer_factory=system.producer,
        dead_letter_topic=dead_letter_topic("customer"), metrics=metrics, session_timeout_ms=6000, stall_seconds=2)
    consumer.start()
    try:
        eventually(lambda: consumer.holds_partitions, timeout=30, what="the second member to settle in the group")
        time.sleep(4)  # twice its stall limit, holding nothing
        assert consumer.restarts == 0 and consumer.holds_partitions
        assert metrics.consumer_partitions._value.get() == 0  # noqa: SLF001 - the gauge's current value
        leave.set()  # the squatter leaves the group: the partition must come to ours by rebalance
        squatter.join(30)
        event = opportunity_event(customer_id=str(uuid.uuid4()), tenant="t-idle", amount="1.00", sequence=1)
        producer = system.producer()
        producer.send(topic, key=event.subject.encode(), value=event.to_bytes()).get(timeout=30)
        producer.close()
        eventually(lambda: applied == [event.id], timeout=60, what="the remaining member to apply the event")
        assert consumer.restarts == 0
    finally:
        leave.set()
        consumer.stop()
        engine.dispose()
