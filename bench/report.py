"""The results table: our figure, the baseline from the same run, their ratio, the target, pass/miss.

Rows are only ever filled with numbers measured in the run that prints them; a
scenario whose feature has not landed prints ``not yet``, one that was not run in
this mode says so instead of showing an old number.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

PASS, MISS, INFO, NOT_YET, SKIPPED, FAILED = "pass", "miss", "—", "not yet", "not run", "error"


@dataclass
class Row:
    scenario: str
    metric: str
    ours: str = ""
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = INFO
    key: str = ""  # names the note explaining a miss (bench/notes.py)


@dataclass
class Report:
    mode: str
    rows: list[Row] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # how each scenario was measured
    started: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def detail(self, text: str) -> None:
        self.details.append(text)

    def table(self) -> str:
        header = ("scenario", "metric", "ours", "baseline (same run)", "ratio", "target", "result")
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for r in self.rows:
            lines.append("| " + " | ".join((r.scenario, r.metric, r.ours, r.baseline, r.ratio, r.target, r.verdict)) + " |")
        return "\n".join(lines)

    def terminal_table(self) -> str:
        header = ("scenario", "metric", "ours", "baseline", "ratio", "target", "result")
        cells = [header] + [(r.scenario, r.metric, r.ours, r.baseline, r.ratio, r.target, r.verdict) for r in self.rows]
        widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
        out = []
        for n, c in enumerate(cells):
            out.append("  ".join(v.ljust(w) for v, w in zip(c, widths)).rstrip())
            if n == 0:
                out.append("  ".join("-" * w for w in widths))
        return "\n".join(out)

    def markdown(self, machine: list[str], notes: list[str], elapsed: float) -> str:
        parts = [
            "# OneView CRM benchmark results",
            "",
            f"Mode: **{self.mode}**, started {self.started:%Y-%m-%d %H:%M:%S} UTC, took {elapsed:.0f} s. "
            "Every baseline was measured in this same run, on this same machine; ratios are ours / baseline "
            "(for latencies, baseline / ours, so higher is better everywhere).",
            "",
            "## Results",
            "",
            self.table(),
            "",
            "## Machine",
            "",
            *[f"- {m}" for m in machine],
            "",
            "## How each figure was measured",
            "",
            *[f"- {d}" for d in self.details],
            "",
        ]
        if notes:
            parts += ["## Figures below target: profile findings and limits", "", *notes, ""]
        return "\n".join(parts)


def ratio(ours: float, baseline: float) -> str:
    return f"{ours / baseline:.0%}" if baseline else "—"


def verdict(ok: bool) -> str:
    return PASS if ok else MISS


def machine_details(extra: list[str]) -> list[str]:
    cpu = _cpu_model()
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return [
        f"CPU: {cpu}, {os.cpu_count()} logical cores (this process may use {len(os.sched_getaffinity(0))})",
        f"memory: {mem_gib:.1f} GiB",
        f"OS: {platform.platform()}",
        f"Python: {sys.version.split()[0]} ({platform.python_implementation()})",
        f"git commit: {_git('rev-parse', '--short', 'HEAD')}{' (working tree has changes)' if _git('status', '--porcelain') else ''}",
        *extra,
    ]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _git(*args: str) -> str:
    repo = Path(__file__).resolve().parents[1]
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    return done.stdout.strip()
