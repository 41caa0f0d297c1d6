"""Routing use cases: keep teams and rules, choose a lead's team, and the member of a team who takes a lead.

Functions work inside the caller's unit of work and never commit. The leads feature
calls ``team_for`` and ``take_lead``; how its queued leads are handed out when capacity
frees is its own (``services.sales.leads.service.hand_out_queue``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.sales.leads import repository as leads
from services.sales.routing import repository, rules
from services.sales.routing.schemas import MemberIn, RoutingRuleCreate, TeamCreate
from services.sales.routing.tables import RoutingRule, SalesTeam, TeamMember
from shared.db import utcnow
from shared.errors import Conflict, InvalidInput, NotFound
from shared.http import PageRequest
from shared.ids import new_id

CONDITION_FIELDS = ("countries", "regions", "industries", "tiers", "sources", "employees_min", "employees_max")


@dataclass(frozen=True)
class TeamShown:
    team: SalesTeam
    members: list[TeamMember]
    loads: dict[str, int]
    queued: int


# --- teams ---------------------------------------------------------------------------------


def create_team(session: Session, tenant: str, body: TeamCreate) -> TeamShown:
    _check_members(body.members)
    if repository.team_named(session, tenant, body.name) is not None:
        raise InvalidInput.on("name", f"the tenant already has a team {body.name!r}")
    now = utcnow()
    team = SalesTeam(id=new_id(), tenant_id=tenant, name=body.name, strategy=body.strategy,
                     first_touch_minutes=body.first_touch_minutes, last_owner=None, version=1,
                     created_at=now, updated_at=now)
    session.add(team)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create of the same name
        raise Conflict(f"The tenant already has a team {body.name!r}.") from exc
    repository.replace_members(session, team, [_member(team, tenant, m) for m in body.members])
    return _shown(session, tenant, team)


def get_team(session: Session, tenant: str, team_id: uuid.UUID) -> TeamShown:
    return _shown(session, tenant, _team(session, tenant, team_id))


def list_teams(session: Session, tenant: str, page: PageRequest) -> list[TeamShown]:
    teams = repository.list_teams(session, tenant, page)
    members = repository.members_of(session, {t.id for t in teams})
    return [TeamShown(t, members[t.id], leads.loads_of(session, tenant, t.name), leads.queued_count(session, tenant, t.name))
            for t in teams]


def update_team(session: Session, tenant: str, team_id: uuid.UUID, patch: dict[str, Any], *,
                check_version: Callable[[int], None]) -> SalesTeam:
    """Change strategy, SLA or members; the caller then hands queued leads out (capacity may have freed)."""
    team = _team(session, tenant, team_id)
    check_version(team.version)
    for name in ("strategy", "members"):
        if name in patch and patch[name] is None:
            raise InvalidInput.on(name, "cannot be cleared")
    if "members" in patch:
        members = [MemberIn.model_validate(m) for m in patch["members"]]
        _check_members(members)
        repository.replace_members(session, team, [_member(team, tenant, m) for m in members])
    for name in ("strategy", "first_touch_minutes"):
        if name in patch:
            setattr(team, name, patch[name])
    team.version += 1
    team.updated_at = utcnow()
    return team


def shown(session: Session, tenant: str, team: SalesTeam) -> TeamShown:
    return _shown(session, tenant, team)


def _check_members(members: list[Any]) -> None:
    seen: set[str] = set()
    for index, member in enumerate(members):
        if member.owner in seen:
            raise InvalidInput.on(f"members[{index}].owner", f"{member.owner!r} is listed twice")
        seen.add(member.owner)


def _member(team: SalesTeam, tenant: str, member: Any) -> TeamMember:
    return TeamMember(team_id=team.id, owner=member.owner, tenant_id=tenant, capacity=member.capacity,
                      available=member.available)


def _team(session: Session, tenant: str, team_id: uuid.UUID) -> SalesTeam:
    team = repository.get_team(session, tenant, team_id)
    if team is None:
        raise NotFound(f"No sales team {team_id}.")
    return team


def _shown(session: Session, tenant: str, team: SalesTeam) -> TeamShown:
    members = repository.members_of(session, {team.id})[team.id]
    return TeamShown(team, members, leads.loads_of(session, tenant, team.name), leads.queued_count(session, tenant, team.name))


# --- routing rules -------------------------------------------------------------------------


def create_rule(session: Session, tenant: str, body: RoutingRuleCreate) -> RoutingRule:
    conditions = body.model_dump(include=set(CONDITION_FIELDS))
    _check_rule(session, tenant, body.team, conditions)
    now = utcnow()
    rule = RoutingRule(id=new_id(), tenant_id=tenant, position=body.position, name=body.name, team=body.team,
                       conditions=conditions, version=1, created_at=now, updated_at=now)
    session.add(rule)
    return rule


def get_rule(session: Session, tenant: str, rule_id: uuid.UUID) -> RoutingRule:
    rule = repository.get_rule(session, tenant, rule_id)
    if rule is None:
        raise NotFound(f"No routing rule {rule_id}.")
    return rule


def list_rules(session: Session, tenant: str, page: PageRequest) -> list[RoutingRule]:
    return repository.list_rules(session, tenant, page)


def update_rule(session: Session, tenant: str, rule_id: uuid.UUID, patch: dict[str, Any], *,
                check_version: Callable[[int], None]) -> RoutingRule:
    rule = get_rule(session, tenant, rule_id)
    check_version(rule.version)
    for name in ("name", "team", "position", "countries", "regions", "industries", "tiers", "sources"):
        if name in patch and patch[name] is None:
            raise InvalidInput.on(name, "cannot be cleared")
    conditions = dict(rule.conditions) | {k: v for k, v in patch.items() if k in CONDITION_FIELDS}
    team = patch.get("team", rule.team)
    _check_rule(session, tenant, team, conditions)
    rule.conditions = conditions
    for name in ("name", "team", "position"):
        if name in patch:
            setattr(rule, name, patch[name])
    rule.version += 1
    rule.updated_at = utcnow()
    return rule


def delete_rule(session: Session, tenant: str, rule_id: uuid.UUID, *, check_version: Callable[[int], None]) -> None:
    rule = get_rule(session, tenant, rule_id)
    check_version(rule.version)
    session.delete(rule)


def _check_rule(session: Session, tenant: str, team: str, conditions: Mapping[str, Any]) -> None:
    if repository.team_named(session, tenant, team) is None:
        raise InvalidInput.on("team", f"the tenant has no sales team {team!r}")
    problem = rules.check_employees_range(conditions)
    if problem is not None:
        raise InvalidInput.on("employees_max", problem)


# --- what leads ask of routing -------------------------------------------------------------


def team_for(session: Session, tenant: str, facts: Mapping[str, Any]) -> str | None:
    """The team the tenant's first matching rule chooses for a lead; None when no rule matches."""
    return rules.choose_rule(routing_rules(session, tenant), facts)


