"""HTTP edges of tickets: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response

from services.service_desk import contract
from services.service_desk.tickets import service
from services.service_desk.tickets.schemas import Priority, Status, TicketCreate, TicketOut, TicketPatch, TicketType
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, check_if_match, etag, feature_router, next_cursor, patience, written
from shared.replica import embedded

router = feature_router(tags=["tickets"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


def ticket_out(shown: service.Shown) -> TicketOut:
    ticket = shown.ticket
    return TicketOut(
        id=ticket.id,
        customer_id=ticket.customer_id,
        customer=embedded(shown.customer, ticket.customer_id),
        subject=ticket.subject,
        description=ticket.description,
        type=ticket.type,  # type: ignore[arg-type]
        priority=ticket.priority,  # type: ignore[arg-type]
        channel=ticket.channel,  # type: ignore[arg-type]
        status=ticket.status,  # type: ignore[arg-type]
        version=ticket.version,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        token=ticket.token,
        resolved_at=ticket.resolved_at,
        closed_at=ticket.closed_at,
    )


@router.post("/tickets", status_code=201, response_model=TicketOut, summary="Open a ticket")
def create_ticket(body: TicketCreate, request: Request, response: Response, db: DbSession, who: Writer) -> TicketOut:
    created = service.create_ticket(db, who.tenant, body, wait_seconds=patience(request))
    written(response, version=created.ticket.version, location=f"/v1/tickets/{created.ticket.id}")
    return ticket_out(created)


@router.get("/tickets", response_model=Page[TicketOut], summary="List tickets")
def list_tickets(
    db: DbSession,
    who: Reader,
    paging: Paging,
    customer_id: uuid.UUID | None = None,
    status: Status | None = None,
    priority: Priority | None = None,
    type: TicketType | None = None,
) -> Page[TicketOut]:
    shown = service.list_tickets(db, who.tenant, paging, {"customer_id": customer_id, "status": status,
                                                          "priority": priority, "type": type})
    return Page(items=[ticket_out(s) for s in shown[: paging.limit]],
                next_cursor=next_cursor([s.ticket.id for s in shown], paging.limit))


@router.get("/tickets/{ticket_id:uuid}", response_model=TicketOut, summary="Read a ticket")
def get_ticket(ticket_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> TicketOut:
    shown = service.get_ticket(db, who.tenant, ticket_id)
    response.headers["ETag"] = etag(shown.ticket.version)
    return ticket_out(shown)


@router.patch("/tickets/{ticket_id:uuid}", response_model=TicketOut,
              summary="Change a ticket, e.g. its status or priority (honours If-Match)")
def patch_ticket(ticket_id: uuid.UUID, body: TicketPatch, request: Request, response: Response, db: DbSession,
                 who: Writer) -> TicketOut:
    changed = service.update_ticket(db, who.tenant, ticket_id, body.model_dump(exclude_unset=True),
                                    check_version=lambda version: check_if_match(request, version))
    written(response, version=changed.ticket.version)
    return ticket_out(changed)
