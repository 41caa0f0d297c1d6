"""What the sales service runs besides HTTP: its consumers and periodic jobs, and the checks of its replica."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.sales.customers import consumers as customers
from services.sales.customers.repository import REPLICA
from services.sales.opportunities import consumers as opportunities
from shared.consumer import ConsumerSpec
from shared.jobs import PeriodicJob

CONSUMERS: list[ConsumerSpec] = [
    customers.VIEW_REPLICA,
    customers.following([opportunities.FOLLOWER]),
]
JOBS: tuple[PeriodicJob, ...] = ()


def digest(session: Session) -> str:
    """One hash over the view replica, to prove a rebuild from the view topic identical."""
    return REPLICA.digest(session)


def states(session: Session) -> dict[uuid.UUID, tuple[int, str]]:
    """Each replicated customer's view version and document hash, to check against the master view."""
    return REPLICA.states(session)