def locked_team(session: Session, tenant: str, name: str) -> SalesTeam | None:
    return repository.team_named(session, tenant, name, lock=True)


def take_leads(session: Session, tenant: str, team_name: str, count: int) -> list[str]:
    """Who takes the team's next ``count`` leads, in order, as far as capacity goes; remembers the turn."""
    hand = team_hand(session, tenant, team_name) if count > 0 else None
    return [] if hand is None else hand.take(count)


@dataclass
class TeamHand:
    """A team's members and their loads, held for the assignments of one transaction (a request, or a
    whole import batch: one read of the loads instead of one per lead)."""

    team: SalesTeam
    members: list[rules.Member]

    def take(self, count: int = 1) -> list[str]:
        """The owners of the next ``count`` leads, as far as capacity goes; loads and the turn move on."""
        owners = rules.assign_queue(count, self.members, self.team.strategy, self.team.last_owner)
        if owners:
            self.team.last_owner = owners[-1]
            taken = {owner: owners.count(owner) for owner in set(owners)}
            self.members = [replace(m, load=m.load + taken.get(m.owner, 0)) for m in self.members]
        return owners


def team_hand(session: Session, tenant: str, team_name: str) -> TeamHand | None:
    """The team, locked until the transaction ends (so concurrent assignments in one team see each
    other's loads), with its members' loads; None when the tenant has no such team."""
    team = locked_team(session, tenant, team_name)
    if team is None:
        return None
    loads = leads.loads_of(session, tenant, team_name)
    members = [rules.Member(m.owner, m.capacity, m.available, loads.get(m.owner, 0))
               for m in repository.members_of(session, {team.id})[team.id]]
    return TeamHand(team, members)


def routing_rules(session: Session, tenant: str) -> list[tuple[Mapping[str, Any], str]]:
    """The tenant's rules as ``(conditions, team)`` in order, ready for ``rules.choose_rule`` over many leads."""
    return [(rules.prepared(r.conditions), r.team) for r in repository.rules_in_order(session, tenant)]


def first_touch_minutes(session: Session, tenant: str, team_name: str) -> int | None:
    team = repository.team_named(session, tenant, team_name)
    return None if team is None else team.first_touch_minutes
