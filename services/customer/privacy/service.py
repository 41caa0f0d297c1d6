"""The customer's privacy rights on the master's side: erasure (right to be forgotten) and export (access).

Erasure anonymises the master row and every record merged into it (the same person),
keeps consent as bare proof (channel, status, time), empties merge snapshots, scrubs
stored events and replayable responses, leaves an audit entry without personal data
and announces ``crm.customer.erased.v1`` so every other service and the view forget
too. Nothing here commits.

Export gathers what this service holds (master, consent, view, timeline, merged
records) and asks the other services over HTTP for theirs, with the caller's own
credentials, so an export never shows more than the caller may read.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
from anyio import to_thread
from sqlalchemy.orm import Session

from services.customer import contract
from services.customer.consent import repository as consent_repository
from services.customer.consent import rules as consent_rules
from services.customer.customers import repository as customers_repository
from services.customer.customers.tables import Customer
from services.customer.merging import repository as merge_repository
from services.customer.privacy import repository
from services.customer.privacy.tables import CustomerErasure
from services.customer.view import repository as view_repository
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, Gone, NotFound, ServiceUnavailable
from shared.http import PageRequest
from shared.lifecycle import ERASED_TEXT, forget_stored_traces
from shared.outbox import publish

# Cleared on erasure; kind, classification, money figures, region and dates stay for the aggregates.
_CLEARED: dict[str, Any] = {
    "given_name": None, "family_name": None, "organization_name": None, "display_name": ERASED_TEXT,
    "name_search": ERASED_TEXT, "emails": [], "phones": [], "addresses": [], "tags": [], "custom_fields": {},
    "external_id": None, "organization_id": None, "organization_role": None,
}
EXPORT_PAGE = 500
EXPORT_TIMEOUT_SECONDS = 30.0


# --- erasure ----------------------------------------------------------------------------


def erase(db: Session, who: Principal, customer_id: uuid.UUID, now: datetime) -> tuple[CustomerErasure, bool]:
    """The audit entry of the customer's erasure, and whether this call did it (False: it was done before)."""
    row = customers_repository.any_customer(db, who.tenant, customer_id, lock=True)
    if row is None:
        raise NotFound(f"No customer {customer_id}.")
    if row.merged_into is not None:
        raise Conflict(f"Customer {customer_id} was merged into {row.merged_into}: erase that customer, "
                       "which erases this record too.")
    done = repository.erasure_of(db, who.tenant, customer_id)
    if done is not None:
        return done, False
    records = [*repository.merged_into(db, who.tenant, customer_id), row]
    ids = [r.id for r in records]
    for record in records:
        _anonymise(record, now)
    repository.drop_keys(db, who.tenant, ids)
    repository.scrub_consent(db, who.tenant, ids)
    for merge in merge_repository.merges_involving(db, who.tenant, set(ids)):
        merge.snapshots, merge.result, merge.erased_at = {}, {}, merge.erased_at or now
    for erased_id in ids:
        forget_stored_traces(db, who.tenant, erased_id)
        # Merged-away records first, the customer last: its view goes after theirs.
        publish(db, contract.CUSTOMER_ERASED, contract.CustomerErased(customer_id=erased_id),
                subject=str(erased_id), tenant=who.tenant)
    audit = CustomerErasure(tenant_id=who.tenant, customer_id=customer_id, erased_ids=[str(i) for i in ids],
                            erased_at=now, requested_by=who.subject)
    db.add(audit)
    return audit, True


def _anonymise(row: Customer, now: datetime) -> None:
    for name, value in _CLEARED.items():
        setattr(row, name, value)
    row.deleted_at = row.deleted_at or now
    row.erased_at = now
    row.version += 1
    row.updated_at = now


def erasure_document(audit: CustomerErasure) -> dict[str, Any]:
    return {"customer_id": str(audit.customer_id), "erased_ids": list(audit.erased_ids),
            "erased_at": audit.erased_at.isoformat(), "requested_by": audit.requested_by}


# --- export -----------------------------------------------------------------------------


async def export(db: Session, tenant: str, customer_id: uuid.UUID, base_urls: dict[str, str],
                 authorization: str) -> dict[str, Any]:
    """This service's part (``local_export``), then each other service's (``remote_export``).

    The other services are asked only once the customer is known to be exportable here;
    ``base_urls``: where each of them answers (the ``service_urls`` setting).
    """
    local = await to_thread.run_sync(local_export, db, tenant, customer_id)
    unknown = [name for name in REMOTE_PARTS if not base_urls.get(name)]
    if unknown:
        raise ServiceUnavailable(f"Where the {', '.join(unknown)} service answers is not configured "
                                 "(CRM_SERVICE_URLS); a partial export would mislead, so none is given.")
    remote = await remote_export(base_urls, authorization, customer_id)
    return local | {"sales": {"opportunities": remote["sales"]}, "service_desk": {"tickets": remote["service_desk"]},
                    "campaign": {"memberships": remote["campaign"]}, "exported_at": utcnow()}




