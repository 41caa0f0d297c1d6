"""HTTP edges of campaign responses: parse, authorise, call the service, shape the reply."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from services.campaign import contract
from services.campaign.responses import service
from services.campaign.responses.schemas import Kind, ResponseOut, ResponseRecord
from shared.auth import Principal, Scopes
from shared.http import DbSession, Page, Paging, feature_router, next_cursor, patience
from shared.replica import embedded

router = feature_router(tags=["campaign responses"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]


def response_out(shown: service.Shown) -> ResponseOut:
    response = shown.response
    return ResponseOut(
        id=response.id,
        campaign_id=response.campaign_id,
        customer_id=response.customer_id,
        customer=embedded(shown.customer, response.customer_id),
        kind=response.kind,  # type: ignore[arg-type]
        variant=response.variant,
        occurred_at=response.occurred_at,
        recorded_at=response.recorded_at,
    )


@router.post("/campaigns/{campaign_id:uuid}/responses", status_code=201, response_model=ResponseOut,
             summary="Record a customer's response to a campaign")
def record_response(campaign_id: uuid.UUID, body: ResponseRecord, request: Request, db: DbSession,
                    who: Writer) -> ResponseOut:
    """The customer must be known to the campaign service (a member of the campaign or not).

    An ``unsubscribed`` response records what the customer did here; it changes no consent,
    which the customer master keeps (``PUT /v1/customers/{id}/consent/{channel}``)."""
    recorded = service.record_response(db, who.tenant, campaign_id, body, wait_seconds=patience(request))
    return response_out(recorded)


@router.get("/campaigns/{campaign_id:uuid}/responses", response_model=Page[ResponseOut],
            summary="List a campaign's responses, in the order they were recorded")
def list_responses(campaign_id: uuid.UUID, db: DbSession, who: Reader, paging: Paging, kind: Kind | None = None,
                   customer_id: uuid.UUID | None = None) -> Page[ResponseOut]:
    shown = service.list_responses(db, who.tenant, campaign_id, paging, {"kind": kind, "customer_id": customer_id})
    return Page(items=[response_out(s) for s in shown[: paging.limit]],
                next_cursor=next_cursor([s.response.id for s in shown], paging.limit))
