"""Process-wide tuning, applied once a service or the gateway has started."""

from __future__ import annotations

import gc
import os
from pathlib import Path


def settle_heap() -> None:
    """Put what start-up built (modules, models, compiled statements) out of the cyclic collector's reach.

    A full collection otherwise walks all of it: about 50 ms per pause on a 2-core machine,
    which showed as single requests of about 100 ms among 15 ms ones. Objects frozen here are
    still freed by reference counting when they die; only cycles among them stay.
    """
    gc.collect()
    gc.freeze()


def seconds_since_process_start() -> float | None:
    """How long ago the kernel started this process (imports included), or None off Linux.

    Start-up targets are stated from the process's start, not from when our code first ran:
    on a small machine the imports alone take a good part of them.
    """
    try:
        # Field 22 of /proc/self/stat, counted after the command name (which may hold spaces).
        start_ticks = int(Path("/proc/self/stat").read_text().rpartition(")")[2].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
