"""Events the customer service publishes: customer master changes and each new view version."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from shared.lifecycle import ERASED, MERGED, UNMERGED
from shared.outbox import append_event
from shared.topics import CUSTOMER, CUSTOMER_VIEW

CREATED = "crm.customer.created.v1"
UPDATED = "crm.customer.updated.v1"
DELETED = "crm.customer.deleted.v1"
VIEW_UPDATED = "crm.customer.view.updated.v1"
CLASSIFIED = "crm.customer.classified.v1"
CONSENT_CHANGED = "crm.customer.consent_changed.v1"
# Tenant settings, not about one customer: keyed by the tenant's settings id (see settings_subject).
CUSTOM_FIELD_CHANGED = "crm.customer.custom_field.changed.v1"
CLASSIFICATION_CHANGED = "crm.customer.classification_rules.changed.v1"

# Namespace of the ids tenant-level settings events are keyed by (a UUID, like every other subject).
_SETTINGS_NAMESPACE = uuid.UUID("6f1d3c1e-7a52-4d1b-9a3e-0c6d2f7e5b10")


def settings_subject(tenant: str) -> str:
    """The stable key of a tenant's customer-master settings: all its settings events stay in order."""
    return str(uuid.uuid5(_SETTINGS_NAMESPACE, tenant))


def customer_created(session: Session, tenant: str, customer: dict[str, Any]) -> None:
    append_event(session, topic=CUSTOMER, event_type=CREATED, subject=customer["id"], tenant=tenant,
                 data={"customer": customer})


def customer_updated(session: Session, tenant: str, customer: dict[str, Any], changes: dict[str, Any]) -> None:
    append_event(session, topic=CUSTOMER, event_type=UPDATED, subject=customer["id"], tenant=tenant,
                 data={"customer": customer, "changes": changes})


def customer_deleted(session: Session, tenant: str, customer_id: str) -> None:
    append_event(session, topic=CUSTOMER, event_type=DELETED, subject=customer_id, tenant=tenant,
                 data={"customer_id": customer_id})


def customer_classified(session: Session, tenant: str, customer_id: str, classification: dict[str, Any],
                        previous: dict[str, Any]) -> None:
    """``classification``: ``{"customer_group", "value_tier", "value_amount"}``; ``previous``: the group and tier before.

    ``value`` is the figure the tier ranked (lifetime value plus won deals, in the value currency).
    """
    append_event(session, topic=CUSTOMER, event_type=CLASSIFIED, subject=customer_id, tenant=tenant,
                 data={"customer_id": customer_id, "customer_group": classification["customer_group"],
                       "value_tier": classification["value_tier"], "value": format(classification["value_amount"], "f"),
                       "previous": previous})


def consent_changed(session: Session, tenant: str, customer_id: str, consent: dict[str, Any]) -> None:
    """``consent``: channel, status, previous_status, source, wording, recorded_at, recorded_by."""
    append_event(session, topic=CUSTOMER, event_type=CONSENT_CHANGED, subject=customer_id, tenant=tenant,
                 data={"customer_id": customer_id, **consent})


def custom_field_changed(session: Session, tenant: str, definition: dict[str, Any] | None, name: str) -> None:
    """A custom field was declared or changed (``definition``) or removed (``definition=None``)."""
    append_event(session, topic=CUSTOMER, event_type=CUSTOM_FIELD_CHANGED, subject=settings_subject(tenant),
                 tenant=tenant, data={"name": name, "definition": definition, "removed": definition is None})


def classification_rules_changed(session: Session, tenant: str, settings: dict[str, Any]) -> None:
    append_event(session, topic=CUSTOMER, event_type=CLASSIFICATION_CHANGED, subject=settings_subject(tenant),
                 tenant=tenant, data=settings)


def view_published(session: Session, tenant: str, view: dict[str, Any]) -> None:
    # The view document is built from JSON (profile, stored facts) and strings: plain JSON already.
    append_event(session, topic=CUSTOMER_VIEW, event_type=VIEW_UPDATED, subject=view["customer_id"], tenant=tenant,
                 data=view, flush=False, plain_json=True)


def view_removed(session: Session, tenant: str, customer_id: str) -> None:
    """A tombstone: compaction then forgets the customer on the view topic."""
    append_event(session, topic=CUSTOMER_VIEW, event_type=VIEW_UPDATED, subject=customer_id, tenant=tenant, data=None,
                 flush=False)


def customer_merged(session: Session, tenant: str, merge_id: str, survivor: dict[str, Any],
                    merged_ids: list[str]) -> None:
    """Other services re-point the merged-away customers' records to the survivor (see shared.lifecycle)."""
    append_event(session, topic=CUSTOMER, event_type=MERGED, subject=survivor["id"], tenant=tenant,
                 data={"merge_id": merge_id, "survivor_id": survivor["id"], "merged_ids": merged_ids,
                       "customer": survivor})


def customer_unmerged(session: Session, tenant: str, merge_id: str, survivor: dict[str, Any],
                      restored: list[dict[str, Any]]) -> None:
    """Other services give the restored customers their records back; ``restored``: their full documents."""
    append_event(session, topic=CUSTOMER, event_type=UNMERGED, subject=survivor["id"], tenant=tenant,
                 data={"merge_id": merge_id, "survivor_id": survivor["id"],
                       "restored_ids": [doc["id"] for doc in restored], "customer": survivor, "restored": restored})


def customer_erased(session: Session, tenant: str, customer_id: str) -> None:
    """No personal data on purpose: the event only names whom every service must forget."""
    append_event(session, topic=CUSTOMER, event_type=ERASED, subject=customer_id, tenant=tenant,
                 data={"customer_id": customer_id})
