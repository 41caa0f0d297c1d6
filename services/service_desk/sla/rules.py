"""The SLA rules, plain Python: valid calendars and policies, which policy a ticket gets, and a ticket's
targets (first response, next response, resolution) computed from its history on a business calendar.

The clock is never a counter: every due time is derived from the whole timeline each time, so a change of
priority, type or tier (a new policy) or a late history entry gives the same answer as a fresh start.

Business time: working hours per weekday in the calendar's own zone and whole-day holidays. Everything is
counted in the calendar's local wall time (a day's 09:00-17:00 is eight working hours, on the Sunday clocks
change too) and converted to UTC only at the end, through zoneinfo; an instant is turned into local wall
time once at the start. Local wall time is kept as (proleptic day ordinal, second of the day).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from shared.errors import Conflict, InvalidInput

# --- business time on a calendar ----------------------------------------------------------

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


# --- policies and targets -------------------------------------------------------------------

TARGETS = ("first_response", "next_response", "resolution")
# In pending_customer the ticket waits on the customer: no clock runs.
PAUSED_STATUSES = frozenset({"pending_customer"})
DONE_STATUSES = frozenset({"resolved", "closed"})
STOPPED_STATUSES = PAUSED_STATUSES | DONE_STATUSES
# Raising the priority on a breach: one step up, urgent stays urgent.
PRIORITY_STEPS = ("low", "normal", "high", "urgent")


# --- calendars and policies ------------------------------------------------------------------


def check_time_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput.on("time_zone", f"{name!r} is not an IANA time zone") from None
    if name not in _zones():
        raise InvalidInput.on("time_zone", f"{name!r} is not an IANA time zone")


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


def check_working_hours(working_hours: dict[str, list[dict[str, str]]]) -> None:
    """Each day's intervals: start before end, none overlapping; at least one working interval in the week."""
    total = 0
    for day, intervals in working_hours.items():
        spans = sorted((_seconds(i["start"]), _seconds(i["end"]), n) for n, i in enumerate(intervals))
        for start, end, n in spans:
            if end <= start:
                raise InvalidInput.on(f"working_hours.{day}[{n}]", "end must be after start")
            total += end - start
        for (_, end, _n), (start, _e, n) in zip(spans, spans[1:]):
            if start < end:
                raise InvalidInput.on(f"working_hours.{day}[{n}]", "overlaps another interval of the day")
    if total == 0:
        raise InvalidInput.on("working_hours", "at least one working interval is needed")


def check_targets(first_response: int | None, next_response: int | None, resolution: int | None) -> None:
    if first_response is None and next_response is None and resolution is None:
        raise InvalidInput.on("first_response_minutes",
                              "at least one of first_response_minutes, next_response_minutes, "
                              "resolution_minutes is needed")


def check_calendar_unused(policy_names: list[str]) -> None:
    if policy_names:
        raise Conflict(f"The calendar is used by the SLA policies {', '.join(sorted(policy_names))}: "
                       "point them at another calendar first.")


@dataclass(frozen=True)
class Match:
    """What a policy applies to; an empty tuple is any."""

    value_tiers: tuple[str, ...] = ()
    customer_groups: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    types: tuple[str, ...] = ()

    @classmethod
    def of(cls, stored: dict[str, Any]) -> Match:
        return cls(*(tuple(stored.get(name) or ()) for name in
                     ("value_tiers", "customer_groups", "priorities", "types")))

    def matches(self, *, value_tier: str | None, customer_group: str | None, priority: str, type: str) -> bool:
        return ((not self.value_tiers or value_tier in self.value_tiers)
                and (not self.customer_groups or customer_group in self.customer_groups)
                and (not self.priorities or priority in self.priorities)
                and (not self.types or type in self.types))


