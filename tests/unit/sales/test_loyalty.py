"""The rules of loyalty points without a database: which rule wins, whole points, oldest lots first, what
expires of a partly used lot, what a redemption is worth and its cap."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.sales.loyalty import rules
from shared.errors import Conflict

R = rules.EarningRule
RULES = (R(None, None, Decimal("1")), R("Hardware", None, Decimal("2")), R("Hardware/Laptops", None, Decimal("3")),
         R("Hardware", "gold", Decimal("4")), R(None, "gold", Decimal("5")))
TODAY = date(2026, 6, 15)


@pytest.mark.parametrize(("category", "tier", "wins"), [
    # The deepest category prefix wins over a named tier on a shallower one.
    ("Hardware/Laptops", "gold", "3"),
    ("Hardware/Laptops/Gaming", None, "3"),
    # Same depth: the rule naming the customer's tier wins.
    ("Hardware/Mice", "gold", "4"),
    ("Hardware/Mice", "silver", "2"),
    ("Hardware", None, "2"),
    # A prefix is a whole name: HardwareX is not under Hardware.
    ("HardwareX", None, "1"),
    ("Software", "gold", "5"),
    (None, None, "1"),
])
def test_the_most_specific_matching_rule_wins(category: str | None, tier: str | None, wins: str) -> None:
    found = rules.best_rule(RULES, category, tier)
    assert found is not None and found.points_per_unit == Decimal(wins)


def test_no_matching_rule_earns_nothing_with_the_reason() -> None:
    only = (R("Hardware", "gold", Decimal("2")),)
    assert rules.best_rule(only, "Hardware/Laptops", "silver") is None
    assert rules.best_rule(only, None, "gold") is None
    [line] = rules.earn_lines([rules.LineBase(0, "p", "Software", Decimal("100"))], only, "gold", rate=Decimal(1),
                              currency="EUR", policy_currency="EUR", rate_day=TODAY)
    assert (line.points, line.points_per_unit) == (0, None) and "no earning rule" in line.reason


def test_of_two_rules_naming_one_category_and_tier_the_first_listed_wins() -> None:
    tied = (R("A", "gold", Decimal(1)), R("B", None, Decimal(9)), R("A", "gold", Decimal(2)))
    assert rules.best_rule(tied, "A/x", "gold") is tied[0]
    assert rules.best_rule(tuple(reversed(tied)), "A/x", "gold") is tied[2]


@pytest.mark.parametrize(("base", "rate", "per_unit", "points"), [
    (Decimal("99.99"), Decimal(1), Decimal(1), 99),
    (Decimal("100.00"), Decimal(1), Decimal("1.5"), 150),
    # 33.33 USD at 0.8 EUR per USD is 26.664 EUR; 3 points per EUR: 79.992, rounded down.
    (Decimal("33.33"), Decimal("0.8"), Decimal(3), 79),
    (Decimal("0.99"), Decimal(1), Decimal(1), 0),
    (Decimal(0), Decimal(1), Decimal(5), 0),
])
def test_points_are_whole_and_rounded_down(base: Decimal, rate: Decimal, per_unit: Decimal, points: int) -> None:
    assert rules.points_for(base, rate, per_unit) == points


def test_a_line_without_a_rate_earns_nothing_and_says_so() -> None:
    [line] = rules.earn_lines([rules.LineBase(0, "p", "Hardware", Decimal("100"))], RULES, None, rate=None,
                              currency="USD", policy_currency="EUR", rate_day=date(2026, 3, 1))
    assert line.points == 0 and line.reason == "no exchange rate USD->EUR on 2026-03-01"


def test_line_bases_share_a_discount_pro_rata_and_leave_out_returns() -> None:
    lines = [{"product_id": "a", "line_total": "300.00"}, {"product_id": "b", "line_total": "100.00"}]
    # 50 of line 0 came back before invoicing; the invoice says 280 (350 less a 70 loyalty discount, so each
    # line earns on 0.8 of it); a credited return took 70 more off line 1 since.
    bases = rules.line_bases(lines, {"a": "Hardware", "b": None}, before_invoice=[Decimal(50), Decimal(0)],
                             credited=[Decimal(0), Decimal(70)], invoice_total=Decimal(280))
    assert [b.category for b in bases] == ["Hardware", None]
    assert [b.base for b in bases] == [Decimal(200), Decimal(24)]


def lot(name: str, remaining: int, expires_on: date) -> rules.Lot:
    return rules.Lot(name, remaining, expires_on)


def test_redemption_consumes_the_oldest_lots_first_and_never_an_expired_one() -> None:
    lots = [lot("expired", 40, date(2026, 6, 14)), lot("old", 30, date(2026, 12, 1)),
            lot("newer", 50, date(2026, 9, 1)), lot("used", 0, date(2027, 1, 1))]
    assert rules.balance_of(lots, TODAY) == 80
    assert rules.consume_oldest_first(lots, 45, TODAY) == [("old", 30), ("newer", 15)]
    assert rules.consume_oldest_first(lots, 30, TODAY) == [("old", 30)]
    with pytest.raises(Conflict) as refused:
        rules.consume_oldest_first(lots, 81, TODAY)
    assert refused.value.errors == [{"field": "points", "message": "at most 80"}]


def test_a_partly_used_lot_expires_what_it_still_holds_after_its_day() -> None:
    lots = [lot("partly used", 70, date(2026, 6, 14)), lot("on its last day", 20, TODAY),
            lot("used up", 0, date(2026, 1, 1))]
    assert rules.expiring(lots, TODAY) == [("partly used", 70)]
    # Usable through its day: the lot on its last day is in the balance and expires next.
    assert rules.balance_of(lots, TODAY) == 20 and rules.next_expiry(lots, TODAY) == (20, TODAY)
    assert rules.expiring(lots, date(2026, 6, 16)) == [("partly used", 70), ("on its last day", 20)]


def test_the_expiry_day_is_calendar_months_later_at_most_the_month_end() -> None:
    assert rules.expiry_day(date(2026, 1, 15), 12) == date(2027, 1, 15)
    assert rules.expiry_day(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert rules.expiry_day(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_a_redemption_is_converted_rounded_down_and_capped_at_the_order_total() -> None:
    # 250 points at 0.10 EUR, 1.1 USD per EUR: 27.50 USD.
    assert rules.redemption(250, Decimal("0.10"), Decimal("1.1"), "USD", Decimal("100.00")) == (250, Decimal("27.50"))
    # 0.013 EUR a point at 1.1: 0.0143 USD; 7 points are 0.1001 USD, rounded down to 0.10.
    assert rules.redemption(7, Decimal("0.013"), Decimal("1.1"), "USD", Decimal(100)) == (7, Decimal("0.10"))
    # 1000 points would be 110 USD on a 40 USD order: 40, and only the 364 points that cover it (363 are 39.93).
    assert rules.redemption(1000, Decimal("0.10"), Decimal("1.1"), "USD", Decimal("40.00")) == (364, Decimal("40.00"))
    # Yen have no minor units.
    assert rules.redemption(3, Decimal("0.5"), Decimal("160"), "JPY", Decimal(1000)) == (3, Decimal(240))