def local_export(db: Session, tenant: str, customer_id: uuid.UUID) -> dict[str, Any]:
    """Everything the customer service holds about the customer, personal fields unmasked."""
    row = customers_repository.any_customer(db, tenant, customer_id)
    if row is None or (row.deleted_at is not None and row.erased_at is None):
        raise NotFound(f"No customer {customer_id}.")
    if row.erased_at is not None:
        raise Gone(f"Customer {customer_id} was erased; nothing personal is held any more.")
    if row.merged_into is not None:
        raise Conflict(f"Customer {customer_id} was merged into {row.merged_into}; export that customer.")
    merged = repository.merged_into(db, tenant, customer_id)
    view = view_repository.get_view_of(db, tenant, customer_id)
    return {
        "customer": customers_repository.document_of(row),
        "merged_records": [customers_repository.document_of(m) for m in merged],
        "merges": [_merge_summary(m) for m in merge_repository.merges_of(db, tenant, customer_id)],
        "consent": {
            "current": [{"channel": c, **_jsonable(s)} for c, s in consent_rules.current(
                consent_repository.current_of(db, tenant, customer_id)).items()],
            "history": [_consent_line(r) for i in (customer_id, *(m.id for m in merged))
                        for r in consent_repository.history_of(db, tenant, i, None)],
        },
        "view": view_repository.view_document(view) if view is not None and view.profile else None,
        "timeline": _timeline(db, tenant, customer_id),
    }


def _merge_summary(merge: Any) -> dict[str, Any]:
    return {"merge_id": str(merge.id), "merged_ids": list(merge.merged_ids), "merged_at": merge.merged_at.isoformat(),
            "merged_by": merge.merged_by, "undone_at": merge.undone_at.isoformat() if merge.undone_at else None}


def _consent_line(record: Any) -> dict[str, Any]:
    return _jsonable({"customer_id": record.customer_id, "channel": record.channel, "status": record.status,
                      "previous_status": record.previous_status, "source": record.source, "wording": record.wording,
                      "recorded_at": record.recorded_at, "recorded_by": record.recorded_by})


def _timeline(db: Session, tenant: str, customer_id: uuid.UUID) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    after: uuid.UUID | None = None
    while True:
        rows = view_repository.timeline(db, tenant, customer_id, PageRequest(limit=EXPORT_PAGE, after=after), None, None)
        entries += [_jsonable({"event_id": r.event_id, "occurred_at": r.occurred_at, "source": r.source,
                               "type": r.type, "summary": r.summary, "resource": r.resource,
                               "original_customer_id": r.original_customer_id}) for r in rows[:EXPORT_PAGE]]
        if len(rows) <= EXPORT_PAGE:
            return entries
        after = rows[EXPORT_PAGE - 1].event_id


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, (uuid.UUID, Decimal)):
            return str(value)
        return value
    return {name: plain(value) for name, value in values.items()}


# --- export: the other services' part ---------------------------------------------------

# service -> (path listing a customer's records, the scope that path needs)
REMOTE_PARTS: dict[str, tuple[str, str]] = {
    "sales": ("/v1/opportunities", "sales:read"),
    "service_desk": ("/v1/tickets", "service_desk:read"),
    "campaign": ("/v1/campaigns/memberships", "campaigns:read"),
}


async def remote_export(base_urls: dict[str, str], authorization: str, customer_id: uuid.UUID) -> dict[str, Any]:
    """Each other service's records of the customer, every page; a service out of reach fails the export (503)."""
    found: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=EXPORT_TIMEOUT_SECONDS, headers={"Authorization": authorization}) as client:
        for service, (path, scope) in REMOTE_PARTS.items():
            found[service] = await _all_pages(client, service, base_urls[service] + path, scope, customer_id)
    return found


async def _all_pages(client: httpx.AsyncClient, service: str, url: str, scope: str,
                     customer_id: uuid.UUID) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"customer_id": str(customer_id), "limit": EXPORT_PAGE}
    while True:
        try:
            response = await client.get(url, params=params)
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"The {service} service could not be reached ({type(exc).__name__}); "
                                     "a partial export would mislead, so none is given. Retry later.") from exc
        if response.status_code in (401, 403):
            raise Forbidden(f"An export needs the scope {scope} too (the {service} service refused).")
        if response.status_code != 200:
            raise ServiceUnavailable(f"The {service} service answered {response.status_code}; "
                                     "a partial export would mislead, so none is given. Retry later.")
        page = response.json()
        items += page["items"]
        if not page.get("next_cursor"):
            return items
        params["cursor"] = page["next_cursor"]
