"""The ``campaign-send`` job and the senders it hands messages to.

Each run recovers the sends a stopped worker left ``sending``, then, campaign by campaign, queues members
and claims a batch of due sends (as many as the tenant's rate leaves), and hands them over one by one,
spread over the second, each between two commits (``service``: never twice). A run works for at most
``RUN_SECONDS`` and the next starts an interval later, so a stopping worker is never long in a run.

Senders: e-mail goes over SMTP (one connection per batch, the envelope sender being the bounce address);
SMS and phone lists go to a ``Sender`` per channel, which a deployment replaces with its gateway's client.
The one here appends each message as a JSON line to a file, for development and tests. A sender says
``Refused`` when the receiver refused this address for good (a bounce), ``Unavailable`` when it cannot take
anything now (retried with backoff), and ``Unknown`` when the message may or may not have been taken (an
SMTP connection lost after the message was handed over): that one is ``unconfirmed``, never sent again.
"""

from __future__ import annotations

import json
import logging
import smtplib
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Protocol, TextIO

from sqlalchemy.orm import Session, sessionmaker

from services.campaign.sends import repository, rules, service
from services.campaign.settings import CampaignSettings
from services.campaign.tracking import rules as tracking
from shared.db import unit_of_work, utcnow
from shared.jobs import PeriodicJob
from shared.settings import Settings

log = logging.getLogger(__name__)

# A run's working time, and the most sends one batch holds.
RUN_SECONDS = 5.0
BATCH = 500


class Refused(Exception):
    def __init__(self, status: str, diagnostic: str) -> None:
        super().__init__(f"{status} {diagnostic}")
        self.status, self.diagnostic = status, diagnostic


class Unavailable(Exception):
    pass


class Deferred(Exception):
    """The receiver will not take this address now (a 4xx, e.g. greylisting): this send is retried later."""


class Unknown(Exception):
    pass


class Sender(Protocol):
    def __enter__(self) -> Sender: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None: ...

    def send(self, outgoing: service.Outgoing) -> None: ...


class SmtpSender:
    """Campaign e-mail over SMTP: personalised, links tracked, RFC 8058 one-click unsubscribe."""

    def __init__(self, settings: CampaignSettings) -> None:
        self.settings = settings
        self.links_of = _links(settings)
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        try:
            self._smtp = smtplib.SMTP(self.settings.smtp_host, self.settings.smtp_port,
                                      timeout=self.settings.smtp_timeout_seconds)
            self._smtp.ehlo_or_helo_if_needed()
        except (OSError, smtplib.SMTPException) as exc:
            self.__exit__(None, None, None)  # a connection made but not greeted is closed, not left open
            raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (OSError, smtplib.SMTPException):
            self._smtp.close()
        self._smtp = None

    def send(self, outgoing: service.Outgoing) -> None:
        assert self._smtp is not None
        links = self.links_of(outgoing.send_id)
        message = rules.email_message(
            message_id=outgoing.message_id, mail_from=self.settings.campaign_mail_from, to=outgoing.to,
            campaign_id=outgoing.campaign_id, body=rules.content(outgoing.subject, outgoing.body, outgoing.profile,
                                                                 links),
            unsubscribe_url=links.track("unsubscribed", None), now=utcnow())
        smtp = self._smtp
        # Step by step, so that a failure before the message is handed over (retried) is told apart from one
        # after (which may have been taken: never sent again).
        try:
            code, answer = smtp.mail(self.settings.campaign_bounce_address)
            if code != 250:  # about our sender, not this recipient: nothing of the batch goes now
                smtp.rset()
                raise Unavailable(f"MAIL FROM refused: SMTP {code} {answer!r}")
            code, answer = smtp.rcpt(outgoing.to)
            if code not in (250, 251):
                smtp.rset()
                raise _refusal(code, answer)
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
        try:
            code, answer = smtp.data(rules.wire_bytes(message))
        except smtplib.SMTPDataError as exc:
            raise _refusal(exc.smtp_code, exc.smtp_error) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise Unknown(f"{type(exc).__name__}: {exc}") from exc


class FileSender:
    """Appends each message as one JSON line to a file: the development stand-in for an SMS gateway or a
    dialler's call list. Flushed per message, so a line written is a message handed over."""

    def __init__(self, path: Path, settings: CampaignSettings) -> None:
        self.path = path
        self.links_of = _links(settings)
        self._file: TextIO | None = None

    def __enter__(self) -> FileSender:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        except OSError as exc:
            raise Unavailable(f"{type(exc).__name__}: {exc}") from exc
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._file is not None:
            self._file.close()

    def send(self, outgoing: service.Outgoing) -> None:
        line = json.dumps({"message_id": outgoing.message_id, "campaign_id": str(outgoing.campaign_id),
                           "channel": outgoing.channel, "to": outgoing.to, "subject": outgoing.subject,
                           "text": rules.short_text(outgoing.body, outgoing.profile, self.links_of(outgoing.send_id)),
                           "sent_at": utcnow().isoformat()})
        assert self._file is not None
        try:
            self._file.write(line + "\n")
            self._file.flush()
        except OSError as exc:
            raise Unknown(f"{type(exc).__name__}: {exc}") from exc


