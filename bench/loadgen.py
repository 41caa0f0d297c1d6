"""HTTP load from ``wrk`` (compiled, event-driven): the Python services are never starved by their load.

Each run is bounded by ``-d`` (duration) and stops by itself; traffic goes to 127.0.0.1
only. The Lua scripts in ``bench/lua`` are prepended with ``common.lua`` (clock, fixed
rate, JSON summary) and configured through ``BENCH_*`` environment variables.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LUA = Path(__file__).resolve().parent / "lua"
# One wrk thread is plenty for one Python process under test and leaves the rest of the
# machine's 2 cores to the system; it is pinned to the last core so its place is fixed.
WRK_THREADS = 1
# Enough connections that a fixed rate is held even when a response takes 30 ms.
RATE_CONNECTIONS = 32
# Every wrk run and sequential client of a bench run that creates customers gets its own number (see
# BENCH_RUN in lua/write.lua): one sequence for all scenarios, so no two runs repeat each other's keys.
_runs = itertools.count(1)


class LoadError(RuntimeError):
    pass


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    bytes: int
    errors: int
    timeouts: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def bytes_per_response(self) -> float:
        return self.bytes / self.requests if self.requests else 0.0

    @property
    def ok(self) -> bool:
        """A run counts only if (nearly) every request succeeded."""
        return self.requests > 0 and self.errors <= max(1, self.requests // 1000)


def wrk_path() -> str | None:
    return shutil.which("wrk")


def wrk_version() -> str:
    path = wrk_path()
    if path is None:
        return "not installed"
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0] if first else "wrk"


def next_run() -> int:
    """A BENCH_RUN number no other run of this bench has used."""
    return next(_runs)


def describe(connections: int) -> str:
    return f"wrk, {WRK_THREADS} thread, {connections} connections, pinned to CPU {_last_cpu()}"


def run_wrk(
    url: str,
    script: str,
    *,
    seconds: float,
    connections: int,
    env: dict[str, str],
    rate: float = 0.0,
    timeout_s: float = 5.0,
) -> LoadResult:
    """Run one bounded wrk load against ``url`` with ``bench/lua/<script>.lua``; exact figures back."""
    path = wrk_path()
    if path is None:
        raise LoadError("wrk is not installed (`make bench` installs it: apt-get install wrk)")
    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        raise LoadError(f"refusing to load {url}: benchmarks only send traffic to 127.0.0.1")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write((LUA / "common.lua").read_text() + "\n" + (LUA / f"{script}.lua").read_text())
    try:
        run_env = dict(os.environ)
        run_env.update(env)
        run_env.update({"BENCH_THREADS": str(WRK_THREADS), "BENCH_RATE": str(rate), "BENCH_PATH": parts.path or "/"})
        command = [
            "taskset", "-c", str(_last_cpu()),
            path, "-t", str(WRK_THREADS), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
            "--timeout", f"{timeout_s:g}s", "-s", lua.name, f"{parts.scheme}://{parts.netloc}",
        ]
        if shutil.which("taskset") is None:
            command = command[3:]
        done = subprocess.run(command, env=run_env, capture_output=True, text=True, timeout=seconds + 60, check=False)
    finally:
        os.unlink(lua.name)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise LoadError(f"wrk failed (exit {done.returncode}): {(done.stderr or done.stdout).strip()[-800:]}")
    raw = json.loads(line.removeprefix("BENCH_JSON "))
    errors = sum(raw[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"))
    return LoadResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        bytes=raw["bytes"],
        errors=errors,
        timeouts=raw["timeouts"],
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
    )


def read_created(record: Path) -> dict[str, float]:
    """What ``write.lua`` noted under ``BENCH_RECORD``: each created customer's id and the wall clock of its 201."""
    created: dict[str, float] = {}
    for path in record.glob("created-*.txt"):
        for line in path.read_text().splitlines():
            cid, _, at = line.partition(" ")
            if at:
                created[cid] = float(at)
    return created


def _last_cpu() -> int:
    return max(os.sched_getaffinity(0))
