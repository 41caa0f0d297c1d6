"""Timing writes to their view: a reader of the view topic noting when each customer's view first
arrives, and a paced load of creates whose every 201 is compared with it."""

from __future__ import annotations

import threading
import time
import uuid

from kafka import KafkaConsumer, TopicPartition

from bench.context import Context
from bench.loadgen import RATE_CONNECTIONS, LoadResult, read_created, run_wrk
from services.customer.contract import VIEW_TOPIC


class TopicWatcher(threading.Thread):
    """Notes when each key first shows up on a topic (from the end of it, no consumer group)."""

    def __init__(self, bootstrap: str, topic: str, *, stamp_header: bool = False) -> None:
        super().__init__(daemon=True)
        self.bootstrap, self.topic, self.stamp_header = bootstrap, topic, stamp_header
        self.ready = threading.Event()
        self.halt = threading.Event()
        self.first_seen: dict[str, float] = {}
        self.latencies: list[float] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False,
                                     client_id="bench-watcher", fetch_max_wait_ms=100)
            try:
                partitions = [TopicPartition(self.topic, p) for p in sorted(consumer.partitions_for_topic(self.topic) or [])]
                consumer.assign(partitions)
                consumer.seek_to_end(*partitions)
                for p in partitions:
                    consumer.position(p)
                self.ready.set()
                while not self.halt.is_set():
                    for records in consumer.poll(timeout_ms=100).values():
                        now = time.time()
                        for record in records:
                            if self.stamp_header:
                                sent = float(dict(record.headers)["sent"].decode())
                                self.latencies.append((now - sent) * 1000)
                            elif record.key is not None:
                                self.first_seen.setdefault(record.key.decode(), now)
            finally:
                consumer.close()
        except BaseException as exc:  # noqa: BLE001 - reported by the scenario
            self.error = exc
            self.ready.set()


def converge(ctx: Context, base_url: str, rate: float, seconds: float, *, connections: int = RATE_CONNECTIONS,
             wait: float = 60.0) -> tuple[list[float], int, LoadResult]:
    """Milliseconds from each write's 201 to its view on the topic; how many writes; the load's result.

    Writes go to ``base_url`` + ``/v1/customers`` (a service or the gateway). Views still missing
    ``wait`` seconds after the load are left out of the latencies (the count of writes says how many).
    """
    record = ctx.root / f"convergence-{uuid.uuid4().hex[:6]}"
    record.mkdir()
    watcher = TopicWatcher(ctx.bootstrap, VIEW_TOPIC.name)
    watcher.start()
    watcher.ready.wait(30)
    if watcher.error:
        raise RuntimeError(f"could not read {VIEW_TOPIC.name}: {watcher.error}")
    ctx.log(f"  convergence: {seconds:g} s of writes at {rate:g}/s, each timed from its 201 to its view on {VIEW_TOPIC.name}")
    load = run_wrk(base_url + "/v1/customers", "write", seconds=seconds, connections=connections,
                   env={"BENCH_TOKEN": ctx.token, "BENCH_RECORD": str(record)}, rate=rate)
    created = read_created(record)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and any(c not in watcher.first_seen for c in created):
        time.sleep(0.2)
    watcher.halt.set()
    watcher.join(10)
    return [(watcher.first_seen[c] - t) * 1000 for c, t in created.items() if c in watcher.first_seen], len(created), load
