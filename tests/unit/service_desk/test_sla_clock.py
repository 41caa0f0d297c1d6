"""The SLA clock on fixed timelines: business-time arithmetic on calendars (weekends, holidays, time zones,
daylight-saving changes) and targets from a ticket's history (pauses, reopen, replies). No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.service_desk.sla import rules
from shared.errors import InvalidInput

WEEKDAYS_9_TO_5 = {day: [{"start": "09:00", "end": "17:00"}] for day in ("mon", "tue", "wed", "thu", "fri")}
HOUR = 3600.0


def berlin(*holidays: str) -> rules.Calendar:
    return rules.Calendar.of("Europe/Berlin", WEEKDAYS_9_TO_5, list(holidays))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_business_time_skips_the_weekend_and_a_holiday() -> None:
    # Friday 2026-12-04 16:00 in Berlin (15:00 UTC): one hour left that day, then the weekend.
    friday_four_pm = utc(2026, 12, 4, 15)
    assert rules.add(berlin(), friday_four_pm, 2 * HOUR) == utc(2026, 12, 7, 9)  # Monday 10:00 CET
    # Monday a holiday: Tuesday 10:00.
    assert rules.add(berlin("2026-12-07"), friday_four_pm, 2 * HOUR) == utc(2026, 12, 8, 9)
    assert rules.between(berlin("2026-12-07"), friday_four_pm, utc(2026, 12, 8, 9)) == 2 * HOUR


def test_a_start_outside_working_hours_waits_for_the_next_working_minute() -> None:
    saturday = utc(2026, 12, 5, 12)
    assert rules.add(berlin(), saturday, 30 * 60) == utc(2026, 12, 7, 8, 30)  # Monday 09:30 CET


def test_long_durations_skip_whole_weeks_with_the_same_answer_as_walking() -> None:
    start = utc(2026, 12, 2, 10, 17)
    walked = start
    for _ in range(5):
        walked = rules.add(berlin(), walked, 40 * HOUR)  # a working week each
    assert rules.add(berlin(), start, 200 * HOUR) == walked
    assert rules.add(berlin("2026-12-24", "2026-12-25"), start, 200 * HOUR) == walked + timedelta(days=2)


@pytest.mark.parametrize(("start", "due"), [
    # Friday 2026-03-27 16:00 CET; Monday 10:00 after the spring change is CEST (UTC+2).
    (utc(2026, 3, 27, 15), utc(2026, 3, 30, 8)),
    # Friday 2026-10-23 16:00 CEST; Monday 10:00 after the autumn change is CET (UTC+1).
    (utc(2026, 10, 23, 14), utc(2026, 10, 26, 9)),
])
def test_daylight_saving_changes_keep_working_hours_in_local_wall_time(start: datetime, due: datetime) -> None:
    assert rules.add(berlin(), start, 2 * HOUR) == due


def test_a_working_day_spanning_the_change_counts_wall_hours() -> None:
    always = rules.Calendar.of("Europe/Berlin", {d: [{"start": "00:00", "end": "24:00"}] for d in rules.WEEKDAYS}, [])
    # Saturday 12:00 CET + 24 wall hours = Sunday 12:00 CEST: 23 real hours.
    assert rules.add(always, utc(2026, 3, 28, 11), 24 * HOUR) == utc(2026, 3, 29, 10)


def test_a_calendar_counts_in_its_own_time_zone() -> None:
    new_york = rules.Calendar.of("America/New_York", WEEKDAYS_9_TO_5, [])
    # 15:00 UTC is 10:00 in New York (EST): 7 hours left that day.
    assert rules.add(new_york, utc(2026, 12, 2, 15), 7 * HOUR) == utc(2026, 12, 2, 22)
    assert rules.add(berlin(), utc(2026, 12, 2, 15), 7 * HOUR) == utc(2026, 12, 3, 14)


def test_calendars_refuse_unknown_zones_and_overlapping_or_inverted_hours() -> None:
    with pytest.raises(InvalidInput):
        rules.check_time_zone("Mars/Olympus_Mons")
    rules.check_time_zone("Europe/Berlin")
    with pytest.raises(InvalidInput, match=r"working_hours.mon\[1\]"):
        rules.check_working_hours({"mon": [{"start": "09:00", "end": "13:00"}, {"start": "12:00", "end": "17:00"}]})
    with pytest.raises(InvalidInput, match="end must be after start"):
        rules.check_working_hours({"tue": [{"start": "17:00", "end": "09:00"}]})
    with pytest.raises(InvalidInput):
        rules.check_working_hours({})
    rules.check_working_hours({"mon": [{"start": "09:00", "end": "12:00"}, {"start": "12:00", "end": "17:00"}]})


# --- targets from a ticket's history ------------------------------------------------------------

MONDAY_9 = utc(2026, 11, 30, 8)  # Monday 09:00 CET
TARGETS = rules.Targets.of_minutes(60, 120, 8 * 60, 30)


def created() -> rules.Entry:
    return rules.Entry(MONDAY_9, "created", {})


def status(at: datetime, old: str, new: str) -> rules.Entry:
    return rules.Entry(at, "changed", {"status": {"old": old, "new": new}})


def comment(at: datetime, author_type: str, visibility: str = "public") -> rules.Entry:
    return rules.Entry(at, "commented", {"visibility": visibility, "author_type": author_type})


def compute(entries: list[rules.Entry], status_now: str, now: datetime, **kw: Any) -> rules.Computed:
    return rules.compute(berlin(), kw.get("targets", TARGETS), entries, created_at=MONDAY_9, status=status_now,
                         now=now)


def clock_of(computed: rules.Computed, target: str) -> rules.Clock:
    return next(c for c in computed.clocks if c.target == target)


def test_first_response_is_due_in_business_time_and_met_by_a_public_agent_reply() -> None:
    fresh = compute([created()], "new", MONDAY_9)
    assert clock_of(fresh, "first_response").due == MONDAY_9 + timedelta(hours=1)
    assert fresh.state == "ok"
    assert compute([created()], "new", MONDAY_9 + timedelta(minutes=40)).state == "warning"
    assert compute([created()], "new", MONDAY_9 + timedelta(minutes=61)).state == "breached"
    # An internal note is no response; a public agent reply is.
    noted = compute([created(), comment(MONDAY_9 + timedelta(minutes=10), "agent", "internal")], "open",
                    MONDAY_9 + timedelta(minutes=61))
    assert clock_of(noted, "first_response").running
    answered = compute([created(), comment(MONDAY_9 + timedelta(minutes=10), "agent")], "open",
                       MONDAY_9 + timedelta(minutes=61))
    assert clock_of(answered, "first_response").met_at == MONDAY_9 + timedelta(minutes=10)
    assert answered.state == "ok"
    assert rules.next_check(answered.clocks, TARGETS.warning, set(), set()) == \
        MONDAY_9 + timedelta(hours=8) - timedelta(minutes=30)  # the resolution's warning is what is left


def test_pending_customer_pauses_every_clock_and_moves_its_due_times() -> None:
    # Monday 10:00 to Tuesday 10:00 waiting on the customer: a working day paused.
    history = [created(), comment(MONDAY_9 + timedelta(minutes=30), "agent"),
               status(MONDAY_9 + timedelta(hours=1), "open", "pending_customer")]
    waiting = compute(history, "pending_customer", MONDAY_9 + timedelta(hours=5))
    assert waiting.state == "paused"
    assert not clock_of(waiting, "resolution").running
    assert rules.next_check(waiting.clocks, TARGETS.warning, set(), set()) is None
    back = compute(history + [status(MONDAY_9 + timedelta(days=1, hours=1), "pending_customer", "open")], "open",
                   MONDAY_9 + timedelta(days=1, hours=1))
    # 1 hour ran on Monday, 7 remain from Tuesday 10:00: Tuesday 17:00 CET.
    assert clock_of(back, "resolution").due == utc(2026, 12, 1, 16)


def test_a_reopen_resumes_the_resolution_clock_where_it_stood() -> None:
    history = [created(), comment(MONDAY_9 + timedelta(minutes=5), "agent"),
               status(MONDAY_9 + timedelta(hours=3), "open", "resolved")]
    resolved = compute(history, "resolved", MONDAY_9 + timedelta(days=1))
    assert clock_of(resolved, "resolution").met_at == MONDAY_9 + timedelta(hours=3)
    assert resolved.state == "ok"
    # Reopened Wednesday 09:00 CET: 3 hours were used, 5 remain: Wednesday 14:00 CET.
    reopened_at = utc(2026, 12, 2, 8)
    reopened = compute(history + [status(reopened_at, "resolved", "open")], "open", reopened_at)
    assert clock_of(reopened, "resolution").due == utc(2026, 12, 2, 13)
    assert clock_of(reopened, "resolution").running


def test_next_response_runs_from_the_first_unanswered_customer_reply_until_an_agent_answers() -> None:
    agent_at = MONDAY_9 + timedelta(minutes=5)
    asked = MONDAY_9 + timedelta(hours=2)
    history = [created(), comment(agent_at, "agent"), comment(asked, "customer"),
               comment(asked + timedelta(minutes=20), "customer")]
    waiting = compute(history, "open", asked + timedelta(minutes=30))
    nxt = clock_of(waiting, "next_response")
    assert nxt.due == asked + timedelta(hours=2) and nxt.running
    assert nxt.key == f"next_response@{asked.isoformat()}"
    answered = compute(history + [comment(asked + timedelta(hours=1), "agent")], "open", asked + timedelta(hours=3))
    assert [c.target for c in answered.clocks] == ["first_response", "resolution"]


def test_the_job_reports_each_target_once_and_a_breach_without_its_warning() -> None:
    due = MONDAY_9 + timedelta(hours=1)
    pending = [{"target": "first_response", "key": "first_response", "due": due.isoformat()}]
    warning = timedelta(minutes=30)
    assert rules.reports_due(pending, set(), set(), due - timedelta(minutes=31), warning) == []
    warned = rules.reports_due(pending, set(), set(), due - timedelta(minutes=10), warning)
    assert [r.kind for r in warned] == ["warning"]
    assert rules.reports_due(pending, {"first_response"}, set(), due - timedelta(minutes=5), warning) == []
    assert [r.kind for r in rules.reports_due(pending, set(), set(), due, warning)] == ["breached"]
    assert rules.reports_due(pending, set(), {"first_response"}, due + timedelta(hours=1), warning) == []
    assert rules.next_check_stored(pending, warning, {"first_response"}, set()) == due
    assert rules.next_check_stored(pending, warning, set(), {"first_response"}) is None


def test_the_first_matching_policy_wins_and_priority_rises_one_step() -> None:
    gold = rules.Match.of({"value_tiers": ["gold"]})
    urgent = rules.Match.of({"priorities": ["urgent"], "types": ["incident"]})
    anything = rules.Match.of({})
    policies = [("gold", gold), ("urgent", urgent), ("default", anything)]
    pick = lambda tier, priority: rules.choose(policies, value_tier=tier, customer_group=None,  # noqa: E731
                                               priority=priority, type="incident")
    assert pick("gold", "urgent") == "gold"
    assert pick("silver", "urgent") == "urgent"
    assert pick(None, "low") == "default"
    assert rules.segment_of({"profile": {"value_tier": "gold", "customer_group": "retail"}}) == ("gold", "retail")
    assert [rules.raised(p) for p in ("low", "normal", "high", "urgent")] == ["normal", "high", "urgent", "urgent"]
