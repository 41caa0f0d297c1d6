"""The ``consent-sync`` job: unsubscribes carried to the customer master's consent API.

Each waiting withdrawal becomes ``PUT /v1/customers/{id}/consent/{channel}`` with status ``opt_out``, sent
as the campaign worker (a token of the tenant with ``customers:write``, which the worker mints with the
platform's secret) and under ``campaign-unsubscribe-<response id>`` as its idempotency key. A batch is
taken under a row lock, sent, and marked in the same transaction: a crash before the commit sends those
again, which the key makes harmless.

The customer's current consent is read first: a consent recorded after the unsubscribe (the customer
opted in again meanwhile, say while the customer service was down) stands, and the withdrawal ends as
``superseded``; one that is opted out already (a second unsubscribe) is left as it is,
``already_opted_out``, so the consent history records the withdrawal once. An answer of 404 (the
customer was erased or merged away) or one refusing the request itself ends the withdrawal with that
outcome; no answer, or any other, is retried with backoff, so an unsubscribe is never lost while the
customer service is down.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from services.campaign.responses import repository, rules
from services.campaign.responses.tables import ConsentWithdrawal
from services.campaign.settings import CampaignSettings
from shared.auth import mint_token
from shared.db import unit_of_work, utcnow
from shared.jobs import PeriodicJob
from shared.settings import Settings

log = logging.getLogger(__name__)

# Withdrawals sent per run, in one transaction.
BATCH = 50
SCOPE = "customers:write"
TIMEOUT = httpx.Timeout(10.0, connect=3.0)


def idempotency_key(withdrawal: ConsentWithdrawal) -> str:
    return f"campaign-unsubscribe-{withdrawal.response_id}"


def sync_consent(sessions: sessionmaker[Session], settings: Settings) -> int:
    """Send the due withdrawals; returns how many ended (any outcome: not to be sent again)."""
    base = settings.customer_api if isinstance(settings, CampaignSettings) else ""
    if not base:
        return 0  # no customer service configured: the withdrawals wait
    ended = 0
    with unit_of_work(sessions) as session:
        now = utcnow()
        due = repository.due_withdrawals(session, now, BATCH)
        if not due:
            return 0  # the usual case: no client made (its TLS context alone costs milliseconds)
        with httpx.Client(base_url=base.rstrip("/"), timeout=TIMEOUT) as client:
            for withdrawal in due:
                ended += _send(client, settings, withdrawal, now)
    return ended


def _send(client: httpx.Client, settings: Settings, withdrawal: ConsentWithdrawal, now: datetime) -> int:
    token = mint_token(secret=settings.jwt_secret, issuer=settings.jwt_issuer, tenant=withdrawal.tenant_id,
                       scopes=[SCOPE], subject="campaign-worker")
    withdrawal.attempts += 1
    path = f"/v1/customers/{withdrawal.customer_id}/consent"
    try:
        current = client.get(path, headers={"Authorization": f"Bearer {token}"})
        standing = rules.standing_consent(_channel(current.json(), withdrawal.channel), withdrawal.requested_at) \
            if current.status_code == 200 else None
        if standing is not None:
            withdrawal.outcome, withdrawal.next_attempt_at, withdrawal.last_error = standing, None, None
            return 1
        answer = client.put(f"{path}/{withdrawal.channel}",
                            json={"status": "opt_out", "source": withdrawal.source,
                                  "recorded_at": withdrawal.requested_at.isoformat()},
                            headers={"Authorization": f"Bearer {token}",
                                     "Idempotency-Key": idempotency_key(withdrawal)})
    except (httpx.HTTPError, ValueError) as exc:
        return _retry(withdrawal, f"{type(exc).__name__}: {exc}", now)
    outcome = rules.withdrawal_outcome(answer.status_code)
    if outcome is None:
        return _retry(withdrawal, f"the customer service answered {answer.status_code}", now)
    withdrawal.outcome, withdrawal.next_attempt_at = outcome, None
    withdrawal.last_error = None if outcome == "withdrawn" else f"{answer.status_code}: {answer.text[:400]}"
    if outcome != "withdrawn":
        log.warning("unsubscribe %s of customer %s ended as %s: %s", withdrawal.response_id, withdrawal.customer_id,
                    outcome, withdrawal.last_error)
    return 1


def _channel(consents: Any, channel: str) -> dict[str, Any]:
    for consent in consents.get("channels", []) if isinstance(consents, dict) else []:
        if isinstance(consent, dict) and consent.get("channel") == channel:
            return consent
    return {}


def _retry(withdrawal: ConsentWithdrawal, error: str, now: datetime) -> int:
    withdrawal.next_attempt_at = rules.retry_at(withdrawal.attempts, now)
    withdrawal.last_error = error[:500]
    log.warning("unsubscribe %s of customer %s not carried yet (attempt %d): %s", withdrawal.response_id,
                withdrawal.customer_id, withdrawal.attempts, withdrawal.last_error)
    return 0


CONSENT_SYNC = PeriodicJob(
    name="consent-sync",
    interval=lambda settings: float(getattr(settings, "consent_sync_seconds",
                                            CampaignSettings.model_fields["consent_sync_seconds"].default)),
    run=sync_consent)
