"""HTTP edges of the customer's privacy rights: erasure and export (GDPR articles 17, 15 and 20)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from services.customer import contract
from services.customer.privacy import service
from services.customer.privacy.schemas import ErasureOut, ExportOut
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.openapi import GONE, UNAVAILABLE
from shared.http import DbSession, feature_router

router = feature_router(tags=["privacy"], responses=GONE | UNAVAILABLE)

Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]
Exporter = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE, contract.PII_SCOPE))]


@router.post("/customers/{customer_id:uuid}/erase", response_model=ErasureOut,
             summary="Erase the customer's personal data everywhere (irreversible; repeatable)")
def erase_customer(customer_id: uuid.UUID, db: DbSession, who: Writer) -> ErasureOut:
    """Anonymises the master record (aggregates kept) and every record merged into it, and tells every
    service to forget the customer. Repeating it answers 200 with the first erasure's audit entry;
    the customer then answers 410 Gone."""
    audit, _ = service.erase(db, who, customer_id, utcnow())
    return ErasureOut.model_validate(service.erasure_document(audit))


@router.get("/customers/{customer_id:uuid}/export", response_model=ExportOut,
            summary="Everything held about the customer, from every service (needs customers:pii)")
async def export_customer(customer_id: uuid.UUID, request: Request, db: DbSession, who: Exporter) -> ExportOut:
    """The other services are asked with the caller's own token (so it needs their read scopes too);
    if one cannot be reached the answer is 503 rather than a partial export."""
    found = await service.export(db, who.tenant, customer_id, request.app.state.settings.service_urls,
                                 request.headers["authorization"])
    return ExportOut(**found)
