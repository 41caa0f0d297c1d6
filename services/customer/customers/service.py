"""Use cases of the customer master: create, find, search, change and delete customers.

Each function loads what it needs, applies the rules (``customers.rules``), writes the
rows and appends the events, in the caller's transaction. Nothing here commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.customer import contract
from services.customer.classification import repository as classification_repository
from services.customer.classification import rules as classification_rules
from services.customer.classification.service import classify_customer
from services.customer.custom_fields import repository as custom_fields_repository
from services.customer.custom_fields import rules as field_rules
from services.customer.customers import repository, rules
from services.customer.customers.tables import Customer
from services.customer.duplicates import repository as duplicates_repository
from services.customer.merging import repository as merging_repository
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, Gone, Moved, NotFound
from shared.ids import new_id
from shared.outbox import publish


def published(customer: Customer) -> contract.CustomerDocument:
    """The customer as ``crm.customer.*`` events carry it."""
    return contract.CustomerDocument.model_validate(repository.document_of(customer))


# --- finding one customer -----------------------------------------------------------------


def found(db: Session, tenant: str, customer_id: uuid.UUID, *, redirect: bool = False) -> Customer:
    """A live customer of the tenant, or what a request for it answers instead.

    Merged away: 308 to the survivor on a read (``redirect``), 409 on a write, since
    following a redirect would change the survivor unasked; erased: 410; unknown: 404.
    """
    customer = repository.get_customer(db, tenant, customer_id)
    if customer is None or customer.merged_into is not None:
        _refuse_moved_or_erased(db, tenant, customer_id, redirect=redirect)
    if customer is None:
        raise NotFound(f"No customer {customer_id}.")
    return customer


def _refuse_moved_or_erased(db: Session, tenant: str, customer_id: uuid.UUID, *, redirect: bool) -> None:
    row = repository.any_customer(db, tenant, customer_id)
    if row is None:
        return
    if row.erased_at is not None:
        raise Gone(f"Customer {customer_id} was erased.")
    if row.merged_into is not None and row.deleted_at is None:
        survivor = merging_repository.final_survivor(db, tenant, customer_id) or row.merged_into
        if redirect:
            raise Moved(f"Customer {customer_id} was merged into {survivor}.", location=f"/v1/customers/{survivor}")
        raise Conflict(f"Customer {customer_id} was merged into {survivor}; change that customer instead.")


# --- creating -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Created:
    customer: Customer
    possible_duplicates: list[uuid.UUID]


def create_customer(db: Session, tenant: str, fields: dict[str, Any]) -> Created:
    """A new customer from a create body (as JSON); it is created even if it may duplicate others."""
    fields["custom_fields"] = field_rules.check_values(
        fields["custom_fields"], custom_fields_repository.definitions(db, tenant), creating=True)
    state = rules.new_customer(fields)
    _check_links(db, tenant, state, None)
    _check_external_id(db, tenant, state["external_id"], None)
    classification = classification_rules.classify(state, classification_repository.rules_of(db, tenant))
    now = utcnow()
    customer = Customer(id=new_id(), tenant_id=tenant, version=1, created_at=now, updated_at=now, deleted_at=None,
                        merged_into=None, **classification, **repository.row_values(state))
    db.add(customer)
    repository.replace_keys(db, tenant, customer.id, set(), rules.search_keys(state))
    publish(db, contract.CUSTOMER_CREATED, contract.CustomerCreated(customer=published(customer)),
            subject=str(customer.id), tenant=tenant)
    # Detection on write: the caller learns whom the new record may duplicate.
    duplicates = duplicates_repository.sharing_keys(db, tenant, customer.id, rules.search_keys(state))
    return Created(customer, duplicates)


def _check_links(db: Session, tenant: str, state: dict[str, Any], customer_id: str | None) -> None:
    rules.check_links(state, customer_id, lambda other: repository.kind_of(db, tenant, other),
                      lambda other: repository.ancestors_of(db, tenant, other))


def _check_external_id(db: Session, tenant: str, external_id: str | None, customer_id: uuid.UUID | None) -> None:
    if external_id is None:
        return
    taken = repository.customer_by_external_id(db, tenant, external_id)
    if taken is not None and taken != customer_id:
        raise Conflict(f"Customer {taken} already has external_id '{external_id}'.",
                       errors=[{"field": "external_id", "message": "already used by another customer"}])


# --- searching ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    """A customer list as the client asked for it; every filter narrows the list (AND)."""

    limit: int = 50
    cursor: str | None = None
    sort: str | None = None
    kind: str | None = None
    name: str | None = None
    name_contains: str | None = None
    email: str | None = None
    phone: str | None = None
    tag: str | None = None
    equal: dict[str, Any] = field(default_factory=dict)  # column -> value
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None


@dataclass(frozen=True)
class Listed:
    customers: list[Customer]
    next_cursor: str | None


def search(db: Session, tenant: str, wanted: Search, *, sees_pii: bool) -> Listed:
    """One page in the asked order; searching by e-mail or phone needs the personal-data scope."""
    order = rules.parse_sort(wanted.sort)
    after = rules.decode_cursor(wanted.cursor, order) if wanted.cursor else None
    if (wanted.email or wanted.phone) and not sees_pii:
        raise Forbidden(f"Searching by e-mail or phone needs the scope {contract.PII_SCOPE}.")
    keys = [("email", rules.email_key(wanted.email))] if wanted.email else []
    keys += [("phone", rules.phone_query(wanted.phone))] if wanted.phone else []
    keys += [("tag", wanted.tag.strip().lower())] if wanted.tag else []
    filters = repository.Filters(
        kind=wanted.kind, name_prefix=rules.name_query(wanted.name) if wanted.name else None,
        name_contains=rules.name_query(wanted.name_contains) if wanted.name_contains else None, keys=keys,
        equal={column: value for column, value in wanted.equal.items() if value is not None},
        created_after=wanted.created_after, created_before=wanted.created_before,
        updated_after=wanted.updated_after, updated_before=wanted.updated_before)
    rows = repository.search_customers(db, tenant, filters, order, after, wanted.limit)
    last = rows[wanted.limit - 1] if len(rows) > wanted.limit else None
    cursor = rules.encode_cursor(order, last.id, repository.sort_key(last, order)) if last else None
    return Listed(rows[:wanted.limit], cursor)


@dataclass(frozen=True)
class Hierarchy:
    customer: Customer
    ancestors: list[Customer]
    descendants: list[Customer]


def hierarchy(db: Session, tenant: str, customer_id: uuid.UUID) -> Hierarchy:
    """An organization's parents (nearest first) and every subsidiary below it."""
    customer = found(db, tenant, customer_id)
    ancestors = [found(db, tenant, uuid.UUID(a)) for a in repository.ancestors_of(db, tenant, str(customer.id))]
    return Hierarchy(customer, ancestors, repository.hierarchy_rows(db, tenant, customer.id))


