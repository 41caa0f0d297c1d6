"""HTTP edges of consent: read a customer's consent per channel and its history, record a change."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services.customer import events
from services.customer.domain import consent as domain
from services.customer.repository import consent as repository
from services.customer.repository import customers as customers_repository
from services.customer.schemas.consent import Channel, ConsentIn, ConsentOut, ConsentRecordOut, ConsentsOut
from shared.auth import Principal, Scopes
from shared.db import utcnow
from shared.errors import NotFound
from shared.http import DbSession, commit_write

router = APIRouter(tags=["consent"])

Reader = Annotated[Principal, Depends(Scopes("customers:read"))]
Writer = Annotated[Principal, Depends(Scopes("customers:write"))]


def _exists(db: DbSession, tenant: str, customer_id: uuid.UUID) -> None:
    if customers_repository.get_customer(db, tenant, customer_id) is None:
        raise NotFound(f"No customer {customer_id}.")


def _consents(db: DbSession, tenant: str, customer_id: uuid.UUID) -> ConsentsOut:
    states = domain.current(repository.current_of(db, tenant, customer_id))
    return ConsentsOut(customer_id=str(customer_id),
                       channels=[ConsentOut(channel=c, **state) for c, state in states.items()])


@router.get("/customers/{customer_id}/consent", response_model=ConsentsOut, summary="Consent per channel")
def get_consent(customer_id: uuid.UUID, db: DbSession, who: Reader) -> ConsentsOut:
    _exists(db, who.tenant, customer_id)
    return _consents(db, who.tenant, customer_id)


@router.put("/customers/{customer_id}/consent/{channel}", response_model=ConsentsOut,
            summary="Record the customer's consent for one channel")
def put_consent(customer_id: uuid.UUID, channel: Channel, body: ConsentIn, request: Request, db: DbSession,
                who: Writer) -> Response:
    _exists(db, who.tenant, customer_id)
    previous = domain.current(repository.current_of(db, who.tenant, customer_id))[channel]["status"]
    record = domain.record(channel=channel, status=body.status, source=body.source, wording=body.wording,
                           recorded_at=body.recorded_at, previous=previous, recorded_by=who.subject, now=utcnow())
    repository.save(db, who.tenant, customer_id, record)
    events.consent_changed(db, who.tenant, str(customer_id), record)
    return commit_write(db, request, _consents(db, who.tenant, customer_id))


@router.get("/customers/{customer_id}/consent/history", response_model=list[ConsentRecordOut],
            summary="Every consent change recorded, oldest first")
def get_consent_history(customer_id: uuid.UUID, db: DbSession, who: Reader,
                        channel: Channel | None = None) -> list[ConsentRecordOut]:
    _exists(db, who.tenant, customer_id)
    return [ConsentRecordOut.model_validate(r, from_attributes=True)
            for r in repository.history_of(db, who.tenant, customer_id, channel)]
