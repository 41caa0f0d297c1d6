"""HTTP edges of routing: sales teams with their members (``/v1/sales-teams``) and routing rules (``/v1/routing-rules``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response

from services.sales import contract
from services.sales.leads import service as leads
from services.sales.routing import service
from services.sales.routing.schemas import (
    MemberOut,
    RoutingRuleCreate,
    RoutingRuleOut,
    RoutingRulePatch,
    TeamCreate,
    TeamOut,
    TeamPatch,
)
from services.sales.routing.tables import RoutingRule
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, check_if_match, etag, feature_router, next_cursor, written

router = feature_router(tags=["routing"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


def team_out(shown: service.TeamShown) -> TeamOut:
    team = shown.team
    return TeamOut(id=team.id, name=team.name, strategy=team.strategy,  # type: ignore[arg-type]
                   first_touch_minutes=team.first_touch_minutes,
                   members=[MemberOut(owner=m.owner, capacity=m.capacity, available=m.available,
                                      open_leads=shown.loads.get(m.owner, 0)) for m in shown.members],
                   queued=shown.queued, version=team.version, created_at=team.created_at, updated_at=team.updated_at)


def rule_out(rule: RoutingRule) -> RoutingRuleOut:
    conditions = rule.conditions
    return RoutingRuleOut(id=rule.id, name=rule.name, team=rule.team, position=rule.position,
                          countries=conditions.get("countries") or [], regions=conditions.get("regions") or [],
                          industries=conditions.get("industries") or [], tiers=conditions.get("tiers") or [],
                          sources=conditions.get("sources") or [], employees_min=conditions.get("employees_min"),
                          employees_max=conditions.get("employees_max"), version=rule.version,
                          created_at=rule.created_at, updated_at=rule.updated_at)


@router.post("/sales-teams", status_code=201, response_model=TeamOut, summary="Create a sales team with its members")
def create_team(body: TeamCreate, response: Response, db: DbSession, who: Writer) -> TeamOut:
    created = service.create_team(db, who.tenant, body)
    written(response, version=created.team.version, location=f"/v1/sales-teams/{created.team.id}")
    return team_out(created)


@router.get("/sales-teams", response_model=Page[TeamOut], summary="List sales teams")
def list_teams(db: DbSession, who: Reader, paging: Paging) -> Page[TeamOut]:
    shown = service.list_teams(db, who.tenant, paging)
    return Page(items=[team_out(s) for s in shown[: paging.limit]],
                next_cursor=next_cursor([s.team.id for s in shown], paging.limit))


@router.get("/sales-teams/{team_id:uuid}", response_model=TeamOut, summary="Read a sales team")
def get_team(team_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> TeamOut:
    shown = service.get_team(db, who.tenant, team_id)
    response.headers["ETag"] = etag(shown.team.version)
    return team_out(shown)


@router.patch("/sales-teams/{team_id:uuid}", response_model=TeamOut,
              summary="Change a team's strategy, SLA or members (honours If-Match)")
def patch_team(team_id: uuid.UUID, body: TeamPatch, request: Request, response: Response, db: DbSession,
               who: Writer) -> TeamOut:
    """``members`` replaces the list. Capacity that frees (a member available again, a higher capacity)
    hands the team's queued leads out at once."""
    team = service.update_team(db, who.tenant, team_id, body.model_dump(exclude_unset=True),
                               check_version=lambda version: check_if_match(request, version))
    leads.hand_out_queue(db, who.tenant, team.name)
    written(response, version=team.version)
    return team_out(service.shown(db, who.tenant, team))


@router.post("/routing-rules", status_code=201, response_model=RoutingRuleOut, summary="Add a routing rule")
def create_rule(body: RoutingRuleCreate, response: Response, db: DbSession, who: Writer) -> RoutingRuleOut:
    """Rules are tried by ``position`` (then id); the first a lead matches chooses its team."""
    rule = service.create_rule(db, who.tenant, body)
    written(response, version=rule.version, location=f"/v1/routing-rules/{rule.id}")
    return rule_out(rule)


@router.get("/routing-rules", response_model=Page[RoutingRuleOut], summary="List routing rules")
def list_rules(db: DbSession, who: Reader, paging: Paging) -> Page[RoutingRuleOut]:
    """In id order (paging); leads are routed by position, then id."""
    rules = service.list_rules(db, who.tenant, paging)
    return Page(items=[rule_out(r) for r in rules[: paging.limit]],
                next_cursor=next_cursor([r.id for r in rules], paging.limit))


@router.get("/routing-rules/{rule_id:uuid}", response_model=RoutingRuleOut, summary="Read a routing rule")
def get_rule(rule_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> RoutingRuleOut:
    rule = service.get_rule(db, who.tenant, rule_id)
    response.headers["ETag"] = etag(rule.version)
    return rule_out(rule)


@router.patch("/routing-rules/{rule_id:uuid}", response_model=RoutingRuleOut,
              summary="Change a routing rule (honours If-Match)")
def patch_rule(rule_id: uuid.UUID, body: RoutingRulePatch, request: Request, response: Response, db: DbSession,
               who: Writer) -> RoutingRuleOut:
    rule = service.update_rule(db, who.tenant, rule_id, body.model_dump(exclude_unset=True),
                               check_version=lambda version: check_if_match(request, version))
    written(response, version=rule.version)
    return rule_out(rule)


@router.delete("/routing-rules/{rule_id:uuid}", status_code=204, summary="Remove a routing rule (honours If-Match)")
def delete_rule(rule_id: uuid.UUID, request: Request, db: DbSession, who: Writer) -> Response:
    service.delete_rule(db, who.tenant, rule_id, check_version=lambda version: check_if_match(request, version))
    return Response(status_code=204)
