"""Every query of the sales teams, their members and the routing rules."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.sales.routing.tables import RoutingRule, SalesTeam, TeamMember
from shared.http import PageRequest


def get_team(session: Session, tenant: str, team_id: uuid.UUID) -> SalesTeam | None:
    return session.scalar(select(SalesTeam).where(SalesTeam.tenant_id == tenant, SalesTeam.id == team_id))


def team_named(session: Session, tenant: str, name: str, *, lock: bool = False) -> SalesTeam | None:
    """The team by its name; ``lock``: held until the transaction ends, so two assignments in one team
    cannot both see the same free capacity (PostgreSQL; SQLite has one writer at a time anyway)."""
    query = select(SalesTeam).where(SalesTeam.tenant_id == tenant, SalesTeam.name == name)
    return session.scalar(query.with_for_update() if lock else query)


def list_teams(session: Session, tenant: str, page: PageRequest) -> list[SalesTeam]:
    query = select(SalesTeam).where(SalesTeam.tenant_id == tenant)
    if page.after is not None:
        query = query.where(SalesTeam.id > page.after)
    return list(session.scalars(query.order_by(SalesTeam.id).limit(page.limit + 1)))


def members_of(session: Session, team_ids: set[uuid.UUID]) -> dict[uuid.UUID, list[TeamMember]]:
    found: dict[uuid.UUID, list[TeamMember]] = {team_id: [] for team_id in team_ids}
    if team_ids:
        for member in session.scalars(select(TeamMember).where(TeamMember.team_id.in_(team_ids))
                                      .order_by(TeamMember.owner)):
            found[member.team_id].append(member)
    return found


def replace_members(session: Session, team: SalesTeam, members: list[TeamMember]) -> None:
    session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
    session.add_all(members)
    session.flush()


def get_rule(session: Session, tenant: str, rule_id: uuid.UUID) -> RoutingRule | None:
    return session.scalar(select(RoutingRule).where(RoutingRule.tenant_id == tenant, RoutingRule.id == rule_id))


def list_rules(session: Session, tenant: str, page: PageRequest) -> list[RoutingRule]:
    query = select(RoutingRule).where(RoutingRule.tenant_id == tenant)
    if page.after is not None:
        query = query.where(RoutingRule.id > page.after)
    return list(session.scalars(query.order_by(RoutingRule.id).limit(page.limit + 1)))


def rules_in_order(session: Session, tenant: str) -> list[RoutingRule]:
    return list(session.scalars(select(RoutingRule).where(RoutingRule.tenant_id == tenant)
                                .order_by(RoutingRule.position, RoutingRule.id)))
