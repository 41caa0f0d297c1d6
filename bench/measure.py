"""Small measuring helpers: percentiles, RSS sampling, and py-spy profiles of a running process."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


class RssSampler(threading.Thread):
    """Samples the resident set size of some processes every ``interval`` seconds, keeping the peak."""

    def __init__(self, read: Callable[[], dict[str, float]], interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self._read = read
        self._interval = interval
        self._halt = threading.Event()
        self.peak: dict[str, float] = {}

    def run(self) -> None:
        while not self._halt.is_set():
            for name, mb in self._read().items():
                self.peak[name] = max(self.peak.get(name, 0.0), mb)
            self._halt.wait(self._interval)

    def stop(self) -> dict[str, float]:
        self._halt.set()
        self.join(5)
        return self.peak


def py_spy() -> str | None:
    return shutil.which("py-spy") or (str(Path(sys.executable).with_name("py-spy"))
                                      if Path(sys.executable).with_name("py-spy").exists() else None)


@contextmanager
def profiled(enabled: bool, pid: int | None, seconds: float, out: Path, summary: list[str]) -> Iterator[None]:
    """With ``enabled``, record ``pid`` with py-spy while the block runs; append a top-frames summary."""
    tool = py_spy() if enabled and pid else None
    if tool is None:
        if enabled:
            summary.append(f"- {out.stem}: no profile (py-spy not installed: `.venv/bin/pip install py-spy`)")
        yield
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    raw = out.with_suffix(".txt")
    process = subprocess.Popen(
        [tool, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))), "--rate", "200",
         "--format", "raw", "--output", str(raw), "--nonblocking", "--gil"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        try:
            process.wait(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if raw.exists():
        summary.append(summarise(raw, out.stem))


def profiling(enabled: bool, command: list[str], out: Path, summary: list[str]) -> list[str]:
    """``command``, run under py-spy when ``enabled`` (for scenarios whose subject is a command of its own).

    Call ``summarise_recorded`` with the same ``out`` once the command has ended.
    """
    tool = py_spy() if enabled else None
    if tool is None:
        if enabled:
            summary.append(f"- {out.stem}: no profile (py-spy not installed: `.venv/bin/pip install py-spy`)")
        return command
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".txt").unlink(missing_ok=True)
    return [tool, "record", "--rate", "200", "--format", "raw", "--output", str(out.with_suffix(".txt")), "--gil",
            "--nonblocking", "--", *command]


def summarise_recorded(out: Path, summary: list[str]) -> None:
    raw = out.with_suffix(".txt")
    if raw.exists():
        summary.append(summarise(raw, out.stem))


def summarise(raw: Path, name: str, top: int = 12) -> str:
    """Where the samples were: per frame, the share of samples it is on the stack of (inclusive)."""
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_short(f) for f in stack.split(";")]
        leaf[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return f"- {name}: the profile is empty"
    interesting = [(f, c) for f, c in inclusive.most_common() if not _generic(f)][:top]
    body = "; ".join(f"{f} {c / total:.0%}" for f, c in interesting)
    own = "; ".join(f"{f} {c / total:.0%}" for f, c in leaf.most_common(top))
    return (f"- **{name}** ({total} samples of the thread holding the GIL). On the stack: {body}.\n"
            f"  Where the time itself goes (leaf frames): {own}.")


def _short(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"
    function, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{function} ({path})"


def _generic(frame: str) -> bool:
    return any(s in frame for s in ("threading.py", "<module>", "runpy.py", "concurrent/futures/thread.py",
                                    "asyncio/base_events.py", "asyncio/events.py", "uvicorn/main.py",
                                    "uvicorn/server.py", "click/"))