def segment_of(view: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """The customer's (value tier, group) from its replicated unified view: ``profile.value_tier`` and
    ``profile.customer_group`` (``classification.value_tier`` where a view carries it there)."""
    view = view or {}
    profile = view.get("profile") or {}
    classification = view.get("classification") or {}
    tier = profile.get("value_tier") or classification.get("value_tier")
    group = profile.get("customer_group") or classification.get("customer_group")
    return (str(tier) if tier else None), (str(group) if group else None)


def choose(policies: Iterable[tuple[Any, Match]], *, value_tier: str | None, customer_group: str | None,
           priority: str, type: str) -> Any | None:
    """The first matching policy, in the order given (lowest position first)."""
    for policy, match in policies:
        if match.matches(value_tier=value_tier, customer_group=customer_group, priority=priority, type=type):
            return policy
    return None


def raised(priority: str) -> str:
    """One step up; an unknown or the highest priority stays."""
    if priority in PRIORITY_STEPS[:-1]:
        return PRIORITY_STEPS[PRIORITY_STEPS.index(priority) + 1]
    return priority


# --- the timeline and its targets ------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A history entry as the clock reads it."""

    at: datetime
    action: str
    details: dict[str, Any]


@dataclass(frozen=True)
class Targets:
    """The business seconds each target allows (None: the policy has no such target), and the warning lead."""

    first_response: float | None
    next_response: float | None
    resolution: float | None
    warning: timedelta

    @classmethod
    def of_minutes(cls, first_response: int | None, next_response: int | None, resolution: int | None,
                   warning: int) -> Targets:
        return cls(*(m * 60.0 if m is not None else None for m in (first_response, next_response, resolution)),
                   warning=timedelta(minutes=warning))


@dataclass(frozen=True)
class Clock:
    """One target's clock: ``key`` names the target once (a next response per customer message it answers)."""

    target: str
    key: str
    due: datetime | None  # None: it never falls due (the calendar does not work that long) or is paused
    met_at: datetime | None
    running: bool  # False while paused, or met

    def warn_at(self, warning: timedelta) -> datetime | None:
        return self.due - warning if self.due is not None else None


@dataclass(frozen=True)
class Computed:
    clocks: tuple[Clock, ...]
    state: str
    paused: bool

    def due(self, target: str) -> datetime | None:
        return next((c.due for c in self.clocks if c.target == target), None)


def _is_public(details: dict[str, Any], author_type: str) -> bool:
    return details.get("visibility") == "public" and details.get("author_type") == author_type


def _stops(entries: Sequence[Entry], statuses: frozenset[str]) -> list[tuple[datetime, datetime | None]]:
    """The spans the ticket spent in one of ``statuses`` (the last open-ended: None)."""
    spans: list[tuple[datetime, datetime | None]] = []
    status, since = "new", None
    for entry in entries:
        if entry.action != "changed" or "status" not in entry.details:
            continue
        new = entry.details["status"].get("new")
        if new in statuses and status not in statuses:
            since = entry.at
        elif new not in statuses and status in statuses and since is not None:
            spans.append((since, entry.at))
            since = None
        status = new
    if status in statuses and since is not None:
        spans.append((since, None))
    return spans


def _due(calendar: Calendar, start: datetime, budget: float,
         stops: list[tuple[datetime, datetime | None]], now: datetime) -> tuple[datetime | None, bool]:
    """When ``budget`` working seconds have run from ``start``, the clock standing still in ``stops``:
    (due, running). A clock stopped now shows the due time it would have if it started again now."""
    if not stops:
        return add(calendar, start, budget), True
    remaining, at = budget, start
    for begin, end in stops:
        if end is not None and end <= at:
            continue
        if begin > at:
            ran = between(calendar, at, begin)
            if ran >= remaining:
                return add(calendar, at, remaining), True
            remaining -= ran
        if end is None:
            return add(calendar, max(now, begin), remaining), False
        at = max(at, end)
    return add(calendar, at, remaining), True


def compute(calendar: Calendar, targets: Targets, entries: Sequence[Entry], *, created_at: datetime,
            status: str, now: datetime) -> Computed:
    """Each target's due time from the ticket's history, and the ticket's SLA state at ``now``.

    - first response: ``created_at`` + first response time, met by the first public agent reply;
    - next response: from the first public customer reply after the last public agent reply, met by the next
      public agent reply (only once the first response was given);
    - resolution: ``created_at`` + resolution time, met while resolved or closed; a reopen resumes it where it
      stood (time spent resolved does not count).
    No clock runs in pending_customer, and every due time moves by the time spent there. A resolved or closed
    ticket owes no response either.
    """
    stop_spans = _stops(entries, STOPPED_STATUSES)
    done_spans = _stops(entries, DONE_STATUSES) if stop_spans else []
    done = status in DONE_STATUSES
    first_agent: datetime | None = None
    last_agent: datetime | None = None
    waiting_since: datetime | None = None
    for entry in entries:
        if entry.action != "commented":
            continue
        if _is_public(entry.details, "agent"):
            first_agent = first_agent or entry.at
            last_agent, waiting_since = entry.at, None
        elif _is_public(entry.details, "customer") and last_agent is not None and waiting_since is None:
            waiting_since = entry.at
    clocks: list[Clock] = []
    if targets.first_response is not None:
        met = first_agent
        if met is None and done_spans:
            met = done_spans[0][0]  # resolved before anyone answered: nothing is owed any more
        due, running = _due(calendar, created_at, targets.first_response, stop_spans, now)
        clocks.append(Clock("first_response", "first_response", due, met, running and met is None))
    if targets.next_response is not None and waiting_since is not None:
        due, running = _due(calendar, waiting_since, targets.next_response, stop_spans, now)
        answered_by_resolving = done_spans[-1][0] if done and done_spans else None
        clocks.append(Clock("next_response", f"next_response@{waiting_since.isoformat()}", due,
                            answered_by_resolving, running and not done))
    if targets.resolution is not None:
        due, running = _due(calendar, created_at, targets.resolution, stop_spans, now)
        met_at = done_spans[-1][0] if done and done_spans else None
        clocks.append(Clock("resolution", "resolution", due, met_at, running and met_at is None))
    paused = status in PAUSED_STATUSES
    return Computed(tuple(clocks), _state(clocks, targets.warning, paused, now), paused)


def _state(clocks: Sequence[Clock], warning: timedelta, paused: bool, now: datetime) -> str:
    """breached if any target was (or is being) missed; else paused in pending_customer; else warning within
    the warning time of a due time; else ok."""
    for c in clocks:
        if c.due is not None and (c.due < c.met_at if c.met_at is not None else c.running and c.due <= now):
            return "breached"
    if paused:
        return "paused"
    if any(c.running and c.due is not None and now >= c.due - warning for c in clocks):
        return "warning"
    return "ok"


def next_check(clocks: Sequence[Clock], warning: timedelta, warned: set[str], breached: set[str]) -> datetime | None:
    """The earliest warning or breach still to report: what the job looks for."""
    times = []
    for c in clocks:
        if not c.running or c.due is None:
            continue
        if c.key not in breached:
            times.append(c.due)
        if c.key not in warned and c.key not in breached:
            times.append(c.due - warning)
    return min(times) if times else None


def next_check_stored(pending: Sequence[dict[str, Any]], warning: timedelta, warned: set[str],
                      breached: set[str]) -> datetime | None:
    """``next_check`` of the running targets as stored with a ticket (``{"target", "key", "due"}``)."""
    times = []
    for item in pending:
        if item["key"] in breached:
            continue
        due = datetime.fromisoformat(item["due"])
        times.append(due if item["key"] in warned else due - warning)
    return min(times) if times else None


@dataclass(frozen=True)
class Report:
    kind: str  # warning | breached
    target: str
    key: str
    due: datetime


def reports_due(pending: Sequence[dict[str, Any]], warned: set[str], breached: set[str], now: datetime,
                warning: timedelta) -> list[Report]:
    """What the job reports at ``now`` of the running targets stored with a ticket: a breach once per target,
    a warning once, and no warning for a target it reports breached at the same time."""
    out: list[Report] = []
    for item in pending:
        due = datetime.fromisoformat(item["due"])
        if now >= due and item["key"] not in breached:
            out.append(Report("breached", item["target"], item["key"], due))
        elif now >= due - warning and item["key"] not in warned and item["key"] not in breached:
            out.append(Report("warning", item["target"], item["key"], due))
    return out


def holidays_sorted(days: Iterable[date]) -> list[str]:
    return sorted({d.isoformat() for d in days})
