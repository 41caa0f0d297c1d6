"""Campaign send use cases: queue a running campaign's members, claim a batch for a worker, decide each send at
the moment it leaves (consent, unsubscribes, address, bounces, frequency cap), record what became of it, take
in bounces, list a campaign's sends, set the tenant's frequency caps, and move sends with their customers.

Never twice. A member has at most one send (a unique membership), and a send is recorded before it
leaves, with its Message-ID made from its id. Handing one over is bracketed by two commits of the send job
(``jobs``): the one that marks it ``sending`` (and the one before it ``sent``), and the next. A worker killed
in between leaves exactly that one ``sending``; when its claim runs out it becomes ``unconfirmed`` and is
never handed over again. The price is that such a message (one per crash at most, and only if the kill
fell between the server's acceptance and the next commit) may have reached its member unrecorded.

Every function works inside the caller's unit of work and never commits; each change publishes its
event in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from services.campaign import contract
from services.campaign.campaigns import repository as campaigns
from services.campaign.campaigns import service as campaign_cases
from services.campaign.campaigns.tables import Campaign, CampaignMember
from services.campaign.customers import repository as customers
from services.campaign.responses import repository as responses
from services.campaign.sends import repository, rules
from services.campaign.sends.schemas import FrequencyCapIn
from services.campaign.sends.tables import CampaignSend, FrequencyCap, SuppressedAddress
from shared.bulk import write_rows
from shared.contract import EventType
from shared.db import hold_lock, utcnow
from shared.errors import InvalidInput
from shared.http import PageRequest
from shared.ids import new_id
from shared.outbox import publish

# How long a worker's claim on a batch lasts: longer than a run of the send job (``jobs.RUN_SECONDS`` and one
# message), so that a crashed worker's sends are taken up again within seconds. A claim running out early
# costs nothing: ``prepare`` takes a send only while it is queued, under its row lock.
CLAIM = timedelta(seconds=15)


@dataclass(frozen=True)
class Batch:
    """Sends one worker claimed, in order, with their campaign as it was at the claim."""

    campaign: Campaign
    send_ids: list[uuid.UUID]


@dataclass(frozen=True)
class Outgoing:
    """A send ready to leave: where to, and its words (for e-mail a subject; for SMS and calls the subject is
    the campaign's name)."""

    send_id: uuid.UUID
    message_id: str
    campaign_id: uuid.UUID
    channel: str
    to: str
    subject: str
    body: str
    profile: dict[str, object]


def queue_members(session: Session, campaign_id: uuid.UUID, limit: int, *, mail_from: str) -> int:
    """Give up to ``limit`` members of a running campaign their send, in the order they joined; members of an
    A/B test still waiting for its winner are ``held``."""
    campaign = repository.lock_campaign(session, campaign_id)
    if campaign is None:
        return 0  # not running any more, or another worker is queueing it right now
    members = repository.members_to_queue(session, campaign.id, repository.last_queued_member(session, campaign.id),
                                          limit)
    now = utcnow()
    channel = rules.send_channel(campaign.channel)
    rows = []
    for member in members:
        send_id = new_id()
        held = campaign.test_share is not None and member.variant is None
        rows.append({"id": send_id, "tenant_id": campaign.tenant_id, "campaign_id": campaign.id,
                     "member_id": member.id, "customer_id": member.customer_id, "channel": channel,
                     "variant": member.variant, "status": "held" if held else "queued", "reason": None,
                     "address": None, "message_id": rules.message_id(send_id, mail_from),
                     "queued_at": now, "claimed_until": None, "next_attempt_at": now, "attempts": 0,
                     "last_error": None, "sent_at": None, "updated_at": now})
    write_rows(session, CampaignSend.__table__, rows)  # type: ignore[arg-type]
    return len(rows)


def claim_batch(session: Session, campaign_id: uuid.UUID, *, rate: float, size: int) -> Batch | None:
    """A batch of the campaign's due sends for this worker, as many as its tenant's send rate leaves of the
    last second (every worker's sends count); None: nothing to send now."""
    campaign = campaigns.campaign_by_id(session, campaign_id)
    if campaign is None or campaign.status != "running":
        return None
    now = utcnow()
    room = rules.allowance(rate, repository.sent_recently(session, campaign.tenant_id, now - timedelta(seconds=1)),
                           size)
    sends = repository.claim(session, campaign.id, now, room)
    for send in sends:
        send.claimed_until = now + CLAIM
    return Batch(campaign=campaign, send_ids=[s.id for s in sends]) if sends else None


def recover_stalled(session: Session) -> int:
    """Sends a stopped worker was handing over become ``unconfirmed``: they may have arrived, so they are never
    handed over again."""
    stalled = repository.stalled(session, utcnow())
    for send in stalled:
        _unconfirm(send, "the worker stopped while handing it over; not sent again")
    return len(stalled)


def recover_one(session: Session, send_id: uuid.UUID, error: str) -> None:
    """A send whose hand-over broke off midway (it may have been taken): ``unconfirmed`` at once."""
    send = repository.get_send(session, send_id, for_update=True)
    if send is not None and send.status == "sending":
        _unconfirm(send, "the hand-over broke off; not sent again")
        send.last_error = error[:500]


def prepare(session: Session, batch: Batch, send_id: uuid.UUID) -> Outgoing | None:
    """Decide the send now, in the transaction that marks it: ``sending`` (returned, to be handed over) or
    ``suppressed`` with its reason (None). A send no longer queued (another worker's, an erasure) is left."""
    send = repository.get_send(session, send_id, for_update=True)
    if send is None or send.status != "queued":
        return None
    campaign, now = batch.campaign, utcnow()
    member = session.get(CampaignMember, send.member_id)
    replica = customers.find_customer(session, send.tenant_id, send.customer_id)
    profile = (replica.view.get("profile") or {}) if replica is not None else None
    cap = repository.frequency_cap(session, send.tenant_id, send.channel)
    if cap is not None:
        # Two workers sending two campaigns to one customer at once: the second counts the first's contact
        # only after the first's decision committed, so both cannot pass the cap.
        hold_lock(session, f"frequency-cap:{send.tenant_id}:{send.customer_id}:{send.channel}")
    decision = rules.decide(send.channel, rules.Recipient(
        member_status=member.status if member is not None else "removed",
        profile=profile,
        unsubscribe_pending=responses.unsubscribe_pending(session, send.tenant_id, send.customer_id, send.channel,
                                                          now - rules.UNSUBSCRIBE_GRACE),
        address_suppressed=lambda digest: repository.address_suppressed(session, send.tenant_id, send.channel, digest),
        contacts_in_period=lambda: repository.contacts_since(session, send.tenant_id, send.customer_id, send.channel,
                                                             now - timedelta(days=cap.period_days if cap else 0)),
        cap=cap.max_contacts if cap is not None else None))
    if decision.reason is not None:
        _finish(session, campaign, send, "suppressed", decision.reason, now)
        return None
    assert decision.address is not None and profile is not None
    send.status, send.address, send.sent_at, send.updated_at = "sending", decision.address, now, now
    send.attempts += 1
    subject, body = rules.words(campaign.variants, send.variant, name=campaign.name, objective=campaign.objective)
    return Outgoing(send_id=send.id, message_id=send.message_id, campaign_id=campaign.id, channel=send.channel,
                    to=decision.address, subject=subject, body=body, profile=profile)


def mark_sent(session: Session, campaign: Campaign, send_id: uuid.UUID) -> None:
    send = repository.get_send(session, send_id, for_update=True)
    if send is not None and send.status == "sending":
        send.claimed_until = None
        _finish(session, campaign, send, "sent", None, utcnow())


def mark_refused(session: Session, campaign: Campaign, send_id: uuid.UUID, status: str, diagnostic: str) -> None:
    """The receiving server refused the address for good while the message was handed over: a bounce."""
    send = repository.get_send(session, send_id, for_update=True)
    if send is not None:
        _bounce(session, campaign, send, rules.Bounce(message_id=send.message_id, send_id=send.id, hard=True,
                                                      status=status, diagnostic=diagnostic))


def mark_retry(session: Session, send_ids: list[uuid.UUID], error: str) -> None:
    """The sender could not take these now (server down, a temporary refusal): queued again, with backoff."""
    now = utcnow()
    for send_id in send_ids:
        send = repository.get_send(session, send_id, for_update=True)
        if send is None or send.status not in ("queued", "sending"):
            continue
        send.status, send.claimed_until, send.sent_at, send.updated_at = "queued", None, None, now
        send.next_attempt_at = rules.retry_at(send.attempts, now)
        send.last_error = error[:500]


def release(session: Session, send_ids: list[uuid.UUID]) -> None:
    """Claimed sends this worker did not get to (its run ended): free for the next claim at once."""
    repository.release(session, send_ids)


def take_bounce(session: Session, tenant: str, raw: bytes) -> tuple[str, CampaignSend]:
    """A delivery status notification for one of the tenant's sends: a hard bounce marks the send ``bounced``
    and suppresses its address on the channel; a soft one is noted on the send; a delivery report changes
    nothing. Returns the outcome (bounced, soft_bounce, already_bounced, delivered) and the send."""
    bounce = rules.read_bounce(raw)
    send = repository.get_send(session, bounce.send_id, for_update=True) if bounce.send_id is not None else None
    if send is None or send.tenant_id != tenant:
        raise InvalidInput.on("body", "names no message this service sent (no known Message-ID in the report)")
    if rules.is_delivery_report(bounce):
        return "delivered", send
    if not bounce.hard:
        send.last_error = f"soft bounce {bounce.status}: {bounce.diagnostic}"[:500]
        send.updated_at = utcnow()
        return "soft_bounce", send
    if send.status == "bounced":
        return "already_bounced", send
    campaign = campaign_cases.get_campaign(session, tenant, send.campaign_id)
    _bounce(session, campaign, send, bounce)
    return "bounced", send


def list_sends(session: Session, tenant: str, campaign_id: uuid.UUID, page: PageRequest,
               status: str | None) -> list[CampaignSend]:
    campaign_cases.get_campaign(session, tenant, campaign_id)
    return repository.list_sends(session, campaign_id, page, status)


def set_frequency_cap(session: Session, tenant: str, channel: str, body: FrequencyCapIn) -> FrequencyCap:
    cap = repository.frequency_cap(session, tenant, channel)
    if cap is None:
        cap = FrequencyCap(tenant_id=tenant, channel=channel, max_contacts=body.max_contacts,
                           period_days=body.period_days, updated_at=utcnow())
        repository.save_frequency_cap(session, cap)
    cap.max_contacts, cap.period_days, cap.updated_at = body.max_contacts, body.period_days, utcnow()
    return cap


def list_frequency_caps(session: Session, tenant: str) -> list[FrequencyCap]:
    return repository.frequency_caps(session, tenant)


def delete_frequency_cap(session: Session, tenant: str, channel: str) -> None:
    """The channel has no cap afterwards, whether it had one or not: a repeated delete is no error."""
    cap = repository.frequency_cap(session, tenant, channel)
    if cap is not None:
        repository.delete_frequency_cap(session, cap)


def follow_customer(session: Session, tenant: str, send: CampaignSend, previous: uuid.UUID) -> None:
    """A merge gave the send to the survivor (an unmerge gave it back): announced as moved, not sent again."""
    campaign = campaigns.campaign_by_id(session, send.campaign_id)
    _announce(session, campaign, send, contract.SEND_MOVED, send.updated_at)


def erase_customer(session: Session, tenant: str, customer_id: uuid.UUID) -> None:
    """An erased customer's sends keep their outcome for the campaign's figures and lose the address; one not
    sent yet never will be."""
    now = utcnow()
    for send in repository.sends_of(session, tenant, customer_id):
        send.address, send.updated_at = None, now
        if send.status in ("queued", "held"):
            send.status, send.reason = "suppressed", "unknown_customer"


def _unconfirm(send: CampaignSend, reason: str) -> None:
    send.status, send.reason, send.claimed_until, send.updated_at = "unconfirmed", reason, None, utcnow()


def _finish(session: Session, campaign: Campaign, send: CampaignSend, status: str, reason: str | None,
            now: datetime) -> None:
    send.status, send.reason, send.updated_at = status, reason, now
    if status == "suppressed":
        send.claimed_until = None
    _announce(session, campaign, send, contract.SEND_RECORDED[status], now)


def _bounce(session: Session, campaign: Campaign, send: CampaignSend, bounce: rules.Bounce) -> None:
    now = utcnow()
    send.claimed_until = None
    _finish(session, campaign, send, "bounced", f"{bounce.status} {bounce.diagnostic}".strip()[:300], now)
    if send.address is not None:
        repository.suppress_address(session, SuppressedAddress(
            tenant_id=send.tenant_id, channel=send.channel, address_hash=rules.address_hash(send.address),
            reason=f"bounced: {send.reason}"[:300], send_id=send.id, created_at=now))


def _announce(session: Session, campaign: Campaign | None, send: CampaignSend, event_type: EventType,
              at: datetime) -> None:
    publish(session, event_type, contract.SendRecorded(
        send_id=send.id, campaign_id=send.campaign_id, campaign_name=campaign.name if campaign is not None else "",
        customer_id=send.customer_id, channel=send.channel, variant=send.variant, status=send.status,
        reason=send.reason, occurred_at=at), subject=str(send.customer_id), tenant=send.tenant_id)