def sender_for(channel: str, settings: CampaignSettings) -> Sender | None:
    """The channel's sender; None: none configured (e-mail without an SMTP host), so its sends wait."""
    if channel == "email":
        return SmtpSender(settings) if settings.smtp_host else None
    path = settings.sms_outbox if channel == "sms" else settings.call_list
    return FileSender(path or settings.var_dir / f"campaign-{channel}.ndjson", settings)


def send_due(sessions: sessionmaker[Session], settings: Settings) -> int:
    """One run of the job; returns how many sends were handed over."""
    own = settings if isinstance(settings, CampaignSettings) else CampaignSettings.model_construct(
        **settings.model_dump())
    deadline = time.monotonic() + RUN_SECONDS
    with unit_of_work(sessions) as session:
        service.recover_stalled(session)
        running = [(c.id, rules.send_channel(c.channel)) for c in repository.running_campaigns(session)]
    handed = 0
    while running and time.monotonic() < deadline:
        progressed = False
        for campaign_id, channel in running:
            sender = sender_for(channel, own)
            if sender is None or time.monotonic() >= deadline:
                continue
            with unit_of_work(sessions) as session:
                service.queue_members(session, campaign_id, BATCH, mail_from=own.campaign_mail_from)
                batch = service.claim_batch(session, campaign_id, rate=own.send_rate_per_tenant, size=BATCH)
            if batch is not None:
                handed += hand_over(sessions, sender, batch, own.send_rate_per_tenant, deadline)
                progressed = True
        if not progressed:
            break
    return handed


def hand_over(sessions: sessionmaker[Session], sender: Sender, batch: service.Batch, rate: float,
              deadline: float) -> int:
    """Hand a claimed batch to its sender, one send at a time, each between two commits."""
    try:
        with sender as opened:
            return _hand_over_each(sessions, opened, batch, rate, deadline)
    except Unavailable as exc:  # the sender could not be opened (the sends' own failures are taken below)
        _retry_all(sessions, batch.send_ids, str(exc))
        return 0


def _hand_over_each(sessions: sessionmaker[Session], sender: Sender, batch: service.Batch, rate: float,
                    deadline: float) -> int:
    campaign, ids = batch.campaign, batch.send_ids
    handed, previous, started = 0, None, time.monotonic()
    for index, send_id in enumerate(ids):
        if time.monotonic() >= deadline + 1.0:
            _release(sessions, ids[index:])
            break
        time.sleep(max(0.0, rules.not_before(started, index, rate) - time.monotonic()))
        with unit_of_work(sessions) as session:
            if previous is not None:
                service.mark_sent(session, campaign, previous)
            previous = None
            outgoing = service.prepare(session, batch, send_id)
        if outgoing is None:
            continue
        try:
            sender.send(outgoing)
        except Refused as refused:
            with unit_of_work(sessions) as session:
                service.mark_refused(session, campaign, send_id, refused.status, refused.diagnostic)
            continue
        except Deferred as exc:
            _retry_all(sessions, [send_id], str(exc))
            continue
        except Unavailable as exc:
            _retry_all(sessions, ids[index:], str(exc))
            break
        except Unknown as exc:
            log.warning("send %s may or may not have left (%s): it stays unconfirmed", send_id, exc)
            _retry_all(sessions, ids[index + 1:], str(exc))
            with unit_of_work(sessions) as session:
                service.recover_one(session, send_id, str(exc))
            break
        previous, handed = send_id, handed + 1
    if previous is not None:
        with unit_of_work(sessions) as session:
            service.mark_sent(session, campaign, previous)
    return handed


def _retry_all(sessions: sessionmaker[Session], send_ids: list[uuid.UUID], error: str) -> None:
    if send_ids:
        log.warning("%d campaign sends wait for their sender: %s", len(send_ids), error)
        with unit_of_work(sessions) as session:
            service.mark_retry(session, send_ids, error)


def _release(sessions: sessionmaker[Session], send_ids: list[uuid.UUID]) -> None:
    with unit_of_work(sessions) as session:
        service.release(session, send_ids)


def _links(settings: CampaignSettings) -> Callable[[uuid.UUID], rules.Links]:
    secret, base = tracking.tracking_secret(settings), settings.public_base_url

    def links_of(send_id: uuid.UUID) -> rules.Links:
        return rules.Links(track=lambda kind, target: tracking.url(base, tracking.sign(secret, kind, send_id,
                                                                                      target)))  # type: ignore[arg-type]
    return links_of


def _refusal(code: int, answer: bytes | str) -> Exception:
    words = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    if 500 <= code < 600:
        return Refused(f"{code // 100}.0.0 (SMTP {code})", words[:250])
    return Deferred(f"SMTP {code}: {words[:250]}")


CAMPAIGN_SEND = PeriodicJob(
    name="campaign-send",
    interval=lambda settings: float(getattr(settings, "campaign_send_seconds",
                                            CampaignSettings.model_fields["campaign_send_seconds"].default)),
    run=send_due)
