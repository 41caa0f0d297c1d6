"""What the customer service runs besides HTTP: its consumers and periodic jobs (the process split comes later).

The view builder is a projection (``crm replay view`` rebuilds it from Kafka and compares
``digest``); classification is master data and is not replayed.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.customer.classification.consumers import CLASSIFICATION
from services.customer.classification.jobs import RANK_VALUE_TIERS
from services.customer.view import repository as view_repository
from services.customer.view.consumers import VIEW
from shared.consumer import ConsumerSpec
from shared.jobs import PeriodicJob
from shared.replica import document_hash

CONSUMERS: list[ConsumerSpec] = [VIEW, CLASSIFICATION]
JOBS: tuple[PeriodicJob, ...] = (RANK_VALUE_TIERS,)


def digest(session: Session) -> str:
    """One hash over every view and timeline entry, to prove a replay identical (``crm replay view``)."""
    return view_repository.digest(session)


def states(session: Session) -> dict[uuid.UUID, tuple[int, str]]:
    """Each published view's version and a hash of its document, as the replicas should hold it."""
    return {
        view.customer_id: (view.version, document_hash(view_repository.view_document(view)))
        for view in view_repository.view_rows(session)
        if view.profile is not None and view.removed_at is None and view.merged_into is None
    }
