"""Merge and unmerge of customers, and provenance: the rules applied to the database, in the caller's transaction.

Each function loads what it needs, asks the plain rules (``merging.rules``), writes the
rows and appends the events. Nothing here commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.customer import contract
from services.customer.classification.service import classify_customer
from services.customer.consent import repository as consent_repository
from services.customer.consent import rules as consent_rules
from services.customer.consent import service as consent_service
from services.customer.customers import repository
from services.customer.customers import rules as customer_rules
from services.customer.customers import service as customers_service
from services.customer.customers.tables import Customer
from services.customer.merging import repository as merge_repository
from services.customer.merging import rules
from services.customer.merging.tables import CustomerMerge
from shared.auth import Principal
from shared.errors import Conflict, Gone, InvalidInput, NotFound
from shared.ids import new_id
from shared.outbox import publish


@dataclass(frozen=True)
class Unmerged:
    merge: CustomerMerge
    survivor: Customer
    restored: list[Customer]
    kept_fields: list[str]


# --- merge ------------------------------------------------------------------------------


def merge(db: Session, who: Principal, survivor_id: uuid.UUID, duplicate_ids: list[uuid.UUID],
          choices: dict[str, str], consent: dict[str, str], now: datetime, *,
          check_version: Callable[[int], None] | None = None) -> tuple[CustomerMerge, Customer]:
    """Fold the duplicates into the survivor; ``check_version`` (If-Match) is checked on the survivor first."""
    if check_version is not None:
        check_version(customers_service.found(db, who.tenant, survivor_id).version)
    rules.check_participants(str(survivor_id), [str(d) for d in duplicate_ids])
    rows = merge_repository.rows_for_update(db, who.tenant, [survivor_id, *duplicate_ids])
    survivor = _live_survivor(rows.get(survivor_id), survivor_id)
    duplicates = _live_duplicates(db, who.tenant, rows, duplicate_ids)
    statuses = _consent_statuses(db, who.tenant, [survivor, *duplicates])
    candidates = [_candidate(row, statuses[row.id]) for row in (survivor, *duplicates)]
    outcome = rules.merge(candidates[0], candidates[1:], choices, consent, now)
    merge_id = new_id()
    record = CustomerMerge(
        id=merge_id, tenant_id=who.tenant, survivor_id=survivor.id, merged_ids=[str(d.id) for d in duplicates],
        snapshots={str(c.id): merge_repository.snapshot(row, c.state) for c, row in
                   zip(candidates, (survivor, *duplicates))},
        result=outcome.state, choices=choices, consent=consent, provenance=outcome.provenance, merged_at=now,
        merged_by=who.subject, undone_at=None, undone_by=None, erased_at=None)
    db.add(record)
    _release_external_id(db, duplicates, outcome.state.get("external_id"))
    for duplicate in duplicates:
        repository.replace_keys(db, who.tenant, duplicate.id, customer_rules.search_keys(repository.state_of(duplicate)),
                                set())
        duplicate.merged_into = survivor.id
        _touched(duplicate, now)
    _write_state(db, who.tenant, survivor, candidates[0].state, outcome.state, now)
    _record_consent(db, who, survivor, duplicates, outcome.consent, merge_id, now)
    publish(db, contract.CUSTOMER_MERGED, contract.CustomerMerged(
        merge_id=merge_id, survivor_id=survivor.id, merged_ids=record.merged_ids,
        customer=customers_service.published(survivor)), subject=str(survivor.id), tenant=who.tenant)
    return record, survivor


def _live_survivor(row: Customer | None, survivor_id: uuid.UUID) -> Customer:
    if row is None or row.deleted_at is not None:
        if row is not None and row.erased_at is not None:
            raise Gone(f"Customer {survivor_id} was erased.")
        raise NotFound(f"No customer {survivor_id}.")
    if row.merged_into is not None:
        raise Conflict(f"Customer {survivor_id} was merged into {row.merged_into}; it cannot take part in a merge.")
    return row


def _live_duplicates(db: Session, tenant: str, rows: dict[uuid.UUID, Customer],
                     duplicate_ids: list[uuid.UUID]) -> list[Customer]:
    errors = []
    for duplicate_id in duplicate_ids:
        row = rows.get(duplicate_id)
        if row is None or row.deleted_at is not None:
            errors.append({"field": "duplicate_ids", "message": f"no customer {duplicate_id}"})
        elif row.merged_into is not None:
            errors.append({"field": "duplicate_ids", "message": f"{duplicate_id} is already merged into {row.merged_into}"})
        elif row.kind == "organization" and repository.has_dependants(db, tenant, row.id):
            # Re-pointing subsidiaries and persons is not part of a merge (yet): refuse rather than orphan them.
            errors.append({"field": "duplicate_ids",
                           "message": f"{duplicate_id} still has subsidiaries or persons; move them first"})
    if errors:
        raise InvalidInput("; ".join(e["message"] for e in errors), errors=errors)
    return [rows[d] for d in duplicate_ids]


def _consent_statuses(db: Session, tenant: str, rows: list[Customer]) -> dict[uuid.UUID, dict[str, str]]:
    found = merge_repository.consents_of(db, tenant, [row.id for row in rows])
    return {customer_id: {channel: c.status for channel, c in channels.items()} for customer_id, channels in found.items()}


def _candidate(row: Customer, consent: dict[str, str]) -> rules.Candidate:
    return rules.Candidate(id=str(row.id), state=repository.state_of(row), updated_at=row.updated_at, consent=consent)


def _release_external_id(db: Session, duplicates: list[Customer], external_id: str | None) -> None:
    """A duplicate whose external id the survivor takes gives it up first (it is unique per tenant)."""
    holders = [d for d in duplicates if external_id is not None and d.external_id == external_id]
    for holder in holders:
        holder.external_id = None
    if holders:
        db.flush()


def _touched(row: Customer, now: datetime) -> None:
    row.version += 1
    row.updated_at = now


def _write_state(db: Session, tenant: str, row: Customer, old: dict[str, Any], new: dict[str, Any],
                 now: datetime) -> None:
    """A new state on a row: search keys, columns, classification (announced if it changed), version."""
    repository.replace_keys(db, tenant, row.id, customer_rules.search_keys(old), customer_rules.search_keys(new))
    for name, value in repository.row_values(new).items():
        setattr(row, name, value)
    classify_customer(db, tenant, row, new)
    _touched(row, now)


def _record_consent(db: Session, who: Principal, survivor: Customer, duplicates: list[Customer],
                    resolved: dict[str, str], merge_id: uuid.UUID, now: datetime) -> None:
    """The caller's consent resolution, recorded on the survivor as any consent change is."""
    if not resolved:
        return
    rows = merge_repository.consents_of(db, who.tenant, [survivor.id, *(d.id for d in duplicates)])
    current = consent_rules.current(consent_repository.current_of(db, who.tenant, survivor.id))
    for channel, status in sorted(resolved.items()):
        # An opt-in keeps the wording of the record that gave it (an opt-in always has one).
        wording = next((r[channel].wording for r in rows.values() if channel in r and r[channel].status == status), None)
        record = consent_rules.record(channel=channel, status=status, source=f"merge {merge_id}", wording=wording,
                                      recorded_at=now, previous=current[channel]["status"],
                                      recorded_by=who.subject, now=now)
        consent_service.save(db, who.tenant, survivor.id, record)


