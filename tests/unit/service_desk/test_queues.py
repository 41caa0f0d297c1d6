"""Routing rules without a database: which queue a new ticket's facts choose."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from services.service_desk.queues import rules
from services.service_desk.queues.schemas import QueueCreate
from shared.errors import InvalidInput

FIRST, SECOND, THIRD = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)


def _facts(**fields: str | None) -> rules.TicketFacts:
    values: dict[str, str | None] = {"type": "question", "channel": "web", "language": None, "product_id": None,
                                     "value_tier": None}
    return rules.TicketFacts(**(values | fields))  # type: ignore[arg-type]


def test_an_empty_match_takes_any_ticket() -> None:
    assert rules.matches({}, _facts())
    assert rules.matches({"types": [], "languages": []}, _facts(language="fr"))


def test_every_condition_given_must_hold() -> None:
    match = {"types": ["complaint"], "value_tiers": ["enterprise"]}
    assert rules.matches(match, _facts(type="complaint", value_tier="enterprise"))
    assert not rules.matches(match, _facts(type="complaint", value_tier="mass"))
    assert not rules.matches(match, _facts(type="question", value_tier="enterprise"))


def test_a_ticket_that_does_not_state_a_field_misses_a_condition_on_it() -> None:
    assert not rules.matches({"languages": ["de"]}, _facts())
    assert not rules.matches({"product_ids": ["sku-1"]}, _facts())
    assert not rules.matches({"value_tiers": ["enterprise"]}, _facts())


def test_a_language_matches_its_regional_variants_in_any_case() -> None:
    assert rules.matches({"languages": ["de"]}, _facts(language="de-CH"))
    assert rules.matches({"languages": ["DE-ch"]}, _facts(language="de-CH"))
    assert not rules.matches({"languages": ["de-CH"]}, _facts(language="de"))
    assert not rules.matches({"languages": ["d"]}, _facts(language="de"))


def test_the_first_rule_by_position_then_id_wins() -> None:
    ordered = [rules.RoutingRule(THIRD, 5, {"channels": ["phone"]}), rules.RoutingRule(SECOND, 10, {}),
               rules.RoutingRule(FIRST, 10, {})]
    assert rules.first_matching(ordered, _facts(channel="phone")) == THIRD
    assert rules.first_matching(ordered, _facts(channel="web")) == FIRST  # same position: lower id
    assert rules.first_matching([rules.RoutingRule(FIRST, 1, {"types": ["billing"]})], _facts()) is None


def test_the_value_tier_comes_from_the_views_profile() -> None:
    assert rules.value_tier_of({"profile": {"value_tier": "enterprise"}}) == "enterprise"
    assert rules.value_tier_of({"profile": {}}) is None
    assert rules.value_tier_of(None) is None


def test_a_queue_refuses_unknown_vocabulary_and_strategies() -> None:
    with pytest.raises(ValidationError):
        QueueCreate.model_validate({"name": "Q", "match": {"types": ["gossip"]}})
    with pytest.raises(ValidationError):
        QueueCreate.model_validate({"name": "Q", "assignment": "random"})
    with pytest.raises(ValidationError):
        QueueCreate.model_validate({"name": "Q", "match": {"languages": ["not a tag"]}})
    assert QueueCreate.model_validate({"name": "Q"}).assignment == "round_robin"


def test_a_patch_may_clear_only_what_can_be_cleared() -> None:
    assert rules.refuse_nulls({"manager_email": None, "name": "Q"}, clearable=frozenset({"manager_email"})) == {
        "manager_email": None, "name": "Q"}
    with pytest.raises(InvalidInput) as refused:
        rules.refuse_nulls({"assignment": None})
    assert refused.value.errors == [{"field": "assignment", "message": "cannot be cleared"}]
