"""The benchmark scenarios. Each adds rows to the report: ours, the baseline of the same run, the target.

Every number printed is measured here, in this run; a feature that has not landed
yields ``not yet``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import httpx
import psycopg
from kafka import KafkaConsumer, TopicPartition

from bench import audience, forecast, inbound_email, leads, order_flow, receivables, send, sla_clock
from bench.context import TENANT, Context
from bench.data import FAMILY, GIVEN, derived_uuid, psycopg_url
from bench.loadgen import RATE_CONNECTIONS, LoadResult, describe, run_wrk
from bench.measure import RssSampler, percentile, profiled, profiling, summarise_recorded
from bench.report import INFO, NOT_YET, SKIPPED, Report, Row, ratio, verdict
from bench.viewtopic import TopicWatcher, converge
from bench.write_cost import write_cost
from services.customer.contract import CAMPAIGN_TOPIC, CUSTOMER_TOPIC, SALES_TOPIC, SERVICE_DESK_TOPIC, VIEW_TOPIC
from shared.envelope import CloudEvent
from shared.outbox import make_producer
from shared.settings import Settings
from tests.support.databases import create_postgres_database, drop_postgres_database

# The topics the view is built from (the customer service's contract reads them all).
DOMAIN_TOPICS = [topic.name for topic in (CUSTOMER_TOPIC, SALES_TOPIC, SERVICE_DESK_TOPIC, CAMPAIGN_TOPIC)]


RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Plan:
    mode: str
    sizes: tuple[int, ...]
    read_seconds: float
    rate_seconds: float
    warmup_seconds: float
    connections: int
    read_rate: float
    write_seconds: float
    relay_events: int
    convergence_seconds: float
    convergence_rate: float
    memory_seconds: float
    replay_events: int
    import_rows: int
    profile: bool = False
    # write-cost: CPU idle, CPU per write at these steady rates (measured seconds each), the view's convergence
    # stepped through those rates (seconds each, and how long a missing view is waited for), and
    # that many creates back to back.
    idle_seconds: float = 10
    cost_rates: tuple[float, ...] = (20, 50)
    cost_seconds: float = 20
    converge_rates: tuple[float, ...] = (50, 100, 150, 200, 300)
    converge_seconds: float = 30
    converge_wait: float = 15
    sequential_creates: int = 200
    # lead-intake: the rows of its lead import.
    lead_import_rows: int = 100_000

    @property
    def largest(self) -> int:
        return self.sizes[-1]


FULL = Plan("full", (10_000, 100_000, 1_000_000), read_seconds=15, rate_seconds=15, warmup_seconds=3, connections=16,
            read_rate=1000, write_seconds=15, relay_events=100_000, convergence_seconds=30, convergence_rate=500,
            memory_seconds=10, replay_events=20_000, import_rows=200_000)
QUICK = Plan("quick", (10_000, 100_000), read_seconds=5, rate_seconds=5, warmup_seconds=1, connections=16,
             read_rate=1000, write_seconds=5, relay_events=10_000, convergence_seconds=6, convergence_rate=500,
             memory_seconds=3, replay_events=1_000, import_rows=10_000, idle_seconds=3, cost_seconds=6,
             converge_rates=(50, 100, 200), converge_seconds=8, converge_wait=5, sequential_creates=100,
             lead_import_rows=10_000)


def _n(size: int) -> str:
    return f"{size // 1_000_000}M" if size >= 1_000_000 else f"{size // 1000}k"


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _checked(result: LoadResult, what: str) -> LoadResult:
    if not result.ok:
        raise RuntimeError(f"{what}: {result.errors} of {result.requests} requests failed")
    return result


# --- 1 + 2: unified-view read and its scaling ------------------------------------------------


def view_read(ctx: Context, report: Report, plan: Plan) -> None:
    ours_url = ctx.url("customer") + "/v1/customers/{id}/view"
    p99_at_rate: dict[int, LoadResult] = {}
    for size in plan.sizes:
        ctx.ensure_customers(size)
        env = _read_env(ctx, size)
        ctx.log(f"  view read at {_n(size)}: {plan.rate_seconds:g} s at {plan.read_rate:g} req/s")
        run_wrk(ours_url, "read", seconds=plan.warmup_seconds, connections=plan.connections, env=env)
        p99_at_rate[size] = _checked(run_wrk(ours_url, "read", seconds=plan.rate_seconds, connections=RATE_CONNECTIONS,
                                             env=env, rate=plan.read_rate), "view read at a fixed rate")
    size = plan.largest
    env = _read_env(ctx, size)
    base_url = ctx.baseline_url() + "/docs/{id}"
    ctx.log(f"  view read at {_n(size)}: saturated, ours then the bare baseline, {plan.read_seconds:g} s each")
    sampler = RssSampler(ctx.rss)
    sampler.start()
    with profiled(plan.profile, ctx.pids().get("customer"), plan.read_seconds, RESULTS / "profiles" / "view-read",
                  ctx.profiles):
        ours = _checked(run_wrk(ours_url, "read", seconds=plan.read_seconds, connections=plan.connections, env=env),
                        "view read")
    ctx.loaded_rss = sampler.stop()
    run_wrk(base_url, "read", seconds=plan.warmup_seconds, connections=plan.connections, env=env)
    base = _checked(run_wrk(base_url, "read", seconds=plan.read_seconds, connections=plan.connections, env=env),
                    "baseline read")
    base_rate = _checked(run_wrk(base_url, "read", seconds=plan.rate_seconds, connections=RATE_CONNECTIONS, env=env,
                                 rate=plan.read_rate), "baseline read at a fixed rate")
    scenario = f"unified-view read, {_n(size)} customers"
    report.add(Row(scenario, "req/s (saturated)", f"{ours.rps:,.0f}", f"{base.rps:,.0f}", ratio(ours.rps, base.rps),
                   ">= 60% of baseline", verdict(ours.rps >= 0.6 * base.rps), key="read-throughput"))
    report.add(Row(scenario, "p50 / p99 ms (saturated)", f"{_ms(ours.p50_ms)} / {_ms(ours.p99_ms)}",
                   f"{_ms(base.p50_ms)} / {_ms(base.p99_ms)}", ratio(base.p99_ms, ours.p99_ms), "—", INFO))
    at = p99_at_rate[size]
    held = at.rps >= 0.95 * plan.read_rate
    report.add(Row(scenario, f"p99 ms at {plan.read_rate:,.0f} req/s", f"{_ms(at.p99_ms)} (held {at.rps:,.0f}/s)",
                   f"{_ms(base_rate.p99_ms)} (held {base_rate.rps:,.0f}/s)", ratio(base_rate.p99_ms, at.p99_ms),
                   "<= 15 ms", verdict(held and at.p99_ms <= 15), key="read-latency"))
    measured = " / ".join(f"{_n(s)}: {_ms(r.p99_ms)}" for s, r in p99_at_rate.items())
    if 1_000_000 in p99_at_rate:
        growth = p99_at_rate[1_000_000].p99_ms / p99_at_rate[10_000].p99_ms
        report.add(Row("view read scaling", f"p99 ms at {plan.read_rate:,.0f} req/s", measured, "—", f"{growth:.2f}x",
                       "1M within 1.5x of 10k", verdict(growth <= 1.5), key="read-scaling"))
    else:
        growth = p99_at_rate[size].p99_ms / p99_at_rate[plan.sizes[0]].p99_ms
        report.add(Row("view read scaling", f"p99 ms at {plan.read_rate:,.0f} req/s", measured, "—",
                       f"{growth:.2f}x ({_n(size)}/10k)", "1M within 1.5x of 10k", f"{SKIPPED} (1M: full run only)"))
    loader = ctx.data()
    report.detail(
        f"view read: `GET /v1/customers/{{id}}/view` straight to the customer service (no gateway hop), random ids "
        f"among the loaded customers; baseline `GET /docs/{{id}}` of a bare FastAPI app (same uvicorn, same "
        f"SQLAlchemy pool, psycopg 3) returning a stored jsonb document by primary key from the same PostgreSQL. "
        f"Response size: ours {ours.bytes_per_response:,.0f} B, baseline {base.bytes_per_response:,.0f} B (incl. "
        f"headers). Load: {describe(plan.connections)} for {plan.read_seconds:g} s saturated; fixed rate through "
        f"wrk's delay() hook with {RATE_CONNECTIONS} connections for {plan.rate_seconds:g} s. Data loaded with COPY "
        f"(seed 1): " + ", ".join(f"{_n(n)} in {s:.0f} s" for n, s in loader.load_seconds.items()) + "."
    )


def _read_env(ctx: Context, size: int) -> dict[str, str]:
    return {"BENCH_IDS": str(ctx.data().ids_file), "BENCH_ID_COUNT": str(size), "BENCH_TOKEN": ctx.token}


# --- customer search at scale (the customer master's search) -----------------------------------

SEARCH_REQUESTS = 40
SEARCH_WARMUP = 20
SEARCH_P99_MS = 100  # "answers in tens of milliseconds"


def _search_queries(size: int) -> dict[str, Callable[[int], dict[str, str]]]:
    """Each filter kind, with a parameter drawn per request from what the loaded data holds."""
    return {
        "e-mail (exact, any case)": lambda n: {"email": f"Customer.{(n * 7919) % size}@Example.com"},
        "phone (any formatting)": lambda n: {"phone": "+49 (30) 1234-5678"},
        "name prefix (any case/accents)": lambda n: {"name": GIVEN[n % len(GIVEN)][:3].lower()},
        "name contains": lambda n: {"name_contains": FAMILY[n % len(FAMILY)][1:5]},
        "name contains, no match": lambda n: {"name_contains": f"zq{n}x"},
        "country + newest first": lambda n: {"country": "DE", "sort": "-created_at"},
        "created range": lambda n: {"created_after": "2000-01-01T00:00:00Z", "created_before": "2100-01-01T00:00:00Z"},
        "next page (cursor)": lambda n: {"name": GIVEN[n % len(GIVEN)][:3].lower(), "cursor": "next"},
    }


def customer_search(ctx: Context, report: Report, plan: Plan) -> None:
    size = plan.largest
    ctx.ensure_customers(size)
    ctx.settle()
    ctx.log(f"  search over {_n(size)} customers: {len(_search_queries(size))} filter kinds, "
            f"{SEARCH_REQUESTS} requests each, one at a time")
    headers = {"Authorization": f"Bearer {ctx.token}"}
    with httpx.Client(base_url=ctx.url("customer"), headers=headers, timeout=30) as client:
        for label, params_of in _search_queries(size).items():
            latencies = _timed_searches(client, params_of)
            p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
            report.add(Row(f"customer search, {_n(size)} customers", label, f"{_ms(p50)} / {_ms(p99)} ms", "—", "—",
                           f"p99 < {SEARCH_P99_MS} ms", verdict(p99 < SEARCH_P99_MS), key="search"))
    report.detail(
        f"customer search: `GET /v1/customers` with one filter kind at a time, limit 50, {SEARCH_REQUESTS} sequential "
        f"requests per kind after a warm-up pass over its {SEARCH_WARMUP} distinct parameters, straight to the customer service, on the {_n(size)} customers "
        f"loaded with COPY (seed 1: 400 name combinations, unique e-mail addresses, one shared phone number and "
        f"country, so the phone and country filters match everyone and must page, not scan). p50 / p99 of the "
        f"round trip as the client saw it."
    )


def _timed_searches(client: httpx.Client, params_of: Callable[[int], dict[str, str]]) -> list[float]:
    latencies: list[float] = []
    # Warm-up: one pass over the distinct parameters (names cycle through 20), so that the
    # figures are of a running system, not of the first read of each page after the bulk load.
    for n in range(-SEARCH_WARMUP, SEARCH_REQUESTS):
        params = params_of(n)
        if params.get("cursor") == "next":
            first = client.get("/v1/customers", params={k: v for k, v in params.items() if k != "cursor"})
            params["cursor"] = first.json().get("next_cursor") or ""
        started = time.perf_counter()
        response = client.get("/v1/customers", params=params)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"search {params} answered {response.status_code}: {response.text[:200]}")
        if n >= 0:
            latencies.append(elapsed)
    return latencies


# --- 3: customer create through the outbox ----------------------------------------------------


def customer_create(ctx: Context, report: Report, plan: Plan) -> None:
    ctx.ensure_customers(plan.sizes[0])
    ctx.settle()
    ours_url = ctx.url("customer") + "/v1/customers"
    base_url = ctx.baseline_url() + "/customers"
    env = {"BENCH_TOKEN": ctx.token}
    ctx.log(f"  customer create: saturated, ours then the bare baseline, {plan.write_seconds:g} s each")
    run_wrk(ours_url, "write", seconds=plan.warmup_seconds, connections=plan.connections, env=env)
    ctx.settle()
    with profiled(plan.profile, ctx.pids().get("customer"), plan.write_seconds, RESULTS / "profiles" / "customer-create",
                  ctx.profiles):
        ours = _checked(run_wrk(ours_url, "write", seconds=plan.write_seconds, connections=plan.connections, env=env),
                        "customer create")
    started = time.monotonic()
    settled = ctx.settle()
    catch_up = time.monotonic() - started
    run_wrk(base_url, "write", seconds=plan.warmup_seconds, connections=plan.connections, env=env)
    base = _checked(run_wrk(base_url, "write", seconds=plan.write_seconds, connections=plan.connections, env=env),
                    "baseline insert")
    scenario = "customer create (POST /v1/customers)"
    ok = ours.rps >= 0.5 * base.rps and ours.rps >= 1000
    report.add(Row(scenario, "writes/s (saturated)", f"{ours.rps:,.0f}", f"{base.rps:,.0f}", ratio(ours.rps, base.rps),
                   ">= 50% of baseline and >= 1,000/s", verdict(ok), key="write-throughput"))
    report.add(Row(scenario, "p50 / p99 ms (saturated)", f"{_ms(ours.p50_ms)} / {_ms(ours.p99_ms)}",
                   f"{_ms(base.p50_ms)} / {_ms(base.p99_ms)}", ratio(base.p99_ms, ours.p99_ms), "—", INFO))
    report.detail(
        f"customer create: `POST /v1/customers` straight to the customer service (validation, auth, customer row + "
        f"outbox row in one transaction, relay and view consumer running in the same process); baseline `POST "
        f"/customers` of the bare app inserting the same `customers` row (same migrations, same driver and pool), "
        f"nothing else. Load: {describe(plan.connections)}, {plan.write_seconds:g} s each, a new person per request. "
        f"After our run the view consumer needed {catch_up:.1f} s more to catch up"
        f"{'' if settled else ' (and had not caught up when the bench moved on)'}."
    )


# --- 4: outbox relay draining a backlog -------------------------------------------------------


def relay(ctx: Context, report: Report, plan: Plan) -> None:
    n = plan.relay_events
    ctx.ensure_customers(plan.sizes[0])
    loader = ctx.data()
    assert loader.template is not None
    url = create_postgres_database(ctx.admin_url, "crm_bench_relay")
    try:
        from shared.migrate import upgrade

        upgrade("customer", url)
        ctx.ensure_topic("bench.relay.v1")
        ctx.ensure_topic("bench.raw.v1")
        ctx.log(f"  relay: {n:,} unpublished outbox rows, the relay drains them; then a raw producer sends the same")
        with psycopg.connect(psycopg_url(ctx.system.database_urls["customer"])) as conn:
            template = conn.execute("SELECT row_to_json(c)::jsonb FROM customers c WHERE id = %s",
                                    (loader.template.customer_id,)).fetchone()[0]
        with psycopg.connect(psycopg_url(url)) as conn:
            conn.execute(
                "INSERT INTO outbox (event_id, tenant_id, topic, key, type, occurred_at, data) "
                "SELECT md5('1:' || i)::uuid, %(tenant)s, 'bench.relay.v1', md5('c:' || i)::uuid::text, "
                "'crm.customer.created.v1', now(), "
                "jsonb_build_object('customer', %(template)s::jsonb || jsonb_build_object('id', md5('c:' || i)::uuid)) "
                "FROM generate_series(1, %(n)s) AS i",
                {"tenant": TENANT, "template": json.dumps(template), "n": n},
            )
            conn.commit()
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE outbox")
        batch = Settings().relay_batch_size
        ours = _worker("relay", url, ctx.bootstrap, "bench.relay.v1", batch, profile=(plan.profile, ctx.profiles))
        base = _worker("raw", url, ctx.bootstrap, "bench.raw.v1", batch)
    finally:
        drop_postgres_database(ctx.admin_url, url)
    ours_rate, base_rate = ours["events"] / ours["seconds"], base["events"] / base["seconds"]
    if ours["events"] != n:
        raise RuntimeError(f"the relay published {ours['events']} of {n} events")
    scenario = f"outbox relay, {n // 1000}k backlog"
    ok = ours_rate >= 0.7 * base_rate and ours_rate >= 5000
    report.add(Row(scenario, "events/s", f"{ours_rate:,.0f}", f"{base_rate:,.0f}", ratio(ours_rate, base_rate),
                   ">= 70% of baseline and >= 5,000/s", verdict(ok), key="relay"))
    report.add(Row(scenario, "CPU ms per 1,000 events (its process)",
                   f"{1000 * ours['cpu_seconds'] / ours['events'] * 1000:.0f}",
                   f"{1000 * base['cpu_seconds'] / base['events'] * 1000:.0f}",
                   ratio(base["cpu_seconds"], ours["cpu_seconds"]), "—", INFO))
    report.detail(
        f"outbox relay: {n:,} unpublished `crm.customer.created.v1` rows (customer payload of the template customer) "
        f"in a fresh customer-service database; our figure is the relay's own loop, `OutboxRelay.publish_pending` "
        f"(batch {batch}; the next batch is claimed and sent while Kafka acknowledges the previous one), run until "
        f"the backlog is empty, in its own process; the baseline is a kafka-python producer from the same "
        f"`make_producer` (idempotent, acks=all, linger 2 ms) sending the same bytes, keys and headers, serialised "
        f"before the clock starts. CPU is that process's user+system time (PostgreSQL and Kafka not included). "
        f"Wall time: ours {ours['seconds']:.1f} s, baseline {base['seconds']:.1f} s."
    )


def _worker(mode: str, url: str, bootstrap: str, topic: str, batch: int,
            profile: tuple[bool, list[str]] = (False, [])) -> dict[str, float]:
    out = RESULTS / "profiles" / "relay"
    done = subprocess.run(
        profiling(profile[0], [sys.executable, "-m", "bench.relay_worker", mode, "--database-url", url, "--bootstrap",
                               bootstrap, "--topic", topic, "--batch-size", str(batch)], out, profile[1]),
        capture_output=True, text=True, timeout=600, check=False, cwd=Path(__file__).resolve().parents[1],
    )
    if profile[0]:
        summarise_recorded(out, profile[1])
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"relay worker ({mode}) failed: {done.stderr.strip()[-600:]}")
    return json.loads(line.removeprefix("BENCH_JSON "))


# --- 5: write-to-view convergence --------------------------------------------------------------


# A rate one customer-service process holds on this machine, for the latency without a backlog.
SUSTAINABLE_RATE = 50


def convergence(ctx: Context, report: Report, plan: Plan) -> None:
    ctx.ensure_customers(plan.sizes[0])
    ctx.settle()
    rate, seconds = plan.convergence_rate, plan.convergence_seconds
    profiles = RESULTS / "profiles"
    with profiled(plan.profile, ctx.pids().get("customer"), seconds, profiles / "convergence-customer", ctx.profiles), \
            profiled(plan.profile, ctx.pids().get("sales"), seconds, profiles / "convergence-sales", ctx.profiles):
        ours, created, load = converge(ctx, ctx.url("customer"), rate, seconds)
    missing = created - len(ours)
    base, produced = _raw_latency(ctx, rate, seconds)
    if not ours or not base:
        raise RuntimeError(f"nothing to measure: {len(ours)} views seen, {len(base)} raw messages")
    held = load.rps >= 0.95 * rate
    scenario = f"write-to-view convergence at {rate:g} writes/s"
    o50, o99, b50, b99 = (percentile(ours, 50), percentile(ours, 99), percentile(base, 50), percentile(base, 99))
    report.add(Row(scenario, "p50 ms", _ms(o50), _ms(b50), ratio(b50, o50), "<= 50 ms", verdict(held and o50 <= 50),
                   key="convergence"))
    report.add(Row(scenario, "p99 ms", _ms(o99), _ms(b99), ratio(b99, o99), "<= 250 ms", verdict(held and o99 <= 250),
                   key="convergence"))
    report.add(Row(scenario, "writes/s held; views seen", f"{load.rps:,.0f}/s; {len(ours):,} of {created:,}",
                   f"{produced / seconds:,.0f}/s; {len(base):,} of {produced:,}", "—", f"{rate:g}/s, all",
                   verdict(held and missing == 0)))
    # The same at a rate the process holds: how fast a write shows when there is no backlog.
    ctx.settle()
    low_seconds = min(seconds, 10)
    calm, calm_created, calm_load = converge(ctx, ctx.url("customer"), SUSTAINABLE_RATE, low_seconds)
    calm_base, _ = _raw_latency(ctx, SUSTAINABLE_RATE, low_seconds)
    if calm and calm_base:
        report.add(Row(f"write-to-view convergence at {SUSTAINABLE_RATE} writes/s", "p50 / p99 ms",
                       f"{_ms(percentile(calm, 50))} / {_ms(percentile(calm, 99))} "
                       f"({calm_load.rps:,.0f}/s held; {len(calm):,} of {calm_created:,} seen)",
                       f"{_ms(percentile(calm_base, 50))} / {_ms(percentile(calm_base, 99))}",
                       ratio(percentile(calm_base, 50), percentile(calm, 50)), "— (no backlog)", INFO))
    report.detail(
        f"convergence: {describe(RATE_CONNECTIONS)} posting new customers at a fixed {rate:g}/s for {seconds:g} s "
        f"(then at {SUSTAINABLE_RATE}/s for {low_seconds:g} s); wrk's Lua notes each 201 with the wall clock; a "
        f"consumer (no group, from the end) notes when each customer's view first arrives on `{VIEW_TOPIC.name}` (the "
        f"view committed, then relayed). Baseline: a kafka-python producer (same `make_producer`) sending messages of "
        f"the view's size at the same rate to a 3-partition topic, the same kind of consumer noting produce-to-consume "
        f"latency. Both on this machine's clock."
    )


def _raw_latency(ctx: Context, rate: float, seconds: float) -> tuple[list[float], int]:
    topic = "bench.latency.v1"
    ctx.ensure_topic(topic)
    watcher = TopicWatcher(ctx.bootstrap, topic, stamp_header=True)
    watcher.start()
    watcher.ready.wait(30)
    body = (ctx.data().template.view_body if ctx.data().template else "x" * 1500).encode()  # type: ignore[union-attr]
    producer = make_producer(ctx.bootstrap, "bench-latency")
    producer.partitions_for(topic)
    produced, interval = 0, 1.0 / rate
    started = time.monotonic()
    next_at = started
    while time.monotonic() - started < seconds:
        now = time.monotonic()
        if now < next_at:
            time.sleep(next_at - now)
        producer.send(topic, key=str(uuid.uuid4()), value=body, headers=[("sent", f"{time.time():.6f}".encode())])
        produced += 1
        next_at += interval
    producer.flush(30)
    producer.close(10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(watcher.latencies) < produced:
        time.sleep(0.1)
    watcher.halt.set()
    watcher.join(10)
    return watcher.latencies, produced


# --- 6 + 7: features that have not landed yet -------------------------------------------------


def _has_command(name: str) -> bool:
    from crm.cli import build_parser

    parser = build_parser()
    for action in parser._subparsers._group_actions if parser._subparsers else []:  # noqa: SLF001
        if name in getattr(action, "choices", {}) or {}:
            return True
    return False


def bulk_import(ctx: Context, report: Report, plan: Plan) -> None:
    n = plan.import_rows
    scenario = f"bulk import, {_n(n)} customers"
    if not _has_command("import"):
        report.add(Row(scenario, "rows/s", NOT_YET, NOT_YET, "—", ">= 25% of COPY; >= 70,000 rows/s", NOT_YET))
        report.detail("bulk import: `crm import` does not exist yet; nothing was measured.")
        return
    source = ctx.root / "import.ndjson"
    ctx.log(f"  bulk import: {n:,} customers as NDJSON through `crm import`, then the same rows with COPY")
    with source.open("w") as f:
        for i in range(n):
            given, family = GIVEN[i % len(GIVEN)], FAMILY[(i // len(GIVEN)) % len(FAMILY)]
            f.write(json.dumps({
                "external_id": f"bench-{i}", "kind": "person", "given_name": given, "family_name": family,
                "emails": [{"address": f"import.{i}@example.com"}], "phones": [{"number": f"+4930{i:08d}"}],
                "country": "DE", "region": "Berlin",
            }, separators=(",", ":")) + "\n")
    ours_db = create_postgres_database(ctx.admin_url, "crm_bench_import")
    copy_db = create_postgres_database(ctx.admin_url, "crm_bench_copy")
    try:
        from shared.migrate import upgrade

        upgrade("customer", ours_db)
        upgrade("customer", copy_db)
        env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
        env.update({"CUSTOMER_DATABASE_URL": ours_db, "CRM_VAR_DIR": str(ctx.root)})
        started = time.perf_counter()
        profile = RESULTS / "profiles" / "import"
        done = subprocess.run(profiling(plan.profile, [str(Path(sys.executable).with_name("crm")), "import", str(source),
                                                       "--tenant", "benchimport"], profile, ctx.profiles),
                              env=env, capture_output=True, text=True, timeout=1200, check=False)
        seconds = time.perf_counter() - started
        if plan.profile:
            summarise_recorded(profile, ctx.profiles)
        summary = next((json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")), None)
        if done.returncode != 0 or summary is None or summary.get("created") != n:
            raise RuntimeError(f"crm import failed (exit {done.returncode}): {summary} {done.stderr[-400:]}")
        with psycopg.connect(psycopg_url(ours_db)) as conn:
            rows = bytearray()
            with conn.cursor() as cur, cur.copy("COPY (SELECT * FROM customers WHERE tenant_id = 'benchimport') "
                                                "TO STDOUT") as copy:
                for block in copy:
                    rows += block
        with psycopg.connect(psycopg_url(copy_db)) as conn:
            started = time.perf_counter()
            with conn.cursor() as cur, cur.copy("COPY customers FROM STDIN") as copy:
                for at in range(0, len(rows), 1 << 20):
                    copy.write(bytes(rows[at:at + (1 << 20)]))
            conn.commit()
            copy_seconds = time.perf_counter() - started
    finally:
        drop_postgres_database(ctx.admin_url, ours_db)
        drop_postgres_database(ctx.admin_url, copy_db)
        source.unlink(missing_ok=True)
    ours, base = n / seconds, n / copy_seconds
    ok = ours >= 0.25 * base and ours >= 70_000
    report.add(Row(scenario, "rows/s", f"{ours:,.0f}", f"{base:,.0f}", ratio(ours, base),
                   ">= 25% of COPY; >= 70,000 rows/s", verdict(ok), key="import"))
    report.detail(
        f"bulk import: {n:,} new persons as NDJSON, `crm import FILE --tenant benchimport` into a fresh migrated "
        f"customer database, {seconds:.1f} s wall including the command's start-up (validation, search keys and one "
        f"outbox event per customer included); baseline: the very `customers` rows it wrote, COPY'd into another "
        f"fresh migrated database (same indexes) from memory, {copy_seconds:.1f} s."
    )


def view_replay(ctx: Context, report: Report, plan: Plan) -> None:
    scenario = f"view rebuild from Kafka ({plan.replay_events // 1000}k events)"
    if not _has_command("replay"):
        report.add(Row(scenario, "events/s", NOT_YET, NOT_YET, "—", ">= 50% of baseline", NOT_YET))
        report.detail("view rebuild: `crm replay view` does not exist yet; nothing was measured.")
        return
    ctx.ensure_customers(plan.sizes[0])
    ctx.settle()
    # The live view consumer would chew through the synthetic events too and compete for the CPU.
    ctx.system.stop_process("customer-worker")
    n = plan.replay_events
    ctx.log(f"  replay: {n:,} customer events produced onto {CUSTOMER_TOPIC.name}, then `crm replay view` "
            f"into a fresh database, then a raw consumer reads the same topics")
    _produce_customer_events(ctx, n)
    url = create_postgres_database(ctx.admin_url, "crm_bench_replay")
    try:
        env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
        env.update({"KAFKA_BOOTSTRAP_SERVERS": ctx.bootstrap, "CUSTOMER_DATABASE_URL": url,
                    "CRM_VAR_DIR": str(ctx.root)})
        started = time.perf_counter()
        profile = RESULTS / "profiles" / "replay"
        done = subprocess.run(profiling(plan.profile, [str(Path(sys.executable).with_name("crm")), "replay", "view",
                                                       "--into", url], profile, ctx.profiles),
                              env=env, capture_output=True, text=True, timeout=900, check=False)
        wall = time.perf_counter() - started
        if plan.profile:
            summarise_recorded(profile, ctx.profiles)
    finally:
        drop_postgres_database(ctx.admin_url, url)
    match = re.search(r"replayed (\d+) records \((\d+) unreadable.*?in ([0-9.]+)s", done.stdout)
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"crm replay view failed (exit {done.returncode}): {(done.stderr or done.stdout)[-600:]}")
    records, skipped, seconds = int(match.group(1)), int(match.group(2)), float(match.group(3))
    ours = records / seconds
    consumed, raw_seconds = _raw_consume(ctx.bootstrap, DOMAIN_TOPICS)
    base = consumed / raw_seconds
    report.add(Row(scenario, "events/s", f"{ours:,.0f}", f"{base:,.0f}", ratio(ours, base), ">= 50% of baseline",
                   verdict(ours >= 0.5 * base), key="replay"))
    report.detail(
        f"view rebuild: {n:,} `crm.customer.created.v1` events (the template customer, new ids) produced onto "
        f"`{CUSTOMER_TOPIC.name}` beside what earlier scenarios wrote; `crm replay view --into` a fresh "
        f"PostgreSQL database applied {records:,} records ({skipped} skipped) in {seconds:.1f} s by its own clock "
        f"({wall:.1f} s wall with start-up and migrations), with the live customer service stopped. Baseline: a "
        f"kafka-python consumer (no group) reading the same {consumed:,} records of every domain topic from offset "
        f"zero to the end, in {raw_seconds:.1f} s."
    )


def _produce_customer_events(ctx: Context, n: int) -> None:
    loader = ctx.data()
    assert loader.template is not None
    with psycopg.connect(psycopg_url(ctx.system.database_urls["customer"])) as conn:
        template = conn.execute("SELECT row_to_json(c) FROM customers c WHERE id = %s",
                                (loader.template.customer_id,)).fetchone()[0]
    now = datetime.now(timezone.utc)
    producer = make_producer(ctx.bootstrap, "bench-replay-seed")
    for i in range(n):
        cid = derived_uuid(7, i)
        customer = dict(template, id=cid, family_name=f"Replay {i}", display_name=f"Benchgiven Replay {i}")
        event = CloudEvent(id=derived_uuid(8, i), source="/crm/customer", type="crm.customer.created.v1", subject=cid,
                           time=now, data={"customer": customer}, tenant=TENANT, sequence=10_000_000 + i)
        producer.send(CUSTOMER_TOPIC.name, key=cid, value=event.to_bytes(),
                      headers=[("ce_type", event.type.encode()), ("ce_tenant", TENANT.encode())])
    producer.flush(120)
    producer.close(10)


def _raw_consume(bootstrap: str, topics: list[str]) -> tuple[int, float]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, max_poll_records=500)
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        count, started = 0, time.perf_counter()
        while any(consumer.position(p) < end[p] for p in partitions):
            for tp, batch in consumer.poll(timeout_ms=1000).items():
                count += sum(1 for r in batch if r.offset < end[tp])
        return count, time.perf_counter() - started
    finally:
        consumer.close()


# --- the sales forecast (bench/forecast.py) ---------------------------------------------------

FORECAST_REQUESTS = {"full": 200, "quick": 60}


def sales_forecast(ctx: Context, report: Report, plan: Plan) -> None:
    forecast.sales_forecast(ctx, report, FORECAST_REQUESTS[plan.mode])


def sales_receivables(ctx: Context, report: Report, plan: Plan) -> None:
    receivables.receivables(ctx, report, FORECAST_REQUESTS[plan.mode] // 4)


def campaign_audience(ctx: Context, report: Report, plan: Plan) -> None:
    audience.audience(ctx, report, FORECAST_REQUESTS[plan.mode])


def campaign_send(ctx: Context, report: Report, plan: Plan) -> None:
    send.send(ctx.admin_url, report, 1000 if plan.mode == "quick" else 5000)


def sales_order_flow(ctx: Context, report: Report, plan: Plan) -> None:
    order_flow.order_flow(ctx, report, plan.write_seconds, plan.profile)


def desk_inbound_email(ctx: Context, report: Report, plan: Plan) -> None:
    inbound_email.inbound_email(ctx.admin_url, report, 500 if plan.mode == "quick" else 2000)


# --- 8: memory --------------------------------------------------------------------------------


def memory(ctx: Context, report: Report, plan: Plan) -> None:
    loaded = getattr(ctx, "loaded_rss", None)
    how = "during the saturated view-read run above"
    if not loaded:
        size = plan.sizes[0]
        ctx.ensure_customers(size)
        sampler = RssSampler(ctx.rss)
        sampler.start()
        run_wrk(ctx.url("customer") + "/v1/customers/{id}/view", "read", seconds=plan.memory_seconds,
                connections=plan.connections, env=_read_env(ctx, size))
        loaded = sampler.stop()
        how = f"during {plan.memory_seconds:g} s of saturated view reads over {_n(size)} customers"
    for name, idle in ctx.idle_rss.items():
        peak = loaded.get(name, 0.0)
        ok = idle <= 150 and peak <= 300
        report.add(Row("memory (RSS)", f"{name}: idle / under read load, MB", f"{idle:.0f} / {peak:.0f}", "—", "—",
                       "<= 150 / <= 300", verdict(ok), key="memory"))
    report.detail(f"memory: VmRSS of each uvicorn process, idle = right after start-up, loaded = peak sampled every "
                  f"0.25 s {how} (only the customer service serves reads; the others idle with their consumers).")


SCENARIOS = {
    "view-read": view_read,
    "customer-create": customer_create,
    "relay": relay,
    "convergence": convergence,
    "write-cost": write_cost,
    "import": bulk_import,
    "search": customer_search,
    "sales-forecast": sales_forecast,
    "lead-intake": leads.lead_intake,
    "order-flow": sales_order_flow,
    "receivables": sales_receivables,
    "audience": campaign_audience,
    "send": campaign_send,
    "inbound-email": desk_inbound_email,
    "sla-clock": sla_clock.sla_clock,
    "memory": memory,
    # Last: it stops the customer service so that the live view consumer leaves the CPU to the rebuild.
    "replay": view_replay,
}
