"""``write-cost``: what one customer create costs the whole system, and how many a second it absorbs.

Through the gateway, as a client sees it: CPU milliseconds per write of every process (each
API, each worker, the gateway, the Kafka broker, PostgreSQL's backends and its own background
processes) at steady rates, beside the bare insert app at the same rates; the highest steady
rate at which each write still reaches its view on the view topic in time; and back-to-back
creates from one client.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import psycopg
from sqlalchemy.engine import make_url

from bench.context import Context
from bench.data import psycopg_url
from bench.loadgen import RATE_CONNECTIONS, LoadResult, describe, next_run, read_created, run_wrk
from bench.measure import percentile, profiled
from bench.proc import CpuWindow, Grouping, read_stat
from bench.report import INFO, Report, Row, ratio, verdict
from bench.viewtopic import converge
from services.customer.contract import VIEW_TOPIC

if TYPE_CHECKING:
    from bench.scenarios import Plan

KEY = "write-cost"
PROFILES = Path(__file__).resolve().parent / "results" / "profiles"
TOTAL_TARGET_MS, TOTAL_TARGET_RATE = 12.0, 50  # issue "Targets": total CPU per write at 50 writes/s
CONVERGED_P99_MS, HELD_SHARE, RATE_TARGET = 500.0, 0.95, 200
SEQUENTIAL_P50_MS = 15.0
SEQUENTIAL_WARMUP = 10
# Before the measured window the load runs this long, so the window opens on a system already in
# its steady state (pools filled, consumers fetching), and it goes on after the window closes, so
# that no write of the window is the last one.
WARMUP_SECONDS, TAIL_SECONDS = 2, 1

KAFKA, PG_BACKENDS, PG_BACKGROUND = "Kafka broker", "PostgreSQL backends", "PostgreSQL background"
PG_UNSEEN = "PostgreSQL ended backends, unsampled"
BARE, BARE_BACKENDS, OTHER_DATABASES = "bare app", "bare app's PostgreSQL backends", "other databases"


@dataclass(frozen=True)
class Window:
    """One paced load and the CPU each group of processes spent in the middle of it."""

    rate: float
    writes: int  # 201s answered inside the measured window
    seconds: float
    cpu: dict[str, float]  # CPU seconds per group
    load: LoadResult
    ended: dict[str, int] = field(default_factory=dict)  # per group, processes that ended inside the window
    caught_up: float | None = None  # seconds until outboxes and consumers were drained after the load

    @property
    def held(self) -> float:
        return self.writes / self.seconds if self.seconds else 0.0

    def ms(self, *groups: str) -> float:
        return 1000 * sum(self.cpu.get(g, 0.0) for g in groups) / self.writes if self.writes else math.nan


def write_cost(ctx: Context, report: Report, plan: Plan) -> None:
    report.detail(
        f"write cost: `POST /v1/customers` of a new person through the gateway (e-mail and phone unique to the run, "
        f"so no create finds possible duplicates), {describe(RATE_CONNECTIONS)}, paced by wrk's delay() hook at each "
        f"rate for {WARMUP_SECONDS + plan.cost_seconds + TAIL_SECONDS:g} s; CPU is read over the middle "
        f"{plan.cost_seconds:g} s ({WARMUP_SECONDS} s in, so the system is in its steady state at both ends) and "
        f"divided by the 201s answered inside that window. CPU of a process: utime + stime from `/proc/<pid>/stat` "
        f"(all its threads, ended ones included) of it and of every process below it (a wrapper's JVM), sampled "
        f"every 0.25 s so that a process ending inside the window keeps what it used. Processes: every one the "
        f"system runs ({', '.join(_ordered(ctx.system.processes))}), the Kafka broker, and the PostgreSQL server's "
        f"processes (the postmaster's children, new ones included): backends whose process title names one of the "
        f"system's databases, and the server's own processes (postmaster, WAL writer, checkpointer, background "
        f"writer, autovacuum); what backends that ended used after their last sample, or between two samples, is "
        f"the postmaster's reaped-children time (`cutime`+`cstime`) less what was sampled of them, whichever "
        f"database they served (its own row). Backends of other databases on the same server are not counted. "
        f"Idle work (relay polls, consumer fetches, broker housekeeping) is part of each write's cost, the more so "
        f"at a low rate. Baseline column: the bare insert app (`bench/baseline_app.py`, reached straight, no "
        f"gateway) measured the same way at the same rates: its process beside the customer API, its database's "
        f"backends, the server's own processes during its window, and its total. \"caught up\": how long after the "
        f"load the bench's own check (outboxes empty, no consumer lag; about a second per look) saw the system "
        f"drained. Highest converging rate: steps of {_rates(plan.converge_rates)} writes/s through the gateway "
        f"for {plan.converge_seconds:g} s each, every 201 timed to its customer's first view on `{VIEW_TOPIC.name}` "
        f"(a reader with no group, from the end of the topic); a step converges when p99 <= "
        f"{CONVERGED_P99_MS:g} ms and the rate held is within {1 - HELD_SHARE:.0%} of the rate offered; views "
        f"still missing {plan.converge_wait:g} s after the load count as later than any seen; stepping stops at the "
        f"first rate that does not converge. Sequential: one httpx client on one kept-alive connection, "
        f"{plan.sequential_creates} creates back to back after {SEQUENTIAL_WARMUP} unmeasured ones, through the "
        f"gateway; baseline: the same client straight to the bare app."
    )
    ctx.ensure_customers(plan.sizes[0])  # the bare app copies its row from the loaded template
    bare_url = ctx.baseline_url() + "/customers"
    gateway = ctx.url("gateway")
    grouping = _grouping(ctx)
    ctx.settle()
    _idle(ctx, report, plan.idle_seconds, grouping)
    for rate in plan.cost_rates:
        ctx.log(f"  write cost at {rate:g} writes/s through the gateway, then the bare app: "
                f"{plan.cost_seconds:g} s measured each")
        with ExitStack() as profiles:
            ours = _window(ctx, gateway + "/v1/customers", rate, plan.cost_seconds, grouping,
                           profile=profiles if plan.profile and rate == plan.cost_rates[-1] else None)
        started = time.monotonic()
        settled = ctx.settle()
        ours = replace(ours, caught_up=time.monotonic() - started if settled else None)
        bare = _window(ctx, bare_url, rate, plan.cost_seconds, grouping)
        _cost_rows(ctx, report, ours, bare)
    _converging_rate(ctx, report, plan, gateway)
    _sequential(ctx, report, plan, gateway, bare_url)


# --- CPU per write at steady rates -----------------------------------------------------------


def _grouping(ctx: Context) -> Grouping:
    def roots() -> dict[str, int]:
        found = {name: process.pid for name, process in ctx.system.processes.items() if process.poll() is None}
        if ctx.system.kafka.pid is not None:
            found[KAFKA] = ctx.system.kafka.pid
        if ctx.baseline_pid is not None:
            found[BARE] = ctx.baseline_pid
        return found

    def databases() -> dict[str, str]:
        ours = {make_url(url).database or "": PG_BACKENDS for url in ctx.system.database_urls.values()}
        if ctx.baseline_db:
            ours[make_url(ctx.baseline_db).database or ""] = BARE_BACKENDS
        return ours

    return Grouping(roots, postmaster=_postmaster(ctx), databases=databases, postgres_background=PG_BACKGROUND,
                    other_databases=OTHER_DATABASES, postgres_unseen=PG_UNSEEN)


def _idle(ctx: Context, report: Report, seconds: float, grouping: Grouping) -> None:
    """What the system spends with nothing to do (relay polls, consumer fetches and heartbeats, the broker's
    housekeeping): a fixed cost that a low rate divides among few writes."""
    ctx.log(f"  write cost: {seconds:g} s idle, nothing sent")
    window = CpuWindow(grouping)
    window.start()
    time.sleep(seconds)
    cpu = window.stop()
    span = window.closed_at - window.opened_at
    groups = [*_ordered(ctx.system.processes), KAFKA, PG_BACKENDS, PG_BACKGROUND, PG_UNSEEN]
    per_second = {g: 1000 * cpu.get(g, 0.0) / span for g in groups}
    report.add(Row("write cost, idle", "CPU ms per second, all processes", f"{sum(per_second.values()):.0f}",
                   f"{1000 * sum(cpu.get(g, 0.0) for g in (BARE, BARE_BACKENDS)) / span:.0f} (bare app)", "—", "—",
                   INFO))
    report.detail(f"write cost, idle: CPU ms per second over {span:.1f} s with nothing sent: "
                  + ", ".join(f"{g} {v:.0f}" for g, v in per_second.items()) + ".")


def _postmaster(ctx: Context) -> int | None:
    """The pid of the PostgreSQL server the system uses, if it runs on this machine (a backend's parent)."""
    with psycopg.connect(psycopg_url(ctx.admin_url)) as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    stat = read_stat(backend)
    try:
        name = Path(f"/proc/{stat.ppid}/comm").read_text().strip() if stat else ""
    except OSError:
        name = ""
    # Not ours to see when the server runs on another machine or in another pid namespace.
    return stat.ppid if stat and name == "postgres" else None


def _window(ctx: Context, url: str, rate: float, seconds: float, grouping: Grouping, *,
            profile: ExitStack | None = None) -> Window:
    record = ctx.root / f"cost-{uuid.uuid4().hex[:6]}"
    record.mkdir()
    window = CpuWindow(grouping)
    cpu: dict[str, float] = {}

    def measure() -> None:
        time.sleep(WARMUP_SECONDS)
        window.start()
        try:
            if profile is not None:
                _profile(ctx, profile, seconds)
            time.sleep(seconds)
        finally:
            cpu.update(window.stop())

    timer = threading.Thread(target=measure, daemon=True)
    timer.start()
    load = run_wrk(url, "write", seconds=WARMUP_SECONDS + seconds + TAIL_SECONDS, connections=RATE_CONNECTIONS,
                   env={"BENCH_TOKEN": ctx.token, "BENCH_RECORD": str(record), "BENCH_RUN": str(next_run())},
                   rate=rate)
    timer.join(30)
    if not load.ok:
        raise RuntimeError(f"write cost at {rate:g}/s on {url}: {load.errors} of {load.requests} requests failed")
    if not cpu:
        raise RuntimeError(f"write cost at {rate:g}/s: the CPU window did not close")
    writes = sum(1 for at in read_created(record).values() if window.opened_at <= at <= window.closed_at)
    return Window(rate=rate, writes=writes, seconds=window.closed_at - window.opened_at, cpu=cpu, load=load,
                  ended=dict(window.ended))


def _profile(ctx: Context, stack: ExitStack, seconds: float) -> None:
    for name, process in ctx.system.processes.items():
        stack.enter_context(profiled(True, process.pid, seconds, PROFILES / f"write-cost-{name}",
                                     ctx.profiles))


def _cost_rows(ctx: Context, report: Report, ours: Window, bare: Window) -> None:
    scenario = f"write cost at {ours.rate:g} writes/s"
    caught = "not drained in 180 s" if ours.caught_up is None else f"caught up {ours.caught_up:.1f} s after"
    report.add(Row(scenario, "writes/s held; p50 / p99 ms",
                   f"{ours.held:.1f}/s; {_ms(ours.load.p50_ms)} / {_ms(ours.load.p99_ms)}; {caught}",
                   f"{bare.held:.1f}/s; {_ms(bare.load.p50_ms)} / {_ms(bare.load.p99_ms)}", "—", "—", INFO))
    processes = _ordered(ctx.system.processes)
    for name in processes:
        baseline = f"{bare.ms(BARE):.1f} (bare app)" if name == "customer" else "—"
        report.add(Row(scenario, f"CPU ms per write: {name}", f"{ours.ms(name):.1f}", baseline, "—", "—", INFO))
    report.add(Row(scenario, f"CPU ms per write: {KAFKA}", f"{ours.ms(KAFKA):.1f}", "—", "—", "—", INFO))
    report.add(Row(scenario, f"CPU ms per write: {PG_BACKENDS}", f"{ours.ms(PG_BACKENDS):.1f}",
                   f"{bare.ms(BARE_BACKENDS):.1f}", "—", "—", INFO))
    report.add(Row(scenario, f"CPU ms per write: {PG_BACKGROUND}", f"{ours.ms(PG_BACKGROUND):.1f}",
                   f"{bare.ms(PG_BACKGROUND):.1f}", "—", "—", INFO))
    report.add(Row(scenario, f"CPU ms per write: {PG_UNSEEN}", f"{ours.ms(PG_UNSEEN):.1f}", f"{bare.ms(PG_UNSEEN):.1f}",
                   "—", "—", INFO))
    total = ours.ms(*processes, KAFKA, PG_BACKENDS, PG_BACKGROUND, PG_UNSEEN)
    bare_total = bare.ms(BARE, BARE_BACKENDS, PG_BACKGROUND, PG_UNSEEN)
    if ours.rate == TOTAL_TARGET_RATE:
        target, result = f"<= {TOTAL_TARGET_MS:g} ms", verdict(total <= TOTAL_TARGET_MS and ours.held >= HELD_SHARE
                                                                 * ours.rate)
    else:
        target, result = "—", INFO
    report.add(Row(scenario, "CPU ms per write: total", f"{total:.1f}", f"{bare_total:.1f}",
                   ratio(bare_total, total), target, result, key=KEY))
    notes = []
    others = ours.cpu.get(OTHER_DATABASES, 0.0) + bare.cpu.get(OTHER_DATABASES, 0.0)
    if others:
        notes.append(f"backends of other databases on the same PostgreSQL server used {others * 1000:.0f} ms of CPU "
                     f"during its two windows (not counted)")
    for who, window in (("ours", ours), ("bare app", bare)):
        ended = {g: n for g, n in window.ended.items() if g != OTHER_DATABASES}
        if ended:
            notes.append(f"in the {who} window, processes ended before its end "
                         f"({', '.join(f'{g}: {n}' for g, n in ended.items())})")
    if notes:
        report.detail(f"write cost at {ours.rate:g} writes/s: " + "; ".join(notes) + ".")


def _ordered(processes: dict[str, object]) -> list[str]:
    """Each service's API then its worker, in the services' order; the gateway and anything else after."""
    names = list(processes)

    def key(name: str) -> tuple[bool, int, bool]:
        base = name.removesuffix("-worker")
        first = min(names.index(n) for n in (base, f"{base}-worker") if n in names)
        return (name == "gateway", first, name != base)

    return sorted(names, key=key)


# --- the highest rate at which the view converges ----------------------------------------------


def _converging_rate(ctx: Context, report: Report, plan: Plan, gateway: str) -> None:
    scenario = "view convergence, creates through the gateway"
    best: float | None = None
    for n, rate in enumerate(plan.converge_rates):
        if n:
            ctx.settle()
        # Enough connections that the client never caps the rate while responses take up to 0.25 s.
        connections = max(RATE_CONNECTIONS, math.ceil(rate / 4))
        latencies, created, load = converge(ctx, gateway, rate, plan.converge_seconds, connections=connections,
                                            wait=plan.converge_wait)
        held = created / load.seconds if load.seconds else 0.0
        timed = latencies + [math.inf] * (created - len(latencies))
        p50, p99 = (percentile(timed, 50), percentile(timed, 99)) if timed else (math.inf, math.inf)
        ok = bool(timed) and load.ok and p99 <= CONVERGED_P99_MS and held >= HELD_SHARE * rate
        report.add(Row(scenario, f"{rate:g} writes/s for {plan.converge_seconds:g} s: p50 / p99 ms",
                       f"{_late(p50, plan)} / {_late(p99, plan)} (held {held:.0f}/s; {len(latencies):,} of "
                       f"{created:,} views seen)", "—", "—", f"p99 <= {CONVERGED_P99_MS:g} ms, held",
                       "converges" if ok else "does not"))
        if not ok:
            break
        best = rate
    ctx.settle()
    report.add(Row(scenario, f"highest rate converging (p99 <= {CONVERGED_P99_MS:g} ms)",
                   f"{best:g}/s" if best else f"none (below {plan.converge_rates[0]:g}/s)", "—", "—",
                   f">= {RATE_TARGET} writes/s", verdict(best is not None and best >= RATE_TARGET), key=KEY))


def _late(value: float, plan: Plan) -> str:
    return f"> {plan.converge_wait * 1000:,.0f}" if math.isinf(value) else _ms(value)


# --- back to back ---------------------------------------------------------------------------------


def _sequential(ctx: Context, report: Report, plan: Plan, gateway: str, bare_url: str) -> None:
    n = plan.sequential_creates
    ctx.log(f"  sequential creates: {n} back to back through the gateway, then straight to the bare app")
    ours, ours_seconds = _back_to_back(gateway, "/v1/customers", ctx.token, n)
    ctx.settle()
    base_url, _, path = bare_url.rpartition("/")
    bare, bare_seconds = _back_to_back(base_url, "/" + path, ctx.token, n)
    o50, o99, b50, b99 = percentile(ours, 50), percentile(ours, 99), percentile(bare, 50), percentile(bare, 99)
    report.add(Row(f"sequential creates, back to back ({n})", "p50 / p99 ms; creates/s",
                   f"{_ms(o50)} / {_ms(o99)}; {n / ours_seconds:.0f}/s", f"{_ms(b50)} / {_ms(b99)}; "
                   f"{n / bare_seconds:.0f}/s", ratio(b50, o50), f"p50 <= {SEQUENTIAL_P50_MS:g} ms",
                   verdict(o50 <= SEQUENTIAL_P50_MS), key=KEY))


def _back_to_back(base_url: str, path: str, token: str, n: int) -> tuple[list[float], float]:
    """Milliseconds of each of ``n`` creates sent one after the other; the seconds they took in all."""
    run = next_run()
    latencies: list[float] = []
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        started = 0.0
        for i in range(-SEQUENTIAL_WARMUP, n):
            if i == 0:
                started = time.perf_counter()
            tag = f"s{run}n{i + SEQUENTIAL_WARMUP}"
            body = {"kind": "person", "given_name": "Bench", "family_name": f"Sequential {tag}", "country": "DE",
                    "emails": [{"address": f"sequential.{tag}@example.com"}],
                    "phones": [{"number": f"+4931{run:02d}{i + SEQUENTIAL_WARMUP:07d}"}]}
            sent = time.perf_counter()
            response = client.post(path, json=body)
            elapsed = (time.perf_counter() - sent) * 1000
            if response.status_code != 201:
                raise RuntimeError(f"sequential create answered {response.status_code}: {response.text[:200]}")
            if i >= 0:
                latencies.append(elapsed)
        return latencies, time.perf_counter() - started


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def _rates(rates: tuple[float, ...]) -> str:
    return ", ".join(f"{r:g}" for r in rates)
