"""Business-time arithmetic on a calendar: working hours per weekday in the calendar's own zone, whole-day
holidays. Plain Python, no database.

Everything is counted in the calendar's local wall time (a day's 09:00-17:00 is eight working hours, on the
Sunday clocks change too) and converted to UTC only at the end, through zoneinfo; an instant is turned into
local wall time once at the start. Local wall time is kept as (proleptic day ordinal, second of the day).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

# A calendar whose next working second is further away than this is treated as never working again.
HORIZON_DAYS = 3660
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Calendar:
    """Working intervals per weekday (Monday 0), as (start, end) seconds of the day, sorted and disjoint;
    holidays as day ordinals."""

    zone: ZoneInfo
    hours: tuple[tuple[tuple[int, int], ...], ...]
    holidays: frozenset[int] = frozenset()
    # Working seconds of a whole week without holidays: lets long durations skip whole weeks.
    week_seconds: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "week_seconds", sum(e - s for day in self.hours for s, e in day))

    @classmethod
    def of(cls, time_zone: str, working_hours: dict[str, list[dict[str, str]]], holidays: list[str]) -> Calendar:
        """From the stored shape: ``{"mon": [{"start": "09:00", "end": "17:00"}]}`` and ISO dates."""
        hours = tuple(tuple(sorted((_seconds(i["start"]), _seconds(i["end"])) for i in working_hours.get(day, [])))
                      for day in WEEKDAYS)
        return cls(ZoneInfo(time_zone), hours, frozenset(date.fromisoformat(d).toordinal() for d in holidays))

    def intervals(self, ordinal: int) -> tuple[tuple[int, int], ...]:
        if ordinal in self.holidays:
            return ()
        # Ordinal 1 (0001-01-01) was a Monday.
        return self.hours[(ordinal - 1) % 7]


def _seconds(hhmm: str) -> int:
    """"09:30" -> 34200; "24:00" is the end of the day."""
    hours, minutes = hhmm.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def local(calendar: Calendar, at: datetime) -> tuple[int, int]:
    wall = at.astimezone(calendar.zone)
    return wall.toordinal(), wall.hour * 3600 + wall.minute * 60 + wall.second


def instant(calendar: Calendar, ordinal: int, second: float) -> datetime:
    """The UTC instant of a local wall time (a wall time skipped by a DST change maps forward, fold 0)."""
    # Adding to an aware datetime is wall-time arithmetic in Python: the offset is only looked up at the end.
    return (datetime.fromordinal(ordinal).replace(tzinfo=calendar.zone) + timedelta(seconds=second)).astimezone(UTC)


def add(calendar: Calendar, start: datetime, seconds: float) -> datetime | None:
    """The instant ``seconds`` of working time after ``start``; None if the calendar never works that long."""
    if seconds <= 0:
        return start
    ordinal, second = local(calendar, start)
    remaining = seconds
    horizon = ordinal + HORIZON_DAYS
    # Whole weeks without a holiday are skipped at once; the last week is walked day by day.
    week, hours, holidays = calendar.week_seconds, calendar.hours, calendar.holidays
    while ordinal < horizon:
        if week and remaining > week:
            # From a wall time to the same wall time a week later is exactly one week of working time,
            # unless a holiday falls in between (the first and the last day included).
            weeks = int((remaining - 1) // week)
            if weeks and not _holiday_within(calendar, ordinal, 7 * weeks + 1):
                ordinal += 7 * weeks
                remaining -= weeks * week
                continue
        if ordinal not in holidays:
            # Ordinal 1 (0001-01-01) was a Monday.
            for begin, end in hours[(ordinal - 1) % 7]:
                if end <= second:
                    continue
                begin = max(begin, second)
                available = end - begin
                if remaining <= available:
                    return instant(calendar, ordinal, begin + remaining)
                remaining -= available
        ordinal, second = ordinal + 1, 0
    return None


def _holiday_within(calendar: Calendar, ordinal: int, days: int) -> bool:
    if not calendar.holidays:
        return False
    if days < 64:
        return any(o in calendar.holidays for o in range(ordinal, ordinal + days))
    return any(ordinal <= o < ordinal + days for o in calendar.holidays)


def between(calendar: Calendar, start: datetime, end: datetime) -> int:
    """Working seconds from ``start`` to ``end`` (0 if end is not after start)."""
    if end <= start:
        return 0
    first, first_second = local(calendar, start)
    last, last_second = local(calendar, end)
    total = 0
    ordinal = first
    while ordinal <= last:
        low = first_second if ordinal == first else 0
        high = last_second if ordinal == last else 86400
        if high > low:
            for begin, finish in calendar.intervals(ordinal):
                overlap = min(finish, high) - max(begin, low)
                if overlap > 0:
                    total += overlap
        ordinal += 1
    return total
