"""Dunning rules on fixed dates: which level an invoice due on 2026-03-31 has reached on a day (before the first
level, exactly on an offset, between levels, past the last, a pre-due reminder), its next step, holding orders,
the overdue report, and the validation of a tenant's levels."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.sales.collections import rules
from services.sales.collections.rules import Level
from shared.errors import BadRequest, InvalidInput

DUE = date(2026, 3, 31)
LEVELS = (Level(-3, "reminder"), Level(7, "second_reminder"), Level(21, "call"), Level(35, "hold_new_orders"))


@pytest.mark.parametrize(("today", "expected"), [
    (date(2026, 3, 27), None),                      # 4 days before due: before the first (pre-due) level
    (date(2026, 3, 28), (1, -3, "reminder")),       # exactly 3 days before due
    (date(2026, 3, 31), (1, -3, "reminder")),       # on the due day
    (date(2026, 4, 6), (1, -3, "reminder")),        # 6 days past due: between levels
    (date(2026, 4, 7), (2, 7, "second_reminder")),  # exactly 7 days past due
    (date(2026, 4, 21), (3, 21, "call")),
    (date(2026, 5, 5), (4, 35, "hold_new_orders")),
    (date(2026, 12, 31), (4, 35, "hold_new_orders")),  # long past the last level
])
def test_the_level_reached_is_the_highest_whose_day_has_come(today: date,
                                                             expected: tuple[int, int, str] | None) -> None:
    step = rules.reached(LEVELS, DUE, today)
    assert (None if step is None else (step.position, step.level.offset_days, step.level.action)) == expected


def test_an_invoice_moves_straight_to_the_highest_level_due_and_only_forward() -> None:
    # Never dunned, 25 days past due: straight to the call, the second reminder skipped.
    step = rules.advance(LEVELS, DUE, date(2026, 4, 25), None)
    assert step is not None and (step.position, step.level.action, step.on) == (3, "call", date(2026, 4, 21))
    # At the call already: nothing to do the same day or the next; the hold on its day.
    assert rules.advance(LEVELS, DUE, date(2026, 4, 25), 21) is None
    assert rules.advance(LEVELS, DUE, date(2026, 5, 4), 21) is None
    held = rules.advance(LEVELS, DUE, date(2026, 5, 5), 21)
    assert held is not None and held.level.action == "hold_new_orders"
    # Past the last level there is nothing further.
    assert rules.advance(LEVELS, DUE, date(2027, 1, 1), 35) is None


@pytest.mark.parametrize(("reached_offset", "expected"), [
    (None, (1, "reminder", date(2026, 3, 28))),
    (-3, (2, "second_reminder", date(2026, 4, 7))),
    (7, (3, "call", date(2026, 4, 21))),
    (21, (4, "hold_new_orders", date(2026, 5, 5))),
    (35, None),
    # Reached under levels the tenant has since changed: the first level beyond that offset comes next.
    (10, (3, "call", date(2026, 4, 21))),
])
def test_the_next_step_is_the_first_level_beyond_the_one_reached(reached_offset: int | None,
                                                                 expected: tuple[int, str, date] | None) -> None:
    step = rules.next_step(LEVELS, DUE, reached_offset)
    assert (None if step is None else (step.position, step.level.action, step.on)) == expected


def test_days_past_due_and_which_levels_report_an_invoice_overdue() -> None:
    assert [rules.days_past_due(DUE, day) for day in (date(2026, 3, 28), DUE, date(2026, 4, 30))] == [-3, 0, 30]
    assert [rules.reports_overdue(level) for level in (Level(-3, "reminder"), Level(0, "reminder"),
                                                        Level(1, "reminder"))] == [False, False, True]


def test_a_hold_level_and_every_level_after_it_hold_new_orders() -> None:
    levels = (Level(1, "reminder"), Level(14, "hold_new_orders"), Level(30, "call"))
    steps = [rules.reached(levels, DUE, day) for day in (date(2026, 4, 1), date(2026, 4, 14), date(2026, 4, 30))]
    assert [rules.holds_orders(levels, step) for step in steps if step is not None] == [False, True, True]


def test_the_default_levels_apply_when_a_tenant_set_none_and_round_trip_as_stored() -> None:
    assert rules.levels_of(None) == rules.DEFAULT_LEVELS
    assert [(level.offset_days, level.action) for level in rules.DEFAULT_LEVELS] == [
        (1, "reminder"), (14, "second_reminder"), (30, "call"), (45, "hold_new_orders")]
    rules.check_levels(rules.DEFAULT_LEVELS)
    assert rules.levels_of(rules.documents_of(LEVELS)) == LEVELS
    assert rules.levels_of([]) == ()


@pytest.mark.parametrize(("levels", "field", "message"), [
    ((Level(1, "reminder"), Level(1, "call")), "dunning_levels[1].offset_days", "rise strictly"),
    ((Level(5, "reminder"), Level(14, "call"), Level(10, "hold_new_orders")), "dunning_levels[2].offset_days",
     "previous level's (14)"),
    ((Level(1, "reminder"), Level(7, "email")), "dunning_levels[1].action", "unknown action 'email'"),
    ((Level(-400, "reminder"),), "dunning_levels[0].offset_days", "between -365 and 365"),
    (tuple(Level(day, "reminder") for day in range(11)), "dunning_levels", "at most 10"),
])
def test_levels_are_refused_naming_the_level_and_field(levels: tuple[Level, ...], field: str, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.check_levels(levels)
    assert refused.value.errors[0]["field"] == field and message in refused.value.errors[0]["message"]


def test_the_cursor_carries_the_due_day_and_id_and_refuses_a_foreign_one() -> None:
    invoice = uuid.uuid4()
    assert rules.decode_cursor(rules.encode_cursor(DUE, invoice)) == rules.Cursor(DUE, invoice)
    with pytest.raises(BadRequest):
        rules.decode_cursor("bm90LWEtY3Vyc29y")
