"""Tracking use cases: what a signed link, pixel or unsubscribe does when a customer (or their mail client)
follows it: the response it is, recorded once per send and kind through the responses feature.

An unsubscribe withdraws the customer's consent on the campaign's channel through the responses feature
(queued for the customer master, in this transaction), and from this moment keeps the customer out of
every send on that channel (``sends.rules.UNSUBSCRIBE_GRACE``) until the master's consent arrives in the view.

Every function works inside the caller's unit of work and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.campaign.campaigns import repository as campaigns
from services.campaign.responses import service as responses
from services.campaign.sends import repository as sends
from services.campaign.tracking.rules import Token
from shared.errors import NotFound


@dataclass(frozen=True)
class Followed:
    kind: str
    target: str | None  # where a click goes
    recorded: bool  # False: the send had this response already (a second open, click or unsubscribe)


def follow(session: Session, token: Token) -> Followed:
    """Record the token's response for its send (once per send and kind)."""
    send = sends.get_send(session, token.send_id)
    campaign = campaigns.campaign_by_id(session, send.campaign_id) if send is not None else None
    if send is None or campaign is None:
        raise NotFound("This link's message is no longer known.")
    _, recorded = responses.record_tracked(session, campaign, send.customer_id, token.kind, send.variant,
                                           send_id=send.id)
    return Followed(kind=token.kind, target=token.target, recorded=recorded)


def check(session: Session, token: Token) -> None:
    """The token's send exists (an unsubscribe page is shown only for a real message)."""
    if sends.get_send(session, token.send_id) is None:
        raise NotFound("This link's message is no longer known.")
