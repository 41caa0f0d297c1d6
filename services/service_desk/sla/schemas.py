"""Request and response bodies of SLA policies and calendars, and a ticket's SLA as every ticket shows it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

SlaState = Literal["ok", "warning", "breached", "paused"]


class TicketSla(BaseModel):
    """A ticket's SLA: the policy that applies and its due times, recomputed on every change."""

    policy_id: uuid.UUID
    policy: str
    first_response_due: datetime | None
    next_response_due: datetime | None
    resolution_due: datetime | None
    state: SlaState
