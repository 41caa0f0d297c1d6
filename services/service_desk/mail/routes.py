"""HTTP edges of mail: parse, authorise, call the service, shape the reply.

``POST /v1/tickets/inbound-email`` takes the raw message as ``message/rfc822``. Its body is read here,
bounded: a message larger than room for one attachment at the limit (``rules.message_size_limit``) is
refused as it streams in (413), never held whole; an attachment over the limit is a 413 as well."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from services.service_desk import contract
from services.service_desk.mail import rules, service
from services.service_desk.mail.schemas import AttachmentOut, InboundOut
from services.service_desk.mail.tables import MailAttachment
from services.service_desk.settings import DeskSettings
from shared.auth import Principal, Scopes
from shared.errors import UnsupportedMediaType
from shared.http import DbSession, Page, Paging, feature_router, next_cursor

# Streamed: the library's body limit is the larger bulk one; this feature's own bound (above) comes first.
router = feature_router(tags=["mail"], streamed=True)

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]

RFC822 = "message/rfc822"
INBOUND_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    RFC822: {"schema": {"type": "string", "format": "binary"}}}}}
BYTES_RESPONSE: dict[int | str, dict[str, Any]] = {200: {
    "description": "The attachment's bytes", "content": {"application/octet-stream": {
        "schema": {"type": "string", "format": "binary"}}}}}


def _settings(request: Request) -> DeskSettings:
    settings = request.app.state.settings
    return settings if isinstance(settings, DeskSettings) else DeskSettings(service="service_desk")


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limit:
        raise rules.ContentTooLarge(f"The message is {declared} bytes; at most {limit} bytes are accepted.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise rules.ContentTooLarge(f"The message is over {limit} bytes, the most accepted.")
        chunks.append(chunk)
    return b"".join(chunks)


def attachment_out(attachment: MailAttachment) -> AttachmentOut:
    return AttachmentOut(id=attachment.id, ticket_id=attachment.ticket_id, comment_id=attachment.comment_id,
                         filename=attachment.filename, content_type=attachment.content_type, size=attachment.size,
                         created_at=attachment.created_at)


@router.post("/tickets/inbound-email", response_model=InboundOut, summary="Take in a raw e-mail message",
             openapi_extra=INBOUND_BODY)
async def inbound_email(request: Request, db: DbSession, who: Writer) -> InboundOut:
    """A raw RFC 5322 message (``message/rfc822``): threaded by In-Reply-To/References against the
    Message-IDs the desk sent and received, then by the ``[#token]`` in the subject when the sender is the
    ticket's requester or one of its customer's addresses; otherwise a new ticket for the customer with the
    sender's address. A sender no customer has is a 422 (nothing is written), as is anything that is not an
    RFC 5322 message (no header block, no From). An attachment over the limit is a 413. Auto-replies are
    kept as internal notes and change nothing, and are never answered."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != RFC822:
        raise UnsupportedMediaType(f"Send the raw message as {RFC822}.")
    settings = _settings(request)
    raw = await _bounded_body(request, rules.message_size_limit(settings.max_attachment_bytes))
    received = await run_in_threadpool(service.receive, db, who.tenant, raw, settings=settings)
    return InboundOut(outcome=received.outcome,  # type: ignore[arg-type]
                      ticket_id=received.ticket.id if received.ticket is not None else None,
                      comment_id=received.comment_id, threaded_by=received.threaded_by,  # type: ignore[arg-type]
                      follows_ticket_id=received.follows,
                      attachments=[attachment_out(a) for a in received.attachments])


@router.get("/tickets/{ticket_id}/attachments", response_model=Page[AttachmentOut],
            summary="List a ticket's attachments")
def list_attachments(ticket_id: uuid.UUID, db: DbSession, who: Reader, paging: Paging) -> Page[AttachmentOut]:
    rows = service.list_attachments(db, who.tenant, ticket_id, paging)
    return Page(items=[attachment_out(a) for a in rows[:paging.limit]],
                next_cursor=next_cursor([a.id for a in rows], paging.limit))


@router.get("/tickets/{ticket_id}/attachments/{attachment_id}", response_class=Response,
            responses=BYTES_RESPONSE, summary="Download an attachment")
def get_attachment(ticket_id: uuid.UUID, attachment_id: uuid.UUID, db: DbSession, who: Reader) -> Response:
    """The bytes, always as application/octet-stream with the file name (never rendered by a browser as the
    sender declared it)."""
    found = service.get_attachment(db, who.tenant, ticket_id, attachment_id)
    safe_name = "".join(c if c.isascii() and (c.isalnum() or c in "._- ") else "_" for c in found.filename) or "attachment"
    return Response(found.content, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{safe_name}"'})
