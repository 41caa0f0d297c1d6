"""The view builder: applies every domain event of every service to the unified customer view.

Each applied event that touches a known customer produces a new view version,
written to ``customer_views`` and appended to the outbox for the compacted view
topic in the same transaction.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.orm import Session

from services.customer import domain, events, repository
from services.customer.tables import CustomerView
from shared.consumer import Delivery
from shared.db import utcnow
from shared.envelope import CloudEvent

log = logging.getLogger(__name__)


def apply_to_view(session: Session, delivery: Delivery) -> None:
    event = delivery.event
    assert event is not None  # this consumer does not take tombstones
    customer_id = uuid.UUID(event.subject)
    view = repository.get_view(session, customer_id)
    if view is not None and view.tenant_id != event.tenant:
        log.warning("ignoring %s %s: tenant %s does not own customer %s", event.type, event.id, event.tenant, customer_id)
        return
    if event.type == events.DELETED:
        if view is not None:
            repository.forget_view(session, customer_id)
            events.view_removed(session, event.tenant, str(customer_id))
        return
    if view is None:
        view = CustomerView(customer_id=customer_id, tenant_id=event.tenant, version=0, profile=None, kpis={},
                            source_sequences={}, updated_at=event.time)
        session.add(view)
    if not _apply(session, view, event):
        return
    sequences = dict(view.source_sequences)
    sequences[event.service] = max(sequences.get(event.service, 0), event.sequence)
    view.source_sequences = sequences
    view.updated_at = utcnow()
    if view.profile is None:
        return  # facts that arrived before the customer itself: published once the profile is known
    view.version += 1
    session.flush()
    view.kpis = domain.compute_kpis(repository.facts_of(session, customer_id))
    events.view_published(session, event.tenant, view_document(view))


def _apply(session: Session, view: CustomerView, event: CloudEvent) -> bool:
    """Record what the event says; False when it says nothing new about the customer."""
    if event.type in (events.CREATED, events.UPDATED):
        known = view.source_sequences.get("customer")
        if not domain.is_newer(event.sequence, known):
            return False
        view.profile = _profile(event.data["customer"])
        return True
    fact = domain.fact_from_event(event)
    if fact is None:
        return False
    if not domain.is_newer(fact.sequence, repository.known_fact_sequence(session, fact)):
        return False
    repository.save_fact(session, event.tenant, fact)
    return True


def _profile(customer: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "kind", "display_name", *domain.PROFILE_FIELDS[1:])
    return {name: customer.get(name) for name in keep}


def view_document(view: CustomerView) -> dict[str, Any]:
    """The view as published on the topic and served over HTTP."""
    return {
        "customer_id": str(view.customer_id),
        "version": view.version,
        "profile": view.profile or {},
        "kpis": dict(view.kpis),
        "source_sequences": dict(view.source_sequences),
        "updated_at": view.updated_at.isoformat(),
    }
