"""What the customer service runs besides HTTP: its consumers and periodic jobs.

The view builder is a projection (``crm replay view`` rebuilds it from Kafka and compares
``digest``); classification is master data and is not replayed.
"""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from sqlalchemy.orm import Session

from services.customer import contract
from services.customer.classification.consumers import CLASSIFICATION
from services.customer.classification.jobs import RANK_VALUE_TIERS, CustomerSettings
from services.customer.view import repository as view_repository
from services.customer.view.consumers import VIEW
from shared.consumer import ConsumerSpec
from shared.jobs import PeriodicJob
from shared.replica import document_hash
from shared.settings import load_settings
from shared.worker import create_worker_app, run_worker

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


def create_worker() -> FastAPI:
    """The worker process: ``python -m services.customer.worker`` (or ``uvicorn --factory``)."""
    return create_worker_app(settings=load_settings("customer", CustomerSettings), consumers=CONSUMERS, jobs=JOBS,
                             topics=contract.TOPICS)


if __name__ == "__main__":
    run_worker(create_worker)
