"""HTTP edges of tickets: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request, Response

from services.service_desk import contract
from services.service_desk.tickets import service
from services.service_desk.tickets.schemas import (
    Channel,
    CommentCreate,
    CommentOut,
    HistoryEntry,
    MergeOut,
    MergeRequest,
    OtherTicket,
    Priority,
    Status,
    Tag,
    TicketContext,
    TicketCreate,
    TicketDetail,
    TicketOut,
    TicketPatch,
    TicketType,
    Visibility,
)
from services.service_desk.tickets.tables import Ticket, TicketComment, TicketHistory
from shared.auth import Principal, Scopes
from shared.errors import BadRequest
from shared.http import (
    DbSession,
    Page,
    PageRequest,
    Paging,
    check_if_match,
    etag,
    feature_router,
    next_cursor,
    patience,
    written,
)
from shared.replica import embedded

router = feature_router(tags=["tickets"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]
# History ids are 64-bit integers.
HISTORY_ID_LIMIT = 2**63

def _fields(shown: service.Shown) -> dict[str, object]:
    ticket = shown.ticket
    return {
        "id": ticket.id, "customer_id": ticket.customer_id, "customer": embedded(shown.customer, ticket.customer_id),
        "subject": ticket.subject, "description": ticket.description, "type": ticket.type,
        "priority": ticket.priority, "channel": ticket.channel, "status": ticket.status, "version": ticket.version,
        "created_at": ticket.created_at, "updated_at": ticket.updated_at, "token": ticket.token,
        "language": ticket.language, "queue_id": ticket.queue_id, "assignee_id": ticket.assignee_id,
        "tags": list(ticket.tags), "order_id": ticket.order_id, "product_id": ticket.product_id,
        "requester_email": ticket.requester_email, "merged_into_id": ticket.merged_into_id,
        "resolved_at": ticket.resolved_at, "closed_at": ticket.closed_at, "resolutions": ticket.resolutions,
        "sla": shown.sla,
    }


def ticket_out(shown: service.Shown) -> TicketOut:
    return TicketOut.model_validate(_fields(shown))


def _other(ticket: Ticket) -> OtherTicket:
    return OtherTicket.model_validate({"id": ticket.id, "subject": ticket.subject, "status": ticket.status,
                                       "priority": ticket.priority, "type": ticket.type,
                                       "created_at": ticket.created_at})


def comment_out(comment: TicketComment) -> CommentOut:
    return CommentOut.model_validate({
        "id": comment.id, "ticket_id": comment.ticket_id, "visibility": comment.visibility,
        "author_type": comment.author_type, "author_id": comment.author_id, "author_name": comment.author_name,
        "author_email": comment.author_email, "body": comment.body, "via": comment.via,
        "created_at": comment.created_at})


def history_out(entry: TicketHistory) -> HistoryEntry:
    return HistoryEntry(id=entry.id, ticket_id=entry.ticket_id, at=entry.at, action=entry.action, actor=entry.actor,
                        details=entry.details)


def _history_after(paging: PageRequest) -> int | None:
    """History ids are integers: the library's cursor carries them as the UUID of the same number. Another
    list's cursor (a real UUID) is not one of them."""
    if paging.after is None:
        return None
    if paging.after.int >= HISTORY_ID_LIMIT:
        raise BadRequest("The cursor is not one this list issued.")
    return paging.after.int


def _window(request: Request) -> int:
    return int(request.app.state.settings.reopen_window_days)


@router.post("/tickets", status_code=201, response_model=TicketOut, summary="Open a ticket",
             description="Without a queue_id the routing rules choose the queue. order_id and product_id are "
                         "references to the sales service, stored as given.")
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
    channel: Channel | None = None,
    queue_id: uuid.UUID | None = None,
    assignee_id: uuid.UUID | None = None,
    tag: Annotated[Tag | None, Query(description="Tickets carrying this tag")] = None,
) -> Page[TicketOut]:
    shown = service.list_tickets(db, who.tenant, paging, {
        "customer_id": customer_id, "status": status, "priority": priority, "type": type, "channel": channel,
        "queue_id": queue_id, "assignee_id": assignee_id, "tag": tag})
    return Page(items=[ticket_out(s) for s in shown[: paging.limit]],
                next_cursor=next_cursor([s.ticket.id for s in shown], paging.limit))


@router.get("/tickets/{ticket_id:uuid}", response_model=TicketDetail,
            summary="Read a ticket, with the customer's context for the agent",
            description="context: the customer's unified view as the desk's replica holds it (unavailable "
                        "without one) and the customer's other open tickets.")
