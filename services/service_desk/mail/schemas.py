"""Response bodies of the e-mail channel: what an inbound message did, and a ticket's attachments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Outcome = Literal["commented", "reopened", "created", "followed_up", "duplicate", "ignored"]


class InboundOut(BaseModel):
    outcome: Outcome = Field(description=(
        "commented: added to the thread's ticket; reopened: added, and the resolved ticket reopened; created: a "
        "new ticket; followed_up: a new ticket after a closed one (or one resolved past the reopen window), "
        "which it mentions; duplicate: this Message-ID was received before, nothing new was written; ignored: "
        "an auto-reply with no open thread (or our own mail), nothing was written"))
    ticket_id: uuid.UUID | None
    comment_id: uuid.UUID | None = Field(description="The comment the message became (none for a new ticket: "
                                                     "the message is its description)")
    threaded_by: Literal["references", "token"] | None = Field(
        description="How the message found its ticket: its In-Reply-To/References, or the subject's token")
    follows_ticket_id: uuid.UUID | None = Field(description="For followed_up: the earlier ticket")
    attachments: list[AttachmentOut]


class AttachmentOut(BaseModel):
    id: uuid.UUID
    ticket_id: uuid.UUID
    comment_id: uuid.UUID | None = Field(description="The comment whose message carried it; none for the message "
                                                     "that opened the ticket")
    filename: str
    content_type: str = Field(description="As the message declared it; the download is served as "
                                          "application/octet-stream")
    size: int = Field(description="Bytes")
    created_at: datetime


InboundOut.model_rebuild()
