"""One side of the relay scenario, in its own process so that its CPU time is its own.

``relay``: the real ``OutboxRelay`` (``publish_pending``: its loop, until the backlog is empty) over a
database holding a backlog of unpublished rows. ``raw``: a bare kafka-python producer
made by the same ``make_producer``, sending the very same bytes, keys and headers
(serialised before the clock starts). Prints one JSON line: events, seconds, cpu_seconds.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time

from sqlalchemy import update

from shared.db import OutboxRecord, make_engine, make_sessions
from shared.outbox import OutboxRelay, make_producer, wire_value


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_relay(database_url: str, bootstrap: str, batch_size: int) -> dict[str, float]:
    engine = make_engine(database_url)
    relay = OutboxRelay(service="customer", sessions=make_sessions(engine), batch_size=batch_size,
                        producer_factory=lambda: make_producer(bootstrap, "bench-relay"))
    relay._ensure_producer()  # connect before the clock starts, as a running service would be
    cpu0, t0 = _cpu(), time.perf_counter()
    events = relay.publish_pending()
    seconds, cpu = time.perf_counter() - t0, _cpu() - cpu0
    relay._drop_producer()
    engine.dispose()
    return {"events": events, "seconds": seconds, "cpu_seconds": cpu}


def run_raw(database_url: str, bootstrap: str, topic: str) -> dict[str, float]:
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    with sessions() as session:
        # The rows as the relay claims them and the very bytes it would send, made before the clock starts
        # (our run published them already: marked unpublished again in this uncommitted transaction).
        session.execute(update(OutboxRecord).values(published_at=None))
        rows = OutboxRelay(service="customer", sessions=sessions, producer_factory=lambda: None,  # type: ignore[arg-type]
                           batch_size=10**9)._claim(session)
        messages = [
            (row.key, wire_value(row, "customer"),
             [("ce_type", row.type.encode()), ("ce_tenant", row.tenant_id.encode())])
            for row in rows
        ]
    engine.dispose()
    producer = make_producer(bootstrap, "bench-raw")
    producer.partitions_for(topic)  # metadata fetched before the clock starts
    cpu0, t0 = _cpu(), time.perf_counter()
    for key, value, headers in messages:
        producer.send(topic, key=key, value=value, headers=headers)
    producer.flush(timeout=120)
    seconds, cpu = time.perf_counter() - t0, _cpu() - cpu0
    producer.close(timeout=10)
    return {"events": len(messages), "seconds": seconds, "cpu_seconds": cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("relay", "raw"))
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args(argv)
    if args.mode == "relay":
        result = run_relay(args.database_url, args.bootstrap, args.batch_size)
    else:
        result = run_raw(args.database_url, args.bootstrap, args.topic)
    print("BENCH_JSON " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
