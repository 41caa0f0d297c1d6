"""Classification rules: ordered group rules and value tiers (Pareto by default), tested without a database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from services.customer.domain import classification as rules
from shared.errors import InvalidInput

RULES = rules.check_rules([
    {"group": "government", "when": [{"field": "industry", "op": "eq", "value": "Government"}]},
    {"group": "large enterprise", "when": [{"field": "kind", "op": "eq", "value": "organization"},
                                           {"field": "employees", "op": "gte", "value": 1000}]},
    {"group": "sme", "when": [{"field": "kind", "op": "eq", "value": "organization"}]},
    {"group": "individual high-value", "when": [{"field": "lifetime_value", "op": "gte", "value": "10000"}]},
    {"group": "partner", "when": [{"field": "tags", "op": "contains", "value": "partner"}]},
    {"group": "campus", "when": [{"field": "custom.segment", "op": "in", "value": ["university", "school"]}]},
])


@pytest.mark.parametrize(("state", "group"), [
    ({"kind": "organization", "industry": "government", "employees": 50000}, "government"),
    ({"kind": "organization", "employees": 1000}, "large enterprise"),
    ({"kind": "organization", "employees": 999}, "sme"),
    ({"kind": "organization"}, "sme"),
    ({"kind": "person", "lifetime_value": {"amount": "12000.00", "currency": "EUR"}}, "individual high-value"),
    ({"kind": "person", "tags": ["partner"]}, "partner"),
    ({"kind": "person", "custom_fields": {"segment": "school"}}, "campus"),
    ({"kind": "person"}, "household"),
])
def test_first_matching_rule_names_the_group(state: dict, group: str) -> None:
    assert rules.group_of(state, RULES, "household") == group


def test_bad_rules_are_refused_with_their_place() -> None:
    with pytest.raises(InvalidInput) as raised:
        rules.check_rules([{"group": "x", "when": [{"field": "shoe_size", "op": "eq", "value": 1},
                                                  {"field": "employees", "op": "gte", "value": "many"}]}])
    assert {e["field"] for e in raised.value.errors or []} == {"rules.0.when.0.field", "rules.0.when.1.value"}


def test_tier_shares_must_add_up() -> None:
    with pytest.raises(InvalidInput):
        rules.check_tiers([{"tier": "A", "share": 0.5}, {"tier": "B", "share": 0.3}])
    assert rules.check_tiers(rules.DEFAULT_TIERS) == rules.DEFAULT_TIERS


def test_pareto_default_top_20_percent_are_tier_a() -> None:
    values = [(f"c{i:02d}", Decimal(100 - i)) for i in range(10)]  # c00 is the most valuable
    tiers, cutoffs = rules.assign_tiers(values, rules.DEFAULT_TIERS)
    assert [tiers[f"c{i:02d}"] for i in range(10)] == ["A"] * 2 + ["B"] * 3 + ["C"] * 5
    assert cutoffs == ["99", "96", None]


def test_equal_values_share_the_better_tier_and_no_value_is_never_a() -> None:
    values = [("a", Decimal(50)), ("b", Decimal(50)), ("c", Decimal(50)), ("d", Decimal(0)), ("e", Decimal(0))]
    tiers, _ = rules.assign_tiers(values, rules.DEFAULT_TIERS)
    assert tiers == {"a": "A", "b": "A", "c": "A", "d": "C", "e": "C"}
    nobody, cutoffs = rules.assign_tiers([("x", Decimal(0))], rules.DEFAULT_TIERS)
    assert nobody == {"x": "C"} and cutoffs == [None, None, None]


def test_a_single_customer_is_placed_with_the_last_cutoffs() -> None:
    cutoffs = ["99", "96", None]
    assert rules.tier_of(Decimal(120), rules.DEFAULT_TIERS, cutoffs) == "A"
    assert rules.tier_of(Decimal(97), rules.DEFAULT_TIERS, cutoffs) == "B"
    assert rules.tier_of(Decimal(1), rules.DEFAULT_TIERS, cutoffs) == "C"
    assert rules.tier_of(Decimal(0), rules.DEFAULT_TIERS, [None, None, None]) == "C"


def test_classify_combines_group_and_tier() -> None:
    settings = {"rules": RULES, "default_group": "household", "tiers": rules.DEFAULT_TIERS, "cutoffs": ["99", "96", None]}
    assert rules.classify({"kind": "organization", "employees": 5000,
                           "lifetime_value": {"amount": "150.00", "currency": "EUR"}}, settings) == {
        "customer_group": "large enterprise", "value_tier": "A"}
