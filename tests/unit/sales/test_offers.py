"""The rules of cross-sell offers on a small known basket set: co-bought first, then popular, then by SKU; owned
and inactive products left out; the reason in words; a hash that changes with what a reader would show."""

from __future__ import annotations

import uuid

import pytest

from services.sales.offers import rules
from shared.errors import InvalidInput

DOCK, SUPPORT, CABLE, BAG, OLD, LAPTOP = (uuid.uuid4() for _ in range(6))
ITEMS = {DOCK: rules.Item(DOCK, "DOCK-1", "Dock"), SUPPORT: rules.Item(SUPPORT, "SUP-1", "Support"),
         CABLE: rules.Item(CABLE, "CAB-1", "Cable"), BAG: rules.Item(BAG, "BAG-1", "Bag"),
         OLD: rules.Item(OLD, "OLD-1", "Old", active=False), LAPTOP: rules.Item(LAPTOP, "LAP-1", "Laptop")}
GOLD = rules.Segment("retail", "gold")


def test_co_bought_products_rank_first_then_popular_ones_with_the_reason() -> None:
    # Five similar customers. Support: 3 bought it, 2 of them also a laptop (which C has). Dock: 4 bought it,
    # 1 with a laptop. Cable: 1, with a laptop. Bag: 2, none with a laptop; Old (inactive): 5; Laptop: owned.
    candidates = [rules.Counts(SUPPORT, 3, 2, (LAPTOP, 2)), rules.Counts(DOCK, 4, 1, (LAPTOP, 1)),
                  rules.Counts(CABLE, 1, 1, (LAPTOP, 1)), rules.Counts(BAG, 2), rules.Counts(OLD, 5, 3, (LAPTOP, 3)),
                  rules.Counts(LAPTOP, 5, 5)]
    ranked = rules.rank(candidates, ITEMS, {LAPTOP}, 5, GOLD, 10)
    assert [(o.item.sku, str(o.score)) for o in ranked] == [("SUP-1", "2.5000"), ("DOCK-1", "1.6667"),
                                                           ("CAB-1", "1.1667"), ("BAG-1", "0.3333")]
    assert ranked[0].reason == ("bought by 3 of 5 similar customers (group retail, tier gold); "
                                "2 of them also bought Laptop (LAP-1)")
    assert ranked[3].reason == "bought by 2 of 5 similar customers (group retail, tier gold)"
    assert [o.item.sku for o in rules.rank(candidates, ITEMS, {LAPTOP}, 5, GOLD, 2)] == ["SUP-1", "DOCK-1"]


def test_without_orders_popularity_ranks_and_ties_go_by_sku() -> None:
    ranked = rules.rank([rules.Counts(SUPPORT, 2), rules.Counts(DOCK, 2), rules.Counts(BAG, 3)], ITEMS, set(), 3,
                        rules.Segment(None, None), 5)
    assert [o.item.sku for o in ranked] == ["BAG-1", "DOCK-1", "SUP-1"]
    assert ranked[0].reason == "bought by 3 of 3 similar customers (group (none), tier (none))"


def test_the_segment_comes_from_the_view_and_the_limit_is_bounded() -> None:
    assert rules.segment_of({"profile": {"customer_group": "retail", "value_tier": "gold"}}) == GOLD
    assert rules.segment_of(None) == rules.Segment(None, None)
    for limit in (0, rules.MAX_LIMIT + 1):
        with pytest.raises(InvalidInput) as refused:
            rules.check_limit(limit)
        assert refused.value.errors[0]["field"] == "limit"


def test_the_hash_changes_with_the_offers_shown_and_only_with_them() -> None:
    one = [{"product_id": str(DOCK), "sku": "DOCK-1", "name": "Dock", "reason": "r", "score": "1.5000"}]
    assert rules.offers_hash(one) == rules.offers_hash([dict(reversed(list(one[0].items())))])
    assert rules.offers_hash(one) != rules.offers_hash([{**one[0], "score": "1.2500"}])
    assert rules.offers_hash([]) != rules.offers_hash(one)
