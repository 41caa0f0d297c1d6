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

from services.customer import events
from services.customer.domain import customers as master
from services.customer.domain import view as domain
from services.customer.repository import view as repository
from services.customer.tables import CustomerView
from shared.consumer import Delivery
from shared.db import utcnow
from shared.envelope import CloudEvent

log = logging.getLogger(__name__)


def apply_to_view(session: Session, delivery: Delivery) -> None:
    event = delivery.event
    assert event is not None  # this consumer does not take tombstones
    if event.service == "customer":
        _apply_customer_event(session, event)
        return
    fact = domain.fact_from_event(event)
    if fact is None:
        return  # e.g. a campaign was created: nothing about any one customer
    view = _view_for(session, event)
    if view is None or not domain.is_newer(fact.sequence, repository.known_fact_sequence(session, fact)):
        return
    repository.save_fact(session, event.tenant, fact)
    _publish(session, view, event)


def _apply_customer_event(session: Session, event: CloudEvent) -> None:
    view = _view_for(session, event)
    if view is None:
        return
    if event.type == events.DELETED:
        repository.forget_view(session, view.customer_id)
        events.view_removed(session, event.tenant, str(view.customer_id))
        return
    if event.type in (events.CREATED, events.UPDATED) and domain.is_newer(
        event.sequence, view.source_sequences.get("customer")
    ):
        view.profile = _profile(event.data["customer"])
        _publish(session, view, event)


def _view_for(session: Session, event: CloudEvent) -> CustomerView | None:
    """The view the event belongs to (created empty if new); None if another tenant owns it."""
    customer_id = uuid.UUID(event.subject)
    view = repository.get_view(session, customer_id)
    if view is None:
        view = CustomerView(customer_id=customer_id, tenant_id=event.tenant, version=0, profile=None, kpis={},
                            source_sequences={}, updated_at=event.time)
        session.add(view)
    elif view.tenant_id != event.tenant:
        log.warning("ignoring %s %s: tenant %s does not own customer %s", event.type, event.id, event.tenant, customer_id)
        return None
    return view


def _publish(session: Session, view: CustomerView, event: CloudEvent) -> None:
    """Record that the event was applied and, once the customer is known, publish the new version."""
    sequences = dict(view.source_sequences)
    sequences[event.service] = max(sequences.get(event.service, 0), event.sequence)
    view.source_sequences = sequences
    view.updated_at = utcnow()
    if view.profile is None:
        return  # facts that arrived before the customer itself: published once the profile is known
    view.version += 1
    session.flush()
    view.kpis = domain.compute_kpis(repository.facts_of(session, view.customer_id))
    events.view_published(session, event.tenant, view_document(view))


def _profile(customer: dict[str, Any]) -> dict[str, Any]:
    keep = ("id", "kind", "display_name", *master.PROFILE_FIELDS[1:])
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
