"""HTTP edges of sends, bounces and frequency caps: parse, authorise, call the service, shape the reply.

``POST /v1/campaigns/bounces`` takes a delivery status notification as the mail server received it
(``message/rfc822``: the whole report, RFC 3464)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from services.campaign import contract
from services.campaign.customers import repository as customers
from services.campaign.customers.tables import CustomerReplica
from services.campaign.sends import service
from services.campaign.sends.schemas import (
    BounceOut,
    FrequencyCapIn,
    FrequencyCapOut,
    SendChannel,
    SendOut,
    SendStatus,
)
from services.campaign.sends.tables import CampaignSend, FrequencyCap
from shared.auth import Principal, Scopes
from shared.errors import UnsupportedMediaType
from shared.http import DbSession, Page, Paging, feature_router, next_cursor
from shared.replica import embedded

# Not streamed: a report (the returned message's headers, often the message) fits the JSON body limit.
router = feature_router(tags=["campaign sends"])

Reader = Annotated[Principal, Depends(Scopes(contract.READ_SCOPE))]
Writer = Annotated[Principal, Depends(Scopes(contract.WRITE_SCOPE))]

RFC822 = "message/rfc822"
REPORT_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    RFC822: {"schema": {"type": "string", "format": "binary"}}}}}


def send_out(send: CampaignSend, customer: CustomerReplica | None) -> SendOut:
    return SendOut(id=send.id, campaign_id=send.campaign_id, member_id=send.member_id, customer_id=send.customer_id,
                   customer=embedded(customer, send.customer_id), channel=send.channel,  # type: ignore[arg-type]
                   variant=send.variant, status=send.status, reason=send.reason,  # type: ignore[arg-type]
                   message_id=send.message_id, attempts=send.attempts, last_error=send.last_error,
                   queued_at=send.queued_at, sent_at=send.sent_at, updated_at=send.updated_at)


def cap_out(cap: FrequencyCap) -> FrequencyCapOut:
    return FrequencyCapOut(channel=cap.channel, max_contacts=cap.max_contacts,  # type: ignore[arg-type]
                           period_days=cap.period_days, updated_at=cap.updated_at)


@router.get("/campaigns/{campaign_id:uuid}/sends", response_model=Page[SendOut],
            summary="A campaign's sends, in the order its members joined")
def list_sends(campaign_id: uuid.UUID, db: DbSession, who: Reader, paging: Paging,
               status: SendStatus | None = None) -> Page[SendOut]:
    rows = service.list_sends(db, who.tenant, campaign_id, paging, status)
    found = customers.find_customers(db, who.tenant, {s.customer_id for s in rows})
    return Page(items=[send_out(s, found.get(s.customer_id)) for s in rows[: paging.limit]],
                next_cursor=next_cursor([s.member_id for s in rows], paging.limit))


@router.post("/campaigns/bounces", response_model=BounceOut, openapi_extra=REPORT_BODY,
             summary="Take in a bounce (a delivery status notification) for a campaign e-mail")
async def take_bounce(request: Request, db: DbSession, who: Writer) -> BounceOut:
    """A hard bounce (5.x.x) marks the send ``bounced`` and keeps its address out of every later send on the
    channel; a soft one (4.x.x, delayed) is noted on the send; a report naming no message this tenant sent is
    a 422. The same bounce twice answers ``already_bounced``."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != RFC822:
        raise UnsupportedMediaType(f"Send the report as {RFC822}.")
    raw = await request.body()
    outcome, send = await run_in_threadpool(service.take_bounce, db, who.tenant, raw)
    return BounceOut(outcome=outcome, send_id=send.id, campaign_id=send.campaign_id,  # type: ignore[arg-type]
                     status=send.status)  # type: ignore[arg-type]


@router.get("/frequency-caps", response_model=list[FrequencyCapOut],
            summary="The tenant's frequency caps: at most so many contacts per channel and period")
def list_frequency_caps(db: DbSession, who: Reader) -> list[FrequencyCapOut]:
    return [cap_out(c) for c in service.list_frequency_caps(db, who.tenant)]


@router.put("/frequency-caps/{channel}", response_model=FrequencyCapOut,
            summary="Set the frequency cap of one channel, over every campaign of the tenant")
def set_frequency_cap(channel: SendChannel, body: FrequencyCapIn, db: DbSession, who: Writer) -> FrequencyCapOut:
    return cap_out(service.set_frequency_cap(db, who.tenant, channel, body))


@router.delete("/frequency-caps/{channel}", status_code=204, response_class=Response,
               summary="Remove the frequency cap of one channel (a channel without one answers 204 too)")
def delete_frequency_cap(channel: SendChannel, db: DbSession, who: Writer) -> Response:
    service.delete_frequency_cap(db, who.tenant, channel)
    return Response(status_code=204)
