"""HTTP edges of the service desk: parse, authorise, call the rules, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services.service_desk import domain, events, repository
from services.service_desk.schemas import Priority, Status, TicketCreate, TicketOut, TicketPatch, TicketType
from services.service_desk.tables import Ticket
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.errors import NotFound
from shared.http import DbSession, Page, Paging, check_if_match, commit_write, etag, next_cursor, patience
from shared.ids import new_id
from shared.replica import CustomerReplica, embedded, find_customer, find_customers, require_customer

router = APIRouter(tags=["tickets"])

Reader = Annotated[Principal, Depends(Scopes("service_desk:read"))]
Writer = Annotated[Principal, Depends(Scopes("service_desk:write"))]

TICKET_FIELDS = ("subject", "description", "type", "priority", "status")


def ticket_out(ticket: Ticket, customer: CustomerReplica | None) -> TicketOut:
    return TicketOut(
        id=ticket.id,
        customer_id=ticket.customer_id,
        customer=embedded(customer, ticket.customer_id),
        subject=ticket.subject,
        description=ticket.description,
        type=ticket.type,  # type: ignore[arg-type]
        priority=ticket.priority,  # type: ignore[arg-type]
        channel=ticket.channel,  # type: ignore[arg-type]
        status=ticket.status,  # type: ignore[arg-type]
        version=ticket.version,
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        solved_at=ticket.solved_at,
    )


def _found(db: DbSession, tenant: str, ticket_id: uuid.UUID) -> Ticket:
    ticket = repository.get_ticket(db, tenant, ticket_id)
    if ticket is None:
        raise NotFound(f"No ticket {ticket_id}.")
    return ticket


@router.post("/tickets", status_code=201, response_model=TicketOut, summary="Open a ticket")
def create_ticket(body: TicketCreate, request: Request, db: DbSession, who: Writer) -> Response:
    customer = require_customer(db, who.tenant, body.customer_id, wait_seconds=patience(request))
    now = utcnow()
    ticket = Ticket(
        id=new_id(), tenant_id=who.tenant, customer_id=body.customer_id, subject=body.subject,
        description=body.description, type=body.type, priority=body.priority, channel=body.channel, status="new",
        version=1, created_at=now, updated_at=now, solved_at=None,
    )
    db.add(ticket)
    out = ticket_out(ticket, customer)
    events.ticket_changed(db, who.tenant, domain.event_action(None, "new"), ticket)
    return commit_write(db, request, out, status=201, version=1, location=f"/v1/tickets/{ticket.id}")


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
    filters = {"customer_id": customer_id, "status": status, "priority": priority, "type": type}
    rows = repository.list_tickets(db, who.tenant, paging, filters)
    shown = rows[: paging.limit]
    customers = find_customers(db, who.tenant, {t.customer_id for t in shown})
    return Page(items=[ticket_out(t, customers.get(t.customer_id)) for t in shown],
                next_cursor=next_cursor([t.id for t in rows], paging.limit))


@router.get("/tickets/{ticket_id}", response_model=TicketOut, summary="Read a ticket")
def get_ticket(ticket_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> TicketOut:
    ticket = _found(db, who.tenant, ticket_id)
    response.headers["ETag"] = etag(ticket.version)
    return ticket_out(ticket, find_customer(db, who.tenant, ticket.customer_id))


@router.patch("/tickets/{ticket_id}", response_model=TicketOut,
              summary="Change a ticket, e.g. its status or priority (honours If-Match)")
def patch_ticket(ticket_id: uuid.UUID, body: TicketPatch, request: Request, db: DbSession, who: Writer) -> Response:
    ticket = _found(db, who.tenant, ticket_id)
    check_if_match(request, ticket.version)
    fields = domain.patch_fields(body.model_dump(exclude_unset=True))
    diff = domain.change_ticket({name: getattr(ticket, name) for name in TICKET_FIELDS}, fields)
    customer = find_customer(db, who.tenant, ticket.customer_id)
    if diff:
        old_status = ticket.status
        for name, change in diff.items():
            setattr(ticket, name, change["new"])
        ticket.version += 1
        ticket.updated_at = utcnow()
        if ticket.status in domain.DONE_STATUSES and old_status not in domain.DONE_STATUSES:
            ticket.solved_at = ticket.updated_at
        elif ticket.status not in domain.DONE_STATUSES:
            ticket.solved_at = None
        events.ticket_changed(db, who.tenant, domain.event_action(old_status, ticket.status), ticket, diff)
    return commit_write(db, request, ticket_out(ticket, customer), version=ticket.version)
