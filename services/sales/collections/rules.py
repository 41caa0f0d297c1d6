"""The rules of dunning: a tenant's levels, which one an invoice has reached on a day, and its next step.
Plain Python.

**Levels** are ordered steps, each ``offset_days`` from the invoice's due date (negative: before
it) and an ``action``: ``reminder``, ``second_reminder``, ``call`` or ``hold_new_orders``.
Offsets rise strictly, so at most one level falls on a day. A tenant that set none dunns by
``DEFAULT_LEVELS``:

- 1 day past due: ``reminder``
- 14 days past due: ``second_reminder``
- 30 days past due: ``call``
- 45 days past due: ``hold_new_orders``

(no pre-due reminder by default: a tenant that wants one sets e.g. ``{-3, reminder}``). An empty
list switches dunning off.

**Reached** on a day: the highest level whose day (due date + offset) has come. An invoice
moves straight to it, so a job that did not run for a while (or an invoice already long past
due when issued) skips the levels in between instead of sending them all at once. A level is
compared by its offset, not its position, so a tenant that changes its levels keeps each
invoice where its offset says.

**Next step**: the first level after the reached one (by offset), and the day it falls due;
none past the last level.

**Overdue**: only a level after the due date (offset above 0) reports the invoice overdue; a
pre-due reminder (or one on the due day itself) is a step of its own, reached but not overdue.

**Holding orders**: an open invoice that reached a ``hold_new_orders`` level (or one after it)
holds the customer's new orders on confirmation until it is closed.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from shared.errors import BadRequest, InvalidInput

Action = Literal["reminder", "second_reminder", "call", "hold_new_orders"]
ACTIONS: tuple[str, ...] = ("reminder", "second_reminder", "call", "hold_new_orders")
HOLD = "hold_new_orders"
MAX_LEVELS = 10
MAX_OFFSET_DAYS = 365


@dataclass(frozen=True)
class Level:
    offset_days: int
    action: str


DEFAULT_LEVELS: tuple[Level, ...] = (Level(1, "reminder"), Level(14, "second_reminder"), Level(30, "call"),
                                     Level(45, HOLD))


@dataclass(frozen=True)
class Step:
    """A level with its position among the tenant's levels (from 1) and the day it falls due for an invoice."""

    position: int
    level: Level
    on: date


def check_levels(levels: Sequence[Level]) -> None:
    """Known actions, offsets within a year either side of the due date and strictly rising; a 422 names
    ``dunning_levels[i].field``."""
    if len(levels) > MAX_LEVELS:
        raise InvalidInput.on("dunning_levels", f"at most {MAX_LEVELS} levels")
    for index, level in enumerate(levels):
        if level.action not in ACTIONS:
            raise InvalidInput.on(f"dunning_levels[{index}].action",
                                  f"unknown action {level.action!r} (known: {', '.join(ACTIONS)})")
        if not -MAX_OFFSET_DAYS <= level.offset_days <= MAX_OFFSET_DAYS:
            raise InvalidInput.on(f"dunning_levels[{index}].offset_days",
                                  f"must be between {-MAX_OFFSET_DAYS} and {MAX_OFFSET_DAYS} days")
        if index and level.offset_days <= levels[index - 1].offset_days:
            raise InvalidInput.on(f"dunning_levels[{index}].offset_days",
                                  f"must be above the previous level's ({levels[index - 1].offset_days}): "
                                  "offsets rise strictly")


def day_of(level: Level, due_on: date) -> date:
    return due_on + timedelta(days=level.offset_days)


def reached(levels: Sequence[Level], due_on: date, today: date) -> Step | None:
    """The highest level whose day has come by ``today``; None before the first."""
    found: Step | None = None
    for position, level in enumerate(levels, start=1):
        if day_of(level, due_on) <= today:
            found = Step(position, level, day_of(level, due_on))
    return found


def advance(levels: Sequence[Level], due_on: date, today: date, reached_offset: int | None) -> Step | None:
    """The level to move the invoice to today, or None when it is where it should be (or further)."""
    step = reached(levels, due_on, today)
    if step is None or (reached_offset is not None and step.level.offset_days <= reached_offset):
        return None
    return step


def next_step(levels: Sequence[Level], due_on: date, reached_offset: int | None) -> Step | None:
    """The first level after the one reached (by offset), with its day; None past the last."""
    for position, level in enumerate(levels, start=1):
        if reached_offset is None or level.offset_days > reached_offset:
            return Step(position, level, day_of(level, due_on))
    return None


def days_past_due(due_on: date, as_of: date) -> int:
    """Negative before the due date, 0 on it."""
    return (as_of - due_on).days


def reports_overdue(level: Level) -> bool:
    return level.offset_days > 0


def holds_orders(levels: Sequence[Level], step: Step) -> bool:
    """Whether reaching ``step`` holds new orders: it, or a level before it, is a hold."""
    return any(level.action == HOLD and level.offset_days <= step.level.offset_days for level in levels)


def levels_of(documents: Sequence[dict[str, object]] | None) -> tuple[Level, ...]:
    """Levels as the sales policy stores them (``[{offset_days, action}]``); None: the defaults."""
    if documents is None:
        return DEFAULT_LEVELS
    return tuple(Level(int(str(d["offset_days"])), str(d["action"])) for d in documents)


def documents_of(levels: Sequence[Level]) -> list[dict[str, object]]:
    return [{"offset_days": level.offset_days, "action": level.action} for level in levels]


# --- the list's cursor -----------------------------------------------------------------------------------------
# The list runs oldest due first: a cursor carries the last row's due date with its id (keyset on both).


@dataclass(frozen=True)
class Cursor:
    due_on: date
    after_id: uuid.UUID


def encode_cursor(due_on: date, after_id: uuid.UUID) -> str:
    payload = {"after": str(after_id), "due_on": due_on.isoformat()}
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    try:
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return Cursor(date.fromisoformat(raw["due_on"]), uuid.UUID(raw["after"]))
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise BadRequest("The cursor is not one this service issued.") from exc
