"""Identifiers: time-ordered UUIDs (version 7, RFC 9562).

Time-ordered ids keep B-tree inserts local and make "order by id" mean
"order of creation", which is what cursor pagination walks.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass


@dataclass
class _Clock:
    """The last id's millisecond and 12-bit counter. Ids made in one millisecond would otherwise order by
    their random bits: RFC 9562's counter method (6.2, method 1) keeps them in the order they were made
    within a process. Process state, not configuration: the one exception to settings-only state."""

    millis: int = 0
    counter: int = 0
    lock: threading.Lock = threading.Lock()


_CLOCK = _Clock()


def _tick() -> tuple[int, int]:
    now = time.time_ns() // 1_000_000
    with _CLOCK.lock:
        if now > _CLOCK.millis:
            # A fresh millisecond starts the counter at a random point in its lower half, so it has room.
            _CLOCK.millis, _CLOCK.counter = now, int.from_bytes(os.urandom(2), "big") & 0x7FF
        elif _CLOCK.counter < 0xFFF:
            _CLOCK.counter += 1
        else:  # 4,096 ids in one millisecond: borrow the next one
            _CLOCK.millis, _CLOCK.counter = _CLOCK.millis + 1, 0
        return _CLOCK.millis, _CLOCK.counter


def new_id() -> uuid.UUID:
    """A fresh UUIDv7: 48 bits of Unix milliseconds, a version nibble, a 12-bit counter, then random bits."""
    millis, counter = _tick()
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62  # the RFC variant bits
    value |= rand_b
    return uuid.UUID(int=value)
