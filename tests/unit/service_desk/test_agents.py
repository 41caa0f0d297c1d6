"""Fair assignment without a database: who of a queue's agents takes the next ticket."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from services.service_desk.agents import rules
from services.service_desk.agents.schemas import AgentCreate

ANN, BOB, CID = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)
T0 = datetime(2026, 12, 2, 9, tzinfo=timezone.utc)


def _agent(agent_id: uuid.UUID, *, load: int = 0, capacity: int = 5, available: bool = True,
           skills: tuple[str, ...] = (), languages: tuple[str, ...] = (),
           last: datetime | None = None) -> rules.Candidate:
    return rules.Candidate(id=agent_id, available=available, skills=frozenset(skills), languages=languages,
                           capacity=capacity, load=load, last_assigned_at=last)


def _choose(agents: list[rules.Candidate], *, strategy: str = "round_robin", skills: tuple[str, ...] = (),
            language: str | None = None, last: uuid.UUID | None = None) -> uuid.UUID | None:
    return rules.choose(agents, strategy=strategy, required_skills=skills, language=language, last_agent_id=last)


def test_round_robin_is_fair_across_three_agents() -> None:
    team = [_agent(CID), _agent(ANN), _agent(BOB)]
    given: list[uuid.UUID] = []
    last = None
    for _ in range(6):
        last = _choose(team, last=last)
        assert last is not None
        given.append(last)
    assert given == [ANN, BOB, CID, ANN, BOB, CID]


def test_round_robin_passes_over_who_cannot_take_it_without_owing_them() -> None:
    team = [_agent(ANN), _agent(BOB, available=False), _agent(CID)]
    assert _choose(team, last=ANN) == CID
    assert _choose(team, last=CID) == ANN
    # The cursor's agent left the queue: the next in order after their id still comes next.
    assert _choose([_agent(ANN), _agent(CID)], last=BOB) == CID


def test_least_loaded_takes_fewest_open_then_longest_since_last_assignment() -> None:
    team = [_agent(ANN, load=2), _agent(BOB, load=1, last=T0), _agent(CID, load=1, last=T0 - timedelta(hours=1))]
    assert _choose(team, strategy="least_loaded") == CID
    team = [_agent(ANN, load=1), _agent(BOB, load=1, last=T0)]
    assert _choose(team, strategy="least_loaded") == ANN  # never assigned waits longest
    assert _choose([_agent(BOB, load=0), _agent(ANN, load=0)], strategy="least_loaded") == ANN


def test_capacity_is_a_hard_limit() -> None:
    assert _choose([_agent(ANN, load=3, capacity=3)]) is None
    assert _choose([_agent(ANN, load=0, capacity=0)]) is None
    assert _choose([_agent(ANN, load=3, capacity=3), _agent(BOB, load=2, capacity=3)], strategy="least_loaded") == BOB


def test_unavailable_agents_are_skipped() -> None:
    assert _choose([_agent(ANN, available=False)]) is None
    assert _choose([_agent(ANN, available=False), _agent(BOB)], strategy="least_loaded") == BOB


def test_every_required_skill_is_needed() -> None:
    team = [_agent(ANN, skills=("billing",)), _agent(BOB, skills=("billing", "sap"))]
    assert _choose(team, skills=("billing", "sap")) == BOB
    assert _choose(team, skills=("billing",), last=BOB) == ANN
    assert _choose(team, skills=("legal",)) is None


def test_the_tickets_language_limits_agents_who_list_languages() -> None:
    team = [_agent(ANN, languages=("de",)), _agent(BOB, languages=("fr", "en"))]
    assert _choose(team, language="de-AT") == ANN
    assert _choose(team, language="FR") == BOB
    assert _choose(team, language="it") is None
    assert _choose(team + [_agent(CID)], language="it") == CID  # lists none: takes any
    assert _choose(team) == ANN  # a ticket without a language: anyone


def test_an_agent_refuses_a_negative_capacity_and_a_boolean_one() -> None:
    with pytest.raises(ValidationError):
        AgentCreate.model_validate({"name": "Ann", "email": "ann@desk.example", "capacity": -1})
    with pytest.raises(ValidationError):
        AgentCreate.model_validate({"name": "Ann", "email": "ann@desk.example", "capacity": True})
    with pytest.raises(ValidationError):
        AgentCreate.model_validate({"name": "Ann", "email": "not an address"})
