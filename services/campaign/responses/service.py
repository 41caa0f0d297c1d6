"""Campaign response use cases: record a customer's response, list a campaign's responses, and move
responses with their customers' life cycle.

Who may respond: any customer the campaign service's view replica knows, member of the campaign
or not. A forwarded e-mail, a colleague registering at the door or a click on a shared link is
a real response from a real customer, and the reports can still tell members from the rest; a
customer nobody knows is refused (422), as everywhere a record names a customer.

An ``unsubscribed`` response is recorded and announced like any other, and it withdraws the
customer's consent: the consent is the customer master's, so a withdrawal is queued with the response
(same transaction) and the worker's ``consent-sync`` job carries it to the customer service's consent
API (``PUT /v1/customers/{id}/consent/{channel}``, opt_out), under the response's id as the
idempotency key, retried with backoff until the customer service answers. The channel is the
campaign's where consent is kept for it (e-mail, SMS, phone), else e-mail. A second unsubscribe is a
response of its own and sets opt_out again, which changes nothing.

Every function works inside the caller's unit of work and never commits; each change publishes
its event in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.campaign import contract
from services.campaign.campaigns import repository as campaigns
from services.campaign.campaigns import service as campaign_cases
from services.campaign.campaigns.tables import Campaign
from services.campaign.customers import repository as customers
from services.campaign.customers.tables import CustomerReplica
from services.campaign.responses import repository, rules
from services.campaign.responses.schemas import ResponseRecord
from services.campaign.responses.tables import CampaignResponse, ConsentWithdrawal
from shared.contract import EventType
from shared.db import utcnow
from shared.http import PageRequest
from shared.ids import new_id
from shared.outbox import publish


@dataclass(frozen=True)
class Shown:
    """A response with its customer as the replica knows it (None: erased or not replicated yet)."""

    response: CampaignResponse
    customer: CustomerReplica | None


def record_response(session: Session, tenant: str, campaign_id: uuid.UUID, body: ResponseRecord, *,
                    wait_seconds: float) -> Shown:
    """Record the response and announce it as ``crm.campaign.response.<kind>.v1``, about the customer."""
    campaign = campaign_cases.get_campaign(session, tenant, campaign_id)  # 404 first: no wait for an unknown one
    now = utcnow()
    occurred_at = rules.occurred_at(body.occurred_at, now)
    customer = customers.require_customer(session, tenant, body.customer_id, wait_seconds=wait_seconds)
    response = _record(session, campaign, body.customer_id, body.kind, body.variant, occurred_at, now, send_id=None)
    return Shown(response, customer)


def record_tracked(session: Session, campaign: Campaign, customer_id: uuid.UUID, kind: str, variant: str | None, *,
                   send_id: uuid.UUID) -> tuple[CampaignResponse, bool]:
    """A response from a send's tracked link, pixel or unsubscribe: recorded once per send and kind (a second
    open, click or unsubscribe changes nothing); returns it and whether it is new."""
    existing = repository.response_of_send(session, send_id, kind)
    if existing is not None:
        return existing, False
    now = utcnow()
    return _record(session, campaign, customer_id, kind, variant, now, now, send_id=send_id), True


def _record(session: Session, campaign: Campaign, customer_id: uuid.UUID, kind: str, variant: str | None,
            occurred_at: datetime, now: datetime, *, send_id: uuid.UUID | None) -> CampaignResponse:
    tenant = campaign.tenant_id
    response = CampaignResponse(id=new_id(), tenant_id=tenant, campaign_id=campaign.id, customer_id=customer_id,
                                kind=kind, variant=variant, send_id=send_id, occurred_at=occurred_at, recorded_at=now)
    session.add(response)
    _announce(session, tenant, contract.RESPONSE_RECORDED[response.kind], response, campaign.name)
    if response.kind == "unsubscribed":
        repository.queue_withdrawal(session, ConsentWithdrawal(
            response_id=response.id, tenant_id=tenant, customer_id=response.customer_id,
            channel=rules.consent_channel(campaign.channel), source=f"unsubscribed from campaign {campaign.name}"[:200],
            requested_at=occurred_at, attempts=0, next_attempt_at=now, outcome=None, last_error=None))
    return response


def list_responses(session: Session, tenant: str, campaign_id: uuid.UUID, page: PageRequest,
                   filters: dict[str, Any]) -> list[Shown]:
    """The page's responses to one campaign, plus one more if there is a next page."""
    campaign_cases.get_campaign(session, tenant, campaign_id)
    rows = repository.list_responses(session, campaign_id, page, filters)
    found = customers.find_customers(session, tenant, {r.customer_id for r in rows})
    return [Shown(r, found.get(r.customer_id)) for r in rows]


def follow_customer(session: Session, tenant: str, response: CampaignResponse, previous: uuid.UUID) -> None:
    """A merge gave the response to the survivor (an unmerge gave it back): announced as moved, not as new."""
    campaign = campaigns.get_campaign(session, tenant, response.campaign_id)
    _announce(session, tenant, contract.RESPONSE_MOVED, response, campaign.name if campaign is not None else "")


def erase_customer(session: Session, tenant: str, customer_id: uuid.UUID) -> None:
    """Responses name no one once the customer is erased (ids and kinds only): they stay, for the campaign's figures."""


def _announce(session: Session, tenant: str, event_type: EventType, response: CampaignResponse,
              campaign_name: str) -> None:
    publish(session, event_type, contract.ResponseRecorded(
        response_id=response.id, campaign_id=response.campaign_id, campaign_name=campaign_name,
        customer_id=response.customer_id, kind=response.kind, occurred_at=response.occurred_at),
        subject=str(response.customer_id), tenant=tenant)
