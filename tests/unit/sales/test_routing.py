"""Routing: territories, capacity, availability and fairness without a database; teams, queues and the
first-touch SLA on one of their own."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.sales.database import Base
from services.sales.leads import service as leads
from services.sales.leads.schemas import LeadCreate
from services.sales.routing import rules, service
from services.sales.routing.rules import Member
from services.sales.routing.schemas import RoutingRuleCreate, TeamCreate
from shared.db import PLATFORM_METADATA, OutboxRecord, make_engine, make_sessions, utcnow
from shared.errors import InvalidInput

# --- rules -----------------------------------------------------------------------------------

DACH = {"countries": ["DE", "AT", "CH"]}
ENTERPRISE = {"employees_min": 1000}


def test_the_first_matching_rule_chooses_the_territory() -> None:
    ordered = [({"countries": ["DE"], "industries": ["Software"]}, "dach-software"), (DACH, "dach"), ({}, "rest")]
    assert rules.choose_rule(ordered, {"country": "DE", "industry": "software"}) == "dach-software"
    assert rules.choose_rule(ordered, {"country": "AT", "industry": "software"}) == "dach"
    assert rules.choose_rule(ordered, {"country": "FR"}) == "rest"
    assert rules.choose_rule(ordered[:2], {"country": None}) is None


def test_size_tier_and_source_conditions_all_must_hold() -> None:
    conditions = {"employees_min": 50, "employees_max": 500, "tiers": ["A"], "sources": ["web", "event"]}
    assert rules.matches(conditions, {"employees": 50, "customer_tier": "a", "source": "web"})
    assert not rules.matches(conditions, {"employees": 501, "customer_tier": "A", "source": "web"})
    assert not rules.matches(conditions, {"employees": None, "customer_tier": "A", "source": "web"})
    assert not rules.matches(conditions, {"employees": 100, "customer_tier": "B", "source": "web"})
    assert not rules.matches(conditions, {"employees": 100, "customer_tier": "A", "source": "import"})


def test_nobody_unavailable_or_at_capacity_takes_a_lead() -> None:
    members = [Member("ann", 2, False, 0), Member("bob", 2, True, 2), Member("cid", 0, True, 0)]
    assert rules.choose_member(members, rules.ROUND_ROBIN, None) is None
    assert rules.choose_member(members, rules.LEAST_LOADED, None) is None
    assert rules.choose_member([*members, Member("dan", 1, True, 0)], rules.ROUND_ROBIN, "zed") == "dan"


def test_round_robin_is_fair_over_many_leads() -> None:
    members = [Member(name, 10_000, True, 0) for name in ("ann", "bob", "cid")]
    owners = rules.assign_queue(300, members, rules.ROUND_ROBIN, None)
    assert Counter(owners) == {"ann": 100, "bob": 100, "cid": 100}
    assert owners[:4] == ["ann", "bob", "cid", "ann"]
    assert rules.assign_queue(2, members, rules.ROUND_ROBIN, "bob") == ["cid", "ann"]


def test_round_robin_skips_who_cannot_take_and_stops_at_capacity() -> None:
    members = [Member("ann", 1, True, 0), Member("bob", 5, False, 0), Member("cid", 2, True, 0)]
    assert rules.assign_queue(10, members, rules.ROUND_ROBIN, None) == ["ann", "cid", "cid"]


def test_least_loaded_evens_out_the_loads() -> None:
    members = [Member("ann", 10, True, 4), Member("bob", 10, True, 1), Member("cid", 10, True, 2)]
    assert rules.assign_queue(4, members, rules.LEAST_LOADED, None) == ["bob", "bob", "cid", "bob"]


def test_an_empty_size_range_is_named() -> None:
    assert rules.check_employees_range({"employees_min": 10, "employees_max": 5}) == "must not be below employees_min"
    assert rules.check_employees_range({"employees_min": 10}) is None


# --- use cases -----------------------------------------------------------------------------

TENANT = "acme"


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'sales.db'}")
    PLATFORM_METADATA.create_all(engine)
    Base.metadata.create_all(engine)
    with make_sessions(engine)() as session:
        yield session
    engine.dispose()


def _team(db: Session, name: str, members: list[dict[str, Any]], **fields: Any) -> service.TeamShown:
    return service.create_team(db, TENANT, TeamCreate.model_validate({"name": name, "members": members} | fields))


def _rule(db: Session, team: str, **conditions: Any) -> None:
    service.create_rule(db, TENANT, RoutingRuleCreate.model_validate({"name": team, "team": team} | conditions))


def _lead(db: Session, email: str, **fields: Any) -> leads.Lead:
    return leads.create_lead(db, TENANT, LeadCreate.model_validate({"email": email} | fields)).lead


def _any_version(version: int) -> None:
    pass


def test_a_rule_naming_an_unknown_team_is_refused_naming_team(db: Session) -> None:
    with pytest.raises(InvalidInput) as refused:
        _rule(db, "nobody")
    assert refused.value.errors == [{"field": "team", "message": "the tenant has no sales team 'nobody'"}]


def test_a_routed_lead_is_assigned_and_announced_after_its_creation(db: Session) -> None:
    _team(db, "dach", [{"owner": "ann", "capacity": 5}, {"owner": "bob", "capacity": 5}], first_touch_minutes=30)
    _rule(db, "dach", countries=["DE", "AT"])
    lead = _lead(db, "a@one.com", country="AT")
    assert (lead.team, lead.owner, lead.queued_at) == ("dach", "ann", None)
    assert lead.first_touch_due_at is not None and lead.first_touch_due_at - lead.assigned_at == timedelta(minutes=30)
    events = [(r.type, r.data["owner"]) for r in db.scalars(select(OutboxRecord).order_by(OutboxRecord.sequence))]
    assert events == [("crm.sales.lead.created.v1", "ann"), ("crm.sales.lead.assigned.v1", "ann")]
    assert _lead(db, "b@two.com", country="DE").owner == "bob"
    assert _lead(db, "c@three.com", country="FR").team is None


def test_a_lead_nobody_can_take_waits_and_is_handed_out_when_capacity_frees(db: Session) -> None:
    _team(db, "dach", [{"owner": "ann", "capacity": 1}, {"owner": "bob", "capacity": 1, "available": False}])
    _rule(db, "dach")
    first = _lead(db, "a@one.com")
    waiting = _lead(db, "b@two.com")
    later = _lead(db, "c@three.com")
    assert (first.owner, waiting.owner, waiting.queued_at is not None) == ("ann", None, True)
    leads.qualify(db, TENANT, first.id, None, check_version=_any_version)
    assert (waiting.owner, waiting.queued_at, later.owner) == ("ann", None, None)
    team = service.get_team(db, TENANT, service.repository.team_named(db, TENANT, "dach").id)  # type: ignore[union-attr]
    assert team.queued == 1
    service.update_team(db, TENANT, team.team.id, {"members": [{"owner": "ann", "capacity": 1},
                                                              {"owner": "bob", "capacity": 1, "available": True}]},
                        check_version=_any_version)
    assert leads.hand_out_queue(db, TENANT, "dach") == 1 and later.owner == "bob"


def test_least_loaded_team_gives_the_lead_to_the_freest_member(db: Session) -> None:
    _team(db, "big", [{"owner": "ann", "capacity": 9}, {"owner": "bob", "capacity": 9}], strategy="least_loaded")
    _rule(db, "big")
    owners = [_lead(db, f"p{i}@c{i}.com").owner for i in range(4)]
    assert owners == ["ann", "bob", "ann", "bob"]
    leads.disqualify(db, TENANT, _lead(db, "x@cx.com").id, "spam", check_version=_any_version)  # ann's, freed again
    assert _lead(db, "y@cy.com").owner == "ann"


def test_a_missed_first_touch_is_flagged_once(db: Session) -> None:
    _team(db, "fast", [{"owner": "ann", "capacity": 9}], first_touch_minutes=5)
    _rule(db, "fast")
    late = _lead(db, "a@one.com")
    touched = _lead(db, "b@two.com")
    leads.update_lead(db, TENANT, touched.id, {"status": "working"}, check_version=_any_version)
    after = utcnow() + timedelta(minutes=6)
    assert leads.flag_overdue(db, after) == 1 and leads.flag_overdue(db, after) == 0
    assert late.overdue_at == after and touched.overdue_at is None
    last = db.scalars(select(OutboxRecord).order_by(OutboxRecord.sequence.desc())).first()
    assert last is not None and (last.type, last.data["lead_id"]) == ("crm.sales.lead.overdue.v1", str(late.id))


def test_team_names_are_unique_and_members_listed_once(db: Session) -> None:
    _team(db, "dach", [])
    with pytest.raises(InvalidInput):
        _team(db, "dach", [])
    with pytest.raises(InvalidInput) as refused:
        _team(db, "other", [{"owner": "ann", "capacity": 1}, {"owner": "ann", "capacity": 2}])
    assert refused.value.errors is not None and refused.value.errors[0]["field"] == "members[1].owner"
    assert uuid.UUID(str(service.list_teams(db, TENANT, service.PageRequest(limit=5, after=None))[0].team.id))
