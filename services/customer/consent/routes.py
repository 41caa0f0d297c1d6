"""HTTP edges of consent: read a customer's consent per channel and its history, record a change."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, get_args

from fastapi import Depends
from starlette.convertors import Convertor, register_url_convertor

from services.customer import contract
from services.customer.consent import service
from services.customer.consent.schemas import Channel, ConsentIn, ConsentOut, ConsentRecordOut, ConsentsOut
from shared.auth import Principal, Scopes
from shared.http import DbSession, feature_router


class _ChannelConvertor(Convertor[str]):
    """Only a channel is a channel segment: ``/consent/history`` is another resource, never channel "history"."""

    regex = "|".join(get_args(Channel))

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("consent_channel", _ChannelConvertor())

router = feature_router(tags=["consent"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


def _consents(customer_id: uuid.UUID, states: dict[str, dict[str, Any]]) -> ConsentsOut:
    return ConsentsOut(customer_id=str(customer_id),
                       channels=[ConsentOut(channel=c, **state) for c, state in states.items()])


@router.get("/customers/{customer_id:uuid}/consent", response_model=ConsentsOut, summary="Consent per channel")
def get_consent(customer_id: uuid.UUID, db: DbSession, who: Reader) -> ConsentsOut:
    return _consents(customer_id, service.current(db, who.tenant, customer_id))


@router.put("/customers/{customer_id:uuid}/consent/{channel:consent_channel}", response_model=ConsentsOut,
            summary="Record the customer's consent for one channel")
def put_consent(customer_id: uuid.UUID, channel: Channel, body: ConsentIn, db: DbSession, who: Writer) -> ConsentsOut:
    states = service.record(db, who.tenant, customer_id, channel, status=body.status, source=body.source,
                            wording=body.wording, recorded_at=body.recorded_at, recorded_by=who.subject)
    return _consents(customer_id, states)


@router.get("/customers/{customer_id:uuid}/consent/history", response_model=list[ConsentRecordOut],
            summary="Every consent change recorded, oldest first")
def get_consent_history(customer_id: uuid.UUID, db: DbSession, who: Reader,
                        channel: Channel | None = None) -> list[ConsentRecordOut]:
    return [ConsentRecordOut.model_validate(r, from_attributes=True)
            for r in service.history(db, who.tenant, customer_id, channel)]
