"""Consent rules: per channel, a status with its source, time and the exact wording the customer saw.

Plain Python. Every change is kept as history (the proof of what was agreed, when
and how); the current state per channel is the latest record, ``unknown`` before any.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.errors import InvalidInput

CHANNELS = ("email", "sms", "phone")
STATUSES = ("opt_in", "opt_out", "unknown")
UNKNOWN = "unknown"
# Clocks of the systems that report consent differ a little; more than this is a mistake.
CLOCK_SKEW = timedelta(minutes=5)


def record(
    *, channel: str, status: str, source: str, wording: str | None, recorded_at: datetime | None, previous: str,
    recorded_by: str, now: datetime,
) -> dict[str, Any]:
    """A consent record, checked: an opt-in must say what the customer agreed to, and none is dated ahead."""
    if channel not in CHANNELS:
        raise InvalidInput.on("channel", f"one of {', '.join(CHANNELS)}")
    if status not in STATUSES:
        raise InvalidInput.on("status", f"one of {', '.join(STATUSES)}")
    if status == "opt_in" and not (wording and wording.strip()):
        raise InvalidInput.on("wording", "an opt-in needs the wording the customer was shown")
    when = recorded_at or now
    if when > now + CLOCK_SKEW:
        raise InvalidInput.on("recorded_at", "consent cannot be recorded in the future")
    return {"channel": channel, "status": status, "previous_status": previous, "source": source,
            "wording": wording, "recorded_at": when, "recorded_by": recorded_by}


def current(states: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every channel's current consent, ``unknown`` where nothing was ever recorded."""
    return {channel: states.get(channel) or {"status": UNKNOWN, "source": None, "wording": None,
                                              "recorded_at": None, "recorded_by": None}
            for channel in CHANNELS}
