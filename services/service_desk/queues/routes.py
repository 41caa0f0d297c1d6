"""HTTP edges of queues: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response

from services.service_desk import contract
from services.service_desk.queues import service
from services.service_desk.queues.schemas import Match, QueueCreate, QueueOut, QueuePatch
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, check_if_match, etag, feature_router, next_cursor, written

router = feature_router(tags=["queues"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]

ROUTING = ("A new ticket without a queue goes to the first queue, by position then id, whose match it meets "
           "(every condition given must hold; an empty list matches any ticket); none: it stays without a queue.")


def queue_out(shown: service.Shown) -> QueueOut:
    queue = shown.queue
    return QueueOut(id=queue.id, name=queue.name, position=queue.position, match=Match.model_validate(queue.match),
                    required_skills=list(queue.required_skills), assignment=queue.assignment,  # type: ignore[arg-type]
                    waiting=shown.waiting, version=queue.version, created_at=queue.created_at,
                    updated_at=queue.updated_at)


@router.post("/queues", status_code=201, response_model=QueueOut, summary="Create a queue with its routing rule",
             responses={409: {"description": "A queue of that name exists already."}})
def create_queue(body: QueueCreate, response: Response, db: DbSession, who: Writer) -> QueueOut:
    created = service.create_queue(db, who.tenant, body)
    written(response, version=created.queue.version, location=f"/v1/queues/{created.queue.id}")
    return queue_out(created)


@router.get("/queues", response_model=Page[QueueOut], summary="List queues", description=(
    "In id order (paging). " + ROUTING))
def list_queues(db: DbSession, who: Reader, paging: Paging) -> Page[QueueOut]:
    shown = service.list_queues(db, who.tenant, paging)
    return Page(items=[queue_out(s) for s in shown[: paging.limit]],
                next_cursor=next_cursor([s.queue.id for s in shown], paging.limit))


@router.get("/queues/{queue_id:uuid}", response_model=QueueOut, summary="Read a queue")
def get_queue(queue_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> QueueOut:
    shown = service.get_queue(db, who.tenant, queue_id)
    response.headers["ETag"] = etag(shown.queue.version)
    return queue_out(shown)


@router.patch("/queues/{queue_id:uuid}", response_model=QueueOut,
              summary="Change a queue's routing rule, skills or strategy (honours If-Match)",
              responses={409: {"description": "Another queue has that name."}})
def patch_queue(queue_id: uuid.UUID, body: QueuePatch, request: Request, response: Response, db: DbSession,
                who: Writer) -> QueueOut:
    """``match`` replaces the whole rule. Changed skills or strategy hand the waiting tickets out at once."""
    shown = service.update_queue(db, who.tenant, queue_id, body.model_dump(exclude_unset=True),
                                 check_version=lambda version: check_if_match(request, version))
    written(response, version=shown.queue.version)
    return queue_out(shown)


@router.delete("/queues/{queue_id:uuid}", status_code=204, response_model=None,
               summary="Remove an empty queue (honours If-Match)",
               responses={409: {"description": "The queue still holds tickets that are not closed."}})
def delete_queue(queue_id: uuid.UUID, request: Request, db: DbSession, who: Writer) -> Response:
    """Its agents stop working it."""
    service.delete_queue(db, who.tenant, queue_id, check_version=lambda version: check_if_match(request, version))
    return Response(status_code=204)
