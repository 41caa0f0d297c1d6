"""CPU time of groups of processes over a window, read from ``/proc``: a system's processes with
their children, a Kafka broker, and the processes of a PostgreSQL cluster sorted by database.

``/proc/<pid>/stat`` gives a process's user and system time summed over all its threads,
those that ended included; a process that ends inside the window keeps the time it was last
seen with, so the window is sampled rather than only read at both ends. What ended children
did after their last sample, or without ever being sampled (a connection opened and closed
between two samples), is recovered for one parent, the PostgreSQL postmaster, from the time
of the children it reaped (its ``cutime``/``cstime``); elsewhere children's times are not used,
since a reaped child is already counted from its own samples.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# A process for good: pids are reused, (pid, start time) is not.
Identity = tuple[int, int]


@dataclass(frozen=True)
class Stat:
    pid: int
    ppid: int
    start: int  # clock ticks after boot
    ticks: int  # utime + stime
    reaped: int  # cutime + cstime: what its ended children used, once it has waited for them


def read_stat(pid: int) -> Stat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses; every field after its last ")" is fixed.
    fields = raw.rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state) of proc(5): ppid is 4, utime 14, stime 15, cutime 16, cstime 17, starttime 22.
    return Stat(pid=pid, ppid=int(fields[1]), start=int(fields[19]), ticks=int(fields[11]) + int(fields[12]),
                reaped=int(fields[13]) + int(fields[14]))


def all_stats() -> dict[int, Stat]:
    stats: dict[int, Stat] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = read_stat(int(entry))
            if stat is not None:
                stats[stat.pid] = stat
    return stats


def uptime_ticks() -> int:
    return int(float(Path("/proc/uptime").read_text().split()[0]) * CLOCK_TICKS)


def descendants(root: int, stats: dict[int, Stat]) -> list[int]:
    """``root`` and every process below it (a wrapper's JVM, a supervisor's children)."""
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            found.append(pid)
            todo.extend(children.get(pid, ()))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


# "postgres: 15/main: crm crm_test_customer_1a2b 127.0.0.1(49610) idle": user, database, client.
_CLIENT = re.compile(r"^(\S+\(\d+\)|\[local\])$")


def postgres_database(title: str) -> str | None:
    """The database a PostgreSQL backend's process title names, or None for the cluster's own processes."""
    words = title.split()
    for n, word in enumerate(words):
        if _CLIENT.match(word) and n >= 2:
            return words[n - 1]
    return None


class Grouping:
    """Which group each running process belongs to (processes nobody asked about are left out).

    ``roots`` maps a group to the pid of a process whose whole tree is that group (read again at
    every sample: a restarted process is followed). PostgreSQL's processes are the postmaster's
    children: a backend goes to the group its database maps to in ``databases`` (other databases
    to ``other_databases``), the postmaster and its helpers (WAL writer, checkpointer, background
    writer, autovacuum) to ``postgres_background``.
    """

    def __init__(self, roots: Callable[[], dict[str, int]], *, postmaster: int | None = None,
                 databases: Callable[[], dict[str, str]] = dict, postgres_background: str = "postgres background",
                 other_databases: str = "other databases", postgres_unseen: str = "postgres ended unseen") -> None:
        self.roots, self.postmaster, self.databases = roots, postmaster, databases
        self.postgres_background, self.other_databases = postgres_background, other_databases
        self.postgres_unseen = postgres_unseen
        self._databases_of: dict[Identity, str] = {}

    def __call__(self, stats: dict[int, Stat]) -> dict[Identity, str]:
        out: dict[Identity, str] = {}
        for group, root in self.roots().items():
            for pid in descendants(root, stats):
                out[(pid, stats[pid].start)] = group
        if self.postmaster is not None and self.postmaster in stats:
            databases = self.databases()
            out[(self.postmaster, stats[self.postmaster].start)] = self.postgres_background
            for stat in stats.values():
                if stat.ppid != self.postmaster:
                    continue
                identity = (stat.pid, stat.start)
                database = self._databases_of.get(identity) or postgres_database(cmdline(stat.pid))
                if database is None:
                    # The server's own processes, or a backend just forked and still under the
                    # postmaster's title (its database is read again at the next sample).
                    out[identity] = self.postgres_background
                else:
                    self._databases_of[identity] = database
                    out[identity] = databases.get(database, self.other_databases)
        return out


class CpuWindow(threading.Thread):
    """CPU seconds per group between ``start()`` and ``stop()``, sampled every ``interval`` seconds.

    ``opened_at`` and ``closed_at`` are the wall clock of the first and the last sample; ``ended``
    counts, per group, the processes that ended inside the window. With a ``grouping`` that knows
    a postmaster, the time its children used unseen (after their last sample, or between two
    samples altogether) is the group ``grouping.postgres_unseen``, whichever database they served.
    """

    def __init__(self, grouping: Grouping, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self._grouping, self._interval = grouping, interval
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._base: dict[Identity, int] = {}
        self._last: dict[Identity, int] = {}
        self._group: dict[Identity, str] = {}
        self._seen_in: dict[Identity, int] = {}
        self._parent: dict[Identity, int] = {}
        self._reaped: dict[str, int] = {}  # the postmaster's cutime + cstime at the first and the last sample
        self._samples = 0
        self._opened = 0
        self.ended: dict[str, int] = {}
        self.opened_at = self.closed_at = 0.0

    def start(self) -> None:
        self._opened = uptime_ticks()
        self.opened_at = time.time()
        self._sample(first=True)
        super().start()

    def run(self) -> None:
        while not self._halt.wait(self._interval):
            self._sample()

    def stop(self) -> dict[str, float]:
        self._halt.set()
        self.join(5)
        self.closed_at = time.time()
        self._sample(last=True)
        seconds: dict[str, float] = {}
        with self._lock:
            for identity, last in self._last.items():
                group = self._group[identity]
                seconds[group] = seconds.get(group, 0.0) + (last - self._base[identity]) / CLOCK_TICKS
                if self._seen_in[identity] < self._samples:
                    self.ended[group] = self.ended.get(group, 0) + 1
            postmaster = self._grouping.postmaster
            if len(self._reaped) == 2 and postmaster is not None:
                # What the children the postmaster reaped in the window used in all, less what their
                # samples saw (from their birth or from before the window: their base is in both).
                seen = sum(last for identity, last in self._last.items()
                           if self._parent[identity] == postmaster and self._seen_in[identity] < self._samples)
                unseen = self._reaped["last"] - self._reaped["first"] - seen
                seconds[self._grouping.postgres_unseen] = max(0, unseen) / CLOCK_TICKS
        return seconds

    def _sample(self, *, first: bool = False, last: bool = False) -> None:
        stats = all_stats()
        groups = self._grouping(stats)
        postmaster = stats.get(self._grouping.postmaster) if self._grouping.postmaster is not None else None
        with self._lock:
            self._samples += 1
            if postmaster is not None and (first or last):
                self._reaped["first" if first else "last"] = postmaster.reaped
            for identity, group in groups.items():
                ticks = stats[identity[0]].ticks
                if identity not in self._base:
                    # Started inside the window: all its time is the window's. Seen only now but older
                    # (it joined a group late): only what it does from here on.
                    self._base[identity] = ticks if first or identity[1] <= self._opened else 0
                self._group[identity] = group  # the latest: a new backend names its database a moment after its fork
                self._last[identity] = ticks
                self._seen_in[identity] = self._samples
                self._parent[identity] = stats[identity[0]].ppid
