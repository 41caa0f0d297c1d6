"""``crm bench``: start the system, run the chosen scenarios, print the table, write ``results/latest.md``."""

from __future__ import annotations

import os
import shutil
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from bench.context import BenchError, Context
from bench.loadgen import wrk_path, wrk_version
from bench.notes import NOTES
from bench.report import FAILED, MISS, Report, Row, machine_details
from bench.scenarios import FULL, QUICK, RESULTS, SCENARIOS
from crm.localkafka import DEFAULT_VERSION

__all__ = ["BenchError", "SCENARIOS", "run_bench"]


def run_bench(names: Sequence[str], *, quick: bool, out: Path | None = None, profile: bool = False) -> int:
    chosen = _chosen(names)
    plan = QUICK if quick else FULL
    if profile:
        from dataclasses import replace

        plan = replace(plan, profile=True)
    _preflight()
    report = Report(mode=plan.mode + (" (profiled)" if profile else ""))
    started = time.monotonic()
    ctx = Context(quick=quick, log=lambda text: print(text, flush=True))
    extra: list[str] = []
    try:
        ctx.start()
        extra = _software(ctx)
        print(f"system ready after {time.monotonic() - started:.0f} s", flush=True)
        for name in chosen:
            print(f"{name}...", flush=True)
            scenario_started = time.monotonic()
            try:
                SCENARIOS[name](ctx, report, plan)
                print(f"  {name} took {time.monotonic() - scenario_started:.0f} s", flush=True)
            except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others
                ctx.failed = True
                (ctx.root / f"{name}.error.txt").write_text(traceback.format_exc())
                report.add(Row(name, "error", f"{type(exc).__name__}: {str(exc)[:160]}", "", "", "", FAILED))
                print(f"  {name} failed: {exc}", file=sys.stderr, flush=True)
    finally:
        ctx.close()
    elapsed = time.monotonic() - started
    # Other work on a shared machine skews absolute figures (ratios less so): say how busy it was.
    extra.append(f"load average at the end: {os.getloadavg()[0]:.2f} (1 min), {os.getloadavg()[1]:.2f} (5 min)")
    notes = _notes(report)
    if ctx.profiles:
        notes += ["### py-spy profiles of this run", "", *ctx.profiles, ""]
    target = out or RESULTS / "latest.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(report.markdown(machine_details(extra), notes, elapsed))
    print()
    print(report.terminal_table())
    print(f"\n{plan.mode} run took {elapsed:.0f} s; written to {target}")
    return 1 if any(r.verdict == FAILED for r in report.rows) else 0


def _chosen(names: Sequence[str]) -> list[str]:
    if not names or list(names) == ["all"]:
        return list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise BenchError(f"unknown scenario(s) {', '.join(unknown)}; choose from: all, {', '.join(SCENARIOS)}")
    return [n for n in SCENARIOS if n in names]  # always in the documented order


def _preflight() -> None:
    if wrk_path() is None:
        raise BenchError("wrk is not installed: `make bench` installs it (apt-get install wrk)")
    if not shutil.which("java"):
        raise BenchError("Java is needed for the local Kafka broker (apt-get install openjdk-17-jre-headless)")


def _software(ctx: Context) -> list[str]:
    import psycopg

    with psycopg.connect(ctx.admin_url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        settings = {k: conn.execute(f"SHOW {k}").fetchone()[0]
                    for k in ("shared_buffers", "synchronous_commit", "max_connections")}
    return [
        f"PostgreSQL {version} at 127.0.0.1 ({', '.join(f'{k}={v}' for k, v in settings.items())})",
        f"Kafka {DEFAULT_VERSION}, local single node (KRaft), started by the bench",
        f"load generator: {wrk_version()} (compiled; 1 thread pinned with taskset)",
        f"services: uvicorn, one process each, as `crm run` starts them; load average at start "
        f"{os.getloadavg()[0]:.2f}",
    ]


def _notes(report: Report) -> list[str]:
    keys = []
    for row in report.rows:
        if row.verdict.startswith(MISS) and row.key and row.key not in keys:
            keys.append(row.key)
    out = []
    for key in keys:
        out.append(NOTES.get(key, f"### {key}\n\nNo profile note written for this figure yet."))
        out.append("")
    return out