# --- changing and deleting ------------------------------------------------------------------


def change_customer(db: Session, tenant: str, customer_id: uuid.UUID, sent: dict[str, Any], *,
                    check_version: Callable[[int], None]) -> Customer:
    """A partial update (the fields sent, as JSON); nothing is written or announced if nothing changed."""
    customer = found(db, tenant, customer_id)
    check_version(customer.version)
    current = repository.state_of(customer)
    if "custom_fields" in sent:
        sent["custom_fields"] = field_rules.check_values(
            sent["custom_fields"] or {}, custom_fields_repository.definitions(db, tenant), creating=False)
    state, changes = rules.change_customer(current, sent)
    if changes:
        if changes.keys() & {"parent_id", "organization_id", "organization_role"}:
            _check_links(db, tenant, state, str(customer.id))
        if "external_id" in changes:
            _check_external_id(db, tenant, state["external_id"], customer.id)
        repository.replace_keys(db, tenant, customer.id, rules.search_keys(current), rules.search_keys(state))
        for name, value in repository.row_values(state).items():
            setattr(customer, name, value)
        classify_customer(db, tenant, customer, state)
        customer.version += 1
        customer.updated_at = utcnow()
        publish(db, contract.CUSTOMER_UPDATED, contract.CustomerUpdated(customer=published(customer), changes=changes),
                subject=str(customer.id), tenant=tenant)
    return customer


def delete_customer(db: Session, tenant: str, customer_id: uuid.UUID, *,
                    check_version: Callable[[int], None]) -> None:
    """An organization goes only once no subsidiary or person points at it any more."""
    customer = found(db, tenant, customer_id)
    check_version(customer.version)
    if customer.kind == "organization" and repository.has_dependants(db, tenant, customer.id):
        raise Conflict("This organization still has subsidiaries or persons; move or delete them first.")
    customer.deleted_at = utcnow()
    customer.version += 1
    repository.replace_keys(db, tenant, customer.id, rules.search_keys(repository.state_of(customer)), set())
    publish(db, contract.CUSTOMER_DELETED, contract.CustomerDeleted(customer_id=customer.id),
            subject=str(customer.id), tenant=tenant)
