"""Rules of campaign responses: when a response may be said to have happened. Plain Python, tested directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.errors import InvalidInput

# Clocks disagree a little: a response stamped this far ahead of ours is still taken as now-ish.
CLOCK_SKEW = timedelta(minutes=5)


def occurred_at(given: datetime | None, now: datetime) -> datetime:
    """When the response happened, in UTC: the given time (not in the future), else now."""
    if given is None:
        return now
    try:
        moment = given.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00 lies before the first representable UTC time
        raise InvalidInput.on("occurred_at", "is out of range") from None
    if moment > now + CLOCK_SKEW:
        raise InvalidInput.on("occurred_at", "must not be in the future")
    return moment