def get_ticket(ticket_id: uuid.UUID, response: Response, db: DbSession, who: Reader) -> TicketDetail:
    shown = service.get_ticket(db, who.tenant, ticket_id)
    context = service.context_of(db, shown)
    response.headers["ETag"] = etag(shown.ticket.version)
    return TicketDetail.model_validate(_fields(shown) | {"context": TicketContext.model_validate(
        context.summary | {"other_open_tickets": [_other(t) for t in context.other_open]})})


@router.patch("/tickets/{ticket_id:uuid}", response_model=TicketOut,
              summary="Change a ticket, e.g. its status or priority (honours If-Match)",
              description="A resolved ticket reopens (status open) only within the reopen window after its "
                          "resolution; a closed ticket is final. queue_id, assignee_id, order_id, product_id "
                          "and language may be cleared with null.")
def patch_ticket(ticket_id: uuid.UUID, body: TicketPatch, request: Request, response: Response, db: DbSession,
                 who: Writer) -> TicketOut:
    changed = service.update_ticket(db, who.tenant, ticket_id, body.model_dump(exclude_unset=True),
                                    check_version=lambda version: check_if_match(request, version),
                                    reopen_window_days=_window(request))
    written(response, version=changed.ticket.version)
    return ticket_out(changed)


@router.post("/tickets/{ticket_id:uuid}/comments", status_code=201, response_model=CommentOut,
             summary="Add a public reply or an internal note",
             description="A comment on a merged ticket lands on its survivor. An agent's first public reply "
                         "opens a new ticket; a customer's public comment opens a pending_customer ticket and "
                         "reopens a resolved one within the reopen window (later: 409, open a new ticket). "
                         "Internal notes change no status. A closed ticket takes no comments (409).")
def add_comment(ticket_id: uuid.UUID, body: CommentCreate, request: Request, response: Response, db: DbSession,
                who: Writer) -> CommentOut:
    _, comment = service.comment_on(
        db, who.tenant, ticket_id, visibility=body.visibility, author_type=body.author_type,
        author_name=body.author_name, author_email=body.author_email, author_id=body.agent_id, body=body.body,
        reopen_window_days=_window(request))
    # The comment has no version of its own (it does not change); where it landed is in ticket_id.
    written(response, location=f"/v1/tickets/{comment.ticket_id}/comments")
    return comment_out(comment)


@router.get("/tickets/{ticket_id:uuid}/comments", response_model=Page[CommentOut],
            summary="List a ticket's comments, oldest first")
def list_comments(ticket_id: uuid.UUID, db: DbSession, who: Reader, paging: Paging,
                  visibility: Visibility | None = None) -> Page[CommentOut]:
    rows = service.list_comments(db, who.tenant, ticket_id, paging, visibility=visibility)
    return Page(items=[comment_out(c) for c in rows[: paging.limit]],
                next_cursor=next_cursor([c.id for c in rows], paging.limit))


@router.get("/tickets/{ticket_id:uuid}/history", response_model=Page[HistoryEntry],
            summary="A ticket's history, oldest first: creation, changes, comments, assignments, merges, "
                    "escalations")
def list_history(ticket_id: uuid.UUID, db: DbSession, who: Reader, paging: Paging) -> Page[HistoryEntry]:
    rows = service.list_history(db, who.tenant, ticket_id, after=_history_after(paging), limit=paging.limit)
    return Page(items=[history_out(e) for e in rows[: paging.limit]],
                next_cursor=next_cursor([uuid.UUID(int=e.id) for e in rows], paging.limit))


@router.post("/tickets/{ticket_id:uuid}/merge", response_model=MergeOut,
             summary="Merge this duplicate into another ticket of the same customer",
             description="The duplicate's comments move to the survivor; the duplicate is closed and points at it "
                         "(merged_into_id). The survivor's status does not change. 409 for another customer's "
                         "ticket, the ticket itself, or a merged or closed one.")
def merge_ticket(ticket_id: uuid.UUID, body: MergeRequest, response: Response, db: DbSession,
                 who: Writer) -> MergeOut:
    merged = service.merge_ticket(db, who.tenant, ticket_id, body.into, actor=who.subject)
    written(response)
    return MergeOut(duplicate=ticket_out(merged.duplicate), survivor=ticket_out(merged.survivor),
                    comments_moved=merged.comments_moved)
