"""Rules of campaign responses: when a response may be said to have happened. Plain Python, tested directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shared import backoff
from shared.errors import InvalidInput

# Clocks disagree a little: a response stamped this far ahead of ours is still taken as now-ish.
CLOCK_SKEW = timedelta(minutes=5)


def occurred_at(given: datetime | None, now: datetime) -> datetime:
    """When the response happened, in UTC: the given time (not in the future), else now."""
    if given is None:
        return now
    try:
        moment = given.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00 lies before the first representable UTC time
        raise InvalidInput.on("occurred_at", "is out of range") from None
    if moment > now + CLOCK_SKEW:
        raise InvalidInput.on("occurred_at", "must not be in the future")
    return moment


# The consent an unsubscribe withdraws: the campaign's own channel where the customer master keeps consent for
# it; other campaigns (an event, a web or social campaign) reach people by e-mail, which is what they leave.
CONSENT_CHANNELS = frozenset({"email", "sms", "phone"})
# A withdrawal the customer service could not take yet is retried after 5 s, 10 s, 20 s ... at most 10 min.
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(minutes=10)


def consent_channel(campaign_channel: str) -> str:
    return campaign_channel if campaign_channel in CONSENT_CHANNELS else "email"


def retry_at(attempts: int, now: datetime) -> datetime:
    """When a withdrawal tried ``attempts`` times is tried again."""
    return backoff.next_attempt(attempts, now, first=FIRST_RETRY, longest=LONGEST_RETRY)


def standing_consent(current: dict[str, Any], unsubscribed_at: datetime) -> str | None:
    """Why the channel's current consent (``status``, ``recorded_at`` as the consent API shows it) stands and
    the withdrawal is not sent: superseded (recorded after the unsubscribe), already_opted_out; None: send it."""
    recorded = _moment(current.get("recorded_at"))
    if recorded is not None and recorded > unsubscribed_at:
        return "superseded"
    if current.get("status") == "opt_out":
        return "already_opted_out"
    return None


def _moment(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    return moment if moment is not None and moment.tzinfo is not None else None


def withdrawal_outcome(status: int) -> str | None:
    """What the customer service's answer means: withdrawn, customer_gone (erased or merged away: nothing
    to withdraw), refused (the request itself is wrong: retrying cannot help); None: try again."""
    if status == 200:
        return "withdrawn"
    if status == 404:
        return "customer_gone"
    if status in (400, 409, 422):
        return "refused"
    return None
