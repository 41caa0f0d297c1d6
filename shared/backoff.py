"""When a failed attempt is tried again: the doubling backoff every retried hand-over shares (mail, consent
withdrawals, campaign sends), each with its own first and longest wait."""

from __future__ import annotations

from datetime import datetime, timedelta

# Doubling stops growing here; the longest wait bounds it far earlier.
_MOST_DOUBLINGS = 30


def next_attempt(attempts: int, now: datetime, *, first: timedelta, longest: timedelta) -> datetime:
    """After ``attempts`` failed attempts: ``first``, then twice as long each time, at most ``longest``."""
    return now + min(first * 2 ** min(max(attempts - 1, 0), _MOST_DOUBLINGS), longest)