# --- unmerge ----------------------------------------------------------------------------


def unmerge(db: Session, who: Principal, survivor_id: uuid.UUID, merge_id: uuid.UUID | None,
            now: datetime) -> Unmerged:
    survivor = _live_survivor(merge_repository.rows_for_update(db, who.tenant, [survivor_id]).get(survivor_id),
                              survivor_id)
    record = _merge_to_undo(db, who.tenant, survivor_id, merge_id)
    merged_ids = [uuid.UUID(i) for i in record.merged_ids]
    restored = merge_repository.rows_for_update(db, who.tenant, merged_ids)
    current = repository.state_of(survivor)
    before = record.snapshots[str(survivor_id)]["state"]
    state, kept = rules.unmerged_survivor(before, record.result, current)
    customer_rules.check_identity(state)
    _write_state(db, who.tenant, survivor, current, state, now)
    db.flush()  # the survivor gives back an external id before a restored record takes it again
    rows = [_restore(db, who.tenant, restored[i], record.snapshots[str(i)], now) for i in merged_ids if i in restored]
    record.undone_at, record.undone_by = now, who.subject
    publish(db, contract.CUSTOMER_UNMERGED, contract.CustomerUnmerged(
        merge_id=record.id, survivor_id=survivor.id, restored_ids=[r.id for r in rows],
        customer=customers_service.published(survivor), restored=[customers_service.published(r) for r in rows]),
        subject=str(survivor.id), tenant=who.tenant)
    return Unmerged(merge=record, survivor=survivor, restored=rows, kept_fields=kept)


def _merge_to_undo(db: Session, tenant: str, survivor_id: uuid.UUID, merge_id: uuid.UUID | None) -> CustomerMerge:
    if merge_id is None:
        in_effect = merge_repository.merges_in_effect(db, tenant, survivor_id)
        if not in_effect:
            raise NotFound(f"Customer {survivor_id} has no merge to undo.")
        return in_effect[0]
    record = merge_repository.get_merge(db, tenant, merge_id)
    if record is None or record.survivor_id != survivor_id:
        raise NotFound(f"No merge {merge_id} into customer {survivor_id}.")
    if record.undone_at is not None:
        raise Conflict(f"Merge {merge_id} was already undone at {record.undone_at.isoformat()}.")
    if record.erased_at is not None:
        raise Gone(f"Merge {merge_id} involved an erased customer; it cannot be undone.")
    return record


def _restore(db: Session, tenant: str, row: Customer, snapshot: dict[str, Any], now: datetime) -> Customer:
    """A merged-away record as it was before the merge (its external id only if nobody took it since)."""
    state = dict(snapshot["state"])
    holder = repository.customer_by_external_id(db, tenant, state["external_id"]) if state.get("external_id") else None
    if holder is not None and holder != row.id:
        state["external_id"] = None
    row.merged_into = None
    _write_state(db, tenant, row, {}, state, now)
    return row


# --- provenance -------------------------------------------------------------------------


def provenance(db: Session, tenant: str, customer_id: uuid.UUID) -> tuple[Customer, dict[str, dict[str, Any]]]:
    """The customer, and where each of its current values came from."""
    customer = customers_service.found(db, tenant, customer_id, redirect=True)
    merges = [(m.result, m.provenance) for m in merge_repository.merges_in_effect(db, tenant, customer.id)]
    return customer, rules.provenance(str(customer.id), repository.state_of(customer), customer.updated_at, merges)
