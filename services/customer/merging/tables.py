"""Tables of merges: each merge, with everything needed to undo it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.customer.database import Base


class CustomerMerge(Base):
    """One merge of duplicates into a survivor: the records as they were, the choices and the provenance.

    ``snapshots`` holds every participant before the merge (``{id: {"state", "version",
    "updated_at", "customer_group", "value_tier"}}``) and ``result`` the survivor's state
    right after it, so an unmerge can tell the merge's values from later changes.
    Erasing a participant empties both (``erased_at``); the merge then cannot be undone.
    """

    __tablename__ = "customer_merges"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    survivor_id: Mapped[uuid.UUID]
    merged_ids: Mapped[list[Any]]
    snapshots: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any]]
    choices: Mapped[dict[str, Any]]
    consent: Mapped[dict[str, Any]]
    provenance: Mapped[dict[str, Any]]
    merged_at: Mapped[datetime]
    merged_by: Mapped[str] = mapped_column(String(200))
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[str | None] = mapped_column(String(200))
    erased_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_customer_merges_survivor", "tenant_id", "survivor_id", "merged_at"),)
