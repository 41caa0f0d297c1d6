"""HTTP edges of the customer's privacy rights: erasure and export (GDPR articles 17, 15 and 20)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from services.customer import privacy
from services.customer.routes.customers import PII, Writer
from services.customer.schemas.merging import ErasureOut, ExportOut
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.http import DbSession, commit_write
from shared.settings import SERVICES

router = APIRouter(tags=["privacy"])

Exporter = Annotated[Principal, Depends(Scopes("customers:read", PII))]


@router.post("/customers/{customer_id}/erase", response_model=ErasureOut,
             summary="Erase the customer's personal data everywhere (irreversible; repeatable)")
def erase_customer(customer_id: uuid.UUID, request: Request, db: DbSession, who: Writer) -> Response:
    """Anonymises the master record (aggregates kept) and every record merged into it, and tells every
    service to forget the customer. Repeating it answers 200 with the first erasure's audit entry;
    the customer then answers 410 Gone."""
    audit, _ = privacy.erase(db, who, customer_id, utcnow())
    return commit_write(db, request, ErasureOut.model_validate(privacy.erasure_document(audit)))


@router.get("/customers/{customer_id}/export", response_model=ExportOut,
            summary="Everything held about the customer, from every service (needs customers:pii)")
async def export_customer(customer_id: uuid.UUID, request: Request, who: Exporter) -> ExportOut:
    """The other services are asked with the caller's own token (so it needs their read scopes too);
    if one cannot be reached the answer is 503 rather than a partial export."""
    local = await run_in_threadpool(_local, request, who.tenant, customer_id)
    settings = request.app.state.settings
    remote = await privacy.remote_export({s: settings.url_of(s) for s in SERVICES if s != "customer"},
                                         request.headers["authorization"], customer_id)
    return ExportOut(**local, sales={"opportunities": remote["sales"]},
                     service_desk={"tickets": remote["service_desk"]},
                     campaign={"memberships": remote["campaign"]}, exported_at=utcnow())


def _local(request: Request, tenant: str, customer_id: uuid.UUID) -> dict[str, Any]:
    with request.app.state.sessions() as session:
        return privacy.local_export(session, tenant, customer_id)
