"""The rules of profitability: the figures and margin of known amounts, conversion at each day's rate with a
missing rate kept unconverted, category depth, the dimensions and period refused with the field named, and the
channel an order takes."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from services.sales.orders.rules import channel_of
from services.sales.profitability import rules
from shared.errors import InvalidInput

LAPTOP, CABLE = uuid.uuid4(), uuid.uuid4()
COSTS = {LAPTOP: rules.Costing(sku="LAP-1", category="Hardware/Laptops", cost=Decimal("600"), cost_currency="EUR"),
         CABLE: rules.Costing(sku="CAB-1", category="Hardware/Cables", cost=None, cost_currency=None)}
DAY = date(2026, 3, 10)


def _sold(currency: str, day: date, product: uuid.UUID, quantity: str, gross: str, net: str,
          **key: str | None) -> rules.Sold:
    return rules.Sold(key=key, currency=currency, day=day, product_id=product, quantity=Decimal(quantity),
                      gross=Decimal(gross), net=Decimal(net))


def _report(group_by: tuple[rules.Dimension, ...], sold: list[rules.Sold], returned: list[rules.Returned] = [],
            corrected: list[rules.Corrected] = [], rates: dict[tuple[str, date], Decimal] | None = None,
            depth: int = 1) -> rules.Report:
    amounts, uncosted = rules.gather(group_by, depth, COSTS, sold, returned, corrected)
    return rules.report(group_by, "EUR", amounts, uncosted, lambda code, day: (rates or {}).get((code, day)))


def test_contribution_margin_is_net_revenue_less_returns_corrections_and_the_net_cost_of_goods() -> None:
    # 3 laptops at 1000 less 10 % (2700), one back for 900; a correction of 50; cost 3 x 600, one back.
    found = _report((), [_sold("EUR", DAY, LAPTOP, "3", "3000", "2700")],
                    [rules.Returned(key={}, currency="EUR", day=DAY, product_id=LAPTOP, quantity=Decimal(1),
                                    amount=Decimal(900))],
                    [rules.Corrected(key={}, currency="EUR", day=DAY, amount=Decimal(50))])
    f = found.total.converted
    assert (f.gross_revenue, f.discounts, f.net_revenue, f.returns, f.corrections, f.cost_of_goods,
            f.returned_cost) == (Decimal("3000.00"), Decimal("300.00"), Decimal("2700.00"), Decimal("900.00"),
                                 Decimal("50.00"), Decimal("1800.00"), Decimal("600.00"))
    assert f.contribution_margin == Decimal("2700") - 900 - 50 - (1800 - 600) == Decimal("550.00")
    assert f.margin_percent == Decimal("20.37")  # 550 / 2700
    assert rules.Figures().margin_percent is None


def test_each_day_is_converted_at_its_rate_and_a_missing_rate_is_listed_unconverted_never_guessed() -> None:
    later = date(2026, 3, 20)
    sold = [_sold("USD", DAY, LAPTOP, "1", "1250", "1250"), _sold("USD", later, LAPTOP, "1", "1250", "1250"),
            _sold("CHF", DAY, LAPTOP, "1", "950", "950")]
    found = _report((), sold, rates={("USD", DAY): Decimal("0.8"), ("USD", later): Decimal("0.75")})
    f = found.total.converted
    # 1250 at 0.80 and 1250 at 0.75; the laptop's euro cost needs no rate.
    assert (f.net_revenue, f.cost_of_goods) == (Decimal("1937.50"), Decimal("1800.00"))
    assert list(found.total.unconverted) == ["CHF"]
    assert found.total.unconverted["CHF"].net_revenue == Decimal("950")


def test_groups_by_category_at_the_depth_asked_and_name_what_has_no_cost_price() -> None:
    sold = [_sold("EUR", DAY, LAPTOP, "1", "1000", "1000", channel="web"),
            _sold("EUR", DAY, CABLE, "2", "10", "10", channel="direct")]
    top = _report(("category", "channel"), sold)
    assert [g.key for g in top.groups] == [("Hardware", "direct"), ("Hardware", "web")]
    cables = top.groups[0]
    assert (cables.uncosted, cables.converted.cost_of_goods, top.total.uncosted) == ({"CAB-1"}, 0, {"CAB-1"})
    deep = _report(("category",), sold, depth=2)
    assert [g.key for g in deep.groups] == [("Hardware/Cables",), ("Hardware/Laptops",)]
    assert rules.category_at("A/B/C", 2) == "A/B" and rules.category_at(None, 1) is None
    # Groups add up to the total exactly.
    assert sum((g.converted.net_revenue for g in deep.groups), Decimal(0)) == deep.total.converted.net_revenue


@pytest.mark.parametrize(("text", "field"), [("category,colour", "group_by"), ("owner,owner", "group_by")])
def test_an_unknown_or_repeated_dimension_is_refused_naming_group_by(text: str, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.parse_group_by(text)
    assert refused.value.errors[0]["field"] == field


def test_dimensions_keep_their_order_and_the_period_is_checked() -> None:
    assert rules.parse_group_by("owner, category") == ("owner", "category")
    assert rules.parse_group_by("") == ()
    for start, end in ((date(2026, 3, 2), date(2026, 3, 1)), (date(2020, 1, 1), date(2023, 1, 3))):
        with pytest.raises(InvalidInput) as refused:
            rules.check_period(start, end)
        assert refused.value.errors[0]["field"] == "to"
    rules.check_period(date(2020, 1, 1), date(2022, 12, 31))


def test_an_order_takes_the_channel_sent_else_its_leads_source_else_direct() -> None:
    assert channel_of("retail", "web") == "retail"
    assert (channel_of(None, "web"), channel_of(None, "referral"), channel_of(None, "import")) == (
        "web", "partner", "direct")
    assert channel_of(None, None) == "direct"
