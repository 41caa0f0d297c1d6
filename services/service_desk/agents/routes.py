"""HTTP edges of agents: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response

from services.service_desk import contract
from services.service_desk.agents import service
from services.service_desk.agents.schemas import AgentCreate, AgentOut, AgentPatch
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, check_if_match, etag, feature_router, next_cursor, written

router = feature_router(tags=["agents"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


def agent_out(shown: service.Shown) -> AgentOut:
    agent = shown.agent
    return AgentOut(id=agent.id, name=agent.name, email=agent.email, manager_email=agent.manager_email,
                    queue_ids=shown.queue_ids, skills=list(agent.skills), languages=list(agent.languages),
                    capacity=agent.capacity, available=agent.available, open_tickets=shown.open_tickets,
                    last_assigned_at=agent.last_assigned_at, version=agent.version, created_at=agent.created_at,
                    updated_at=agent.updated_at)


@router.post("/agents", status_code=201, response_model=AgentOut, summary="Create an agent")
def create_agent(body: AgentCreate, response: Response, db: DbSession, who: Writer) -> AgentOut:
    """An available agent takes the waiting tickets of their queues at once, up to their capacity."""
    created = service.create_agent(db, who.tenant, body)
    written(response, version=created.agent.version, location=f"/v1/agents/{created.agent.id}")
    return agent_out(created)


@router.get("/agents", response_model=Page[AgentOut], summary="List agents")
def list_agents(db: DbSession, who: Reader, paging: Paging, queue_id: uuid.UUID | None = None,
                available: bool | None = None) -> Page[AgentOut]:
    """In id order; ``queue_id``: only the agents working that queue."""
    shown = service.list_agents(db, who.tenant, paging, queue_id=queue_id, available=available)
    return Page(items=[agent_out(s) for s in shown[: paging.limit]],
                next_cursor=next_cursor([s.agent.id for s in shown], paging.limit))


@router.get("/agents/{agent_id:uuid}", response_model=AgentOut, summary="Read an agent")
def get_agent(agent_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> AgentOut:
    shown = service.get_agent(db, who.tenant, agent_id)
    response.headers["ETag"] = etag(shown.agent.version)
    return agent_out(shown)


@router.patch("/agents/{agent_id:uuid}", response_model=AgentOut,
              summary="Change an agent: availability, capacity, queues, skills, languages (honours If-Match)")
def patch_agent(agent_id: uuid.UUID, body: AgentPatch, request: Request, response: Response, db: DbSession,
                who: Writer) -> AgentOut:
    """Lists replace the whole list; ``manager_email`` null clears it. Availability on, a higher capacity or
    new queues hand out the waiting tickets of the agent's queues at once."""
    shown = service.update_agent(db, who.tenant, agent_id, body.model_dump(exclude_unset=True),
                                 check_version=lambda version: check_if_match(request, version))
    written(response, version=shown.agent.version)
    return agent_out(shown)


@router.delete("/agents/{agent_id:uuid}", status_code=204, response_model=None,
               summary="Remove an agent (honours If-Match)")
def delete_agent(agent_id: uuid.UUID, request: Request, db: DbSession, who: Writer) -> Response:
    """Their open tickets go back to their queues, which hand them to other agents who can take them."""
    service.delete_agent(db, who.tenant, agent_id, check_version=lambda version: check_if_match(request, version))
    return Response(status_code=204)
