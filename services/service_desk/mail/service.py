"""E-mail use cases: inbound messages threaded into tickets, public agent replies and notices queued for
sending, and the job that sends the queue over SMTP.

Inbound threading, in this order (the first that finds a ticket wins):

1. ``In-Reply-To`` / ``References`` against the Message-IDs the desk sent and received on a ticket;
2. the ticket token quoted in the subject (``[#<token>]``), only when the sender is the ticket's requester
   or one of its customer's e-mail addresses in the view replica; anyone else quoting it is not trusted
   with the ticket and goes on to 3;
3. a new ticket for the customer whose e-mail address the sender is. A sender no customer has is refused
   (422 "no customer with this address"): the desk works for customers known from the unified view, and a
   ticket needs one; nothing is written.

A merged ticket's reply lands on its survivor. A reply to a resolved ticket within the reopen window
reopens it; to a closed one, or resolved longer ago, it opens a new ticket that mentions the old one.
Auto-replies (``rules.is_automatic``) are kept as internal notes by "system" on the ticket they thread
into and change nothing else: no status, no new ticket, no mail. One that threads nowhere (or into a
closed ticket) is dropped. A message whose Message-ID the desk already received is a redelivery: nothing
new is written.
"""

from __future__ import annotations

import functools
import logging
import smtplib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from services.service_desk.customers import repository as customers
from services.service_desk.mail import repository, rules
from services.service_desk.mail.tables import MailAttachment, OutgoingMail
from services.service_desk.settings import DeskSettings
from services.service_desk.tickets import repository as ticket_history
from services.service_desk.tickets import service as tickets
from services.service_desk.tickets.schemas import TicketCreate
from services.service_desk.tickets.tables import Ticket, TicketComment
from shared.db import unit_of_work, utcnow
from shared.errors import InvalidInput, NotFound
from shared.http import PageRequest
from shared.settings import Settings, load_settings

log = logging.getLogger(__name__)

# Messages sent per run of the mail-send job, in one transaction (a crash resends at most these).
SEND_BATCH = 50


@dataclass
class Received:
    """What an inbound message did: ``outcome`` is commented, reopened, created, followed_up (a new ticket
    after a closed one), duplicate or ignored."""

    outcome: str
    ticket: Ticket | None
    comment_id: uuid.UUID | None = None
    threaded_by: str | None = None  # references | token | None (a new ticket)
    follows: uuid.UUID | None = None
    attachments: list[MailAttachment] = field(default_factory=list)


@functools.cache
def _desk_settings() -> DeskSettings:
    return load_settings("service_desk", DeskSettings)


def receive(session: Session, tenant: str, raw: bytes, *, settings: DeskSettings | None = None,
            now: datetime | None = None) -> Received:
    """Thread one raw RFC 5322 message into the desk (see the module's docstring)."""
    settings = settings or _desk_settings()
    now = now or utcnow()
    inbound = rules.parse(raw, max_attachment_bytes=settings.max_attachment_bytes)
    known = repository.known_messages(session, tenant, inbound.message_id, inbound.answers)
    if known.redelivered is not None:
        return Received("duplicate", known.redelivered)
    if inbound.sender == settings.mail_from.strip().lower():
        return Received("ignored", None)  # our own mail coming back: never a loop
    target, threaded_by = (known.answered, "references") if known.answered is not None else \
        _by_token(session, tenant, inbound)
    if target is not None:
        target = tickets.survivor_of(session, target)
        outcome = rules.reply_outcome(target.status, resolved_at=target.resolved_at, now=now,
                                      window_days=settings.reopen_window_days, automatic=inbound.automatic)
        if outcome == "ignore":
            return Received("ignored", target, threaded_by=threaded_by)
        if outcome in ("comment", "open"):
            return _reply(session, target, inbound, threaded_by, settings, now)
        return _new_ticket(session, tenant, inbound, target.customer_id, settings, now, follows=target)
    if inbound.automatic:
        return Received("ignored", None)
    customer_id = repository.customer_with_address(session, tenant, inbound.sender)
    if customer_id is None:
        raise InvalidInput.on("From", f"no customer with the address {inbound.sender} is known to the service desk")
    return _new_ticket(session, tenant, inbound, customer_id, settings, now, follows=None)


def _by_token(session: Session, tenant: str, inbound: rules.Inbound) -> tuple[Ticket | None, str | None]:
    token = inbound.token
    if token is None:
        return None, None
    quoted = repository.ticket_by_token(session, tenant, token)
    if quoted is None:
        return None, None
    customer = customers.find_customer(session, tenant, quoted.customer_id)
    known = rules.view_addresses(customer.view if customer is not None else None)
    if rules.may_quote_token(inbound.sender, quoted.requester_email, known):
        return quoted, "token"
    return None, None


def _reply(session: Session, ticket: Ticket, inbound: rules.Inbound, threaded_by: str | None,
           settings: DeskSettings, now: datetime) -> Received:
    was = ticket.status
    if inbound.automatic:
        # An internal note by "system": never a response for the SLA clock, never a status change.
        comment = tickets.add_comment(session, ticket, visibility="internal", author_type="system",
                                      author_name=f"Auto-reply from {inbound.sender}"[:200],
                                      author_email=inbound.sender, author_id=None,
                                      body=_comment_body(inbound), via="email", now=now)
    else:
        comment = tickets.add_comment(session, ticket, visibility="public", author_type="customer",
                                      author_name=inbound.sender_name, author_email=inbound.sender, author_id=None,
                                      body=_comment_body(inbound), via="email", now=now,
                                      reopen_window_days=settings.reopen_window_days)
    _keep(session, ticket, inbound, now)
    outcome = "reopened" if was == "resolved" and ticket.status != "resolved" else "commented"
    return Received(outcome, ticket, comment_id=comment.id, threaded_by=threaded_by,
                    attachments=_attachments(session, ticket, inbound, comment.id, now))


def _new_ticket(session: Session, tenant: str, inbound: rules.Inbound, customer_id: uuid.UUID,
                settings: DeskSettings, now: datetime, *, follows: Ticket | None) -> Received:
    description = inbound.body
    if follows is not None:
        description = f"(Follows up on ticket [#{follows.token}], which is {follows.status}.)\n\n{description}"
    try:
        body = TicketCreate.model_validate({
            "customer_id": customer_id, "subject": _subject(inbound.subject), "description": description[:20000],
            "channel": "email", "requester_email": inbound.sender if rules.REQUESTER.match(inbound.sender) else None,
        })
    except ValidationError as exc:
        raise InvalidInput.on("body", f"the message cannot open a ticket: {exc.errors()[0]['msg']}") from exc
    created = tickets.create_ticket(session, tenant, body, wait_seconds=0)
    ticket = created.ticket
    if follows is not None:
        ticket_history.add_history(session, ticket, "follow_up", "email", {
            "follows_ticket_id": str(follows.id), "follows_token": follows.token}, at=now)
        ticket_history.add_history(session, follows, "followed_up", "email", {
            "ticket_id": str(ticket.id), "token": ticket.token}, at=now)
    _keep(session, ticket, inbound, now)
    return Received("followed_up" if follows is not None else "created", ticket, follows=follows.id if follows else None,
                    attachments=_attachments(session, ticket, inbound, None, now))


def _subject(subject: str) -> str:
    return subject[:300] if subject else "(no subject)"


def _comment_body(inbound: rules.Inbound) -> str:
    return inbound.body or f"(no text{'; see the attachments' if inbound.attachments else ''})"


def _keep(session: Session, ticket: Ticket, inbound: rules.Inbound, now: datetime) -> None:
    """The message's Message-ID, so replies to it (and to the desk's answers) thread here."""
    if inbound.message_id is not None:
        repository.record_message(session, ticket.tenant_id, ticket.id, inbound.message_id, "in", at=now)


def _attachments(session: Session, ticket: Ticket, inbound: rules.Inbound, comment_id: uuid.UUID | None,
                 now: datetime) -> list[MailAttachment]:
    kept = [MailAttachment(id=uuid.uuid4(), tenant_id=ticket.tenant_id, ticket_id=ticket.id, comment_id=comment_id,
                           filename=a.filename, content_type=a.content_type, size=len(a.content), content=a.content,
                           created_at=now) for a in inbound.attachments]
    for attachment in kept:
        repository.add_attachment(session, attachment)
    return kept


# --- attachments ---------------------------------------------------------------------------------------------


def list_attachments(session: Session, tenant: str, ticket_id: uuid.UUID, page: PageRequest) -> list[MailAttachment]:
    """A ticket's attachments (with those of tickets merged into it) in id order: a page, plus one more if
    there is a next; 404 for no such ticket."""
    _require_ticket(session, tenant, ticket_id)
    return repository.attachments(session, tenant, repository.merged_family(session, tenant, ticket_id), page)


def get_attachment(session: Session, tenant: str, ticket_id: uuid.UUID, attachment_id: uuid.UUID) -> MailAttachment:
    _require_ticket(session, tenant, ticket_id)
    found = repository.attachment(session, tenant, repository.merged_family(session, tenant, ticket_id),
                                  attachment_id)
    if found is None:
        raise NotFound(f"Ticket {ticket_id} has no attachment {attachment_id}.")
    return found


def _require_ticket(session: Session, tenant: str, ticket_id: uuid.UUID) -> Ticket:
    found = repository.ticket(session, tenant, ticket_id)
    if found is None:
        raise NotFound(f"No ticket {ticket_id}.")
    return found


# --- outgoing mail -----------------------------------------------------------------------------------------


def reply_added(session: Session, ticket: Ticket, comment: TicketComment) -> None:
    """An agent's public reply on the ticket: queue it as an e-mail to the requester, threaded (Message-ID,
    In-Reply-To, References) so the answer comes back to this ticket. To the ticket's requester_email, else
    the customer's primary e-mail in the replica; with neither, nothing is queued (nobody to write to)."""
    to = ticket.requester_email
    if not to:
        customer = customers.find_customer(session, ticket.tenant_id, ticket.customer_id)
        to = rules.primary_address(customer.view if customer is not None else None)
    if not to:
        log.info("ticket %s: no e-mail address to send the reply %s to", ticket.id, comment.id)
        return
    _queue(session, ticket.tenant_id, to=to, subject=rules.reply_subject(ticket.subject, ticket.token),
           body=comment.body, ticket=ticket)


def queue_notice(session: Session, tenant: str, *, to: str, subject: str, body: str,
                 ticket: Ticket | None = None) -> None:
    """Queue a plain notice e-mail (an escalation to a manager, a satisfaction request to a customer); the
    mail-send job sends it after the commit, so a crash loses nothing. With ``ticket`` it joins the ticket's
    thread, so an answer to it threads back there."""
    _queue(session, tenant, to=to, subject=subject, body=body, ticket=ticket)


def _queue(session: Session, tenant: str, *, to: str, subject: str, body: str, ticket: Ticket | None) -> OutgoingMail:
    now = utcnow()
    message_id = rules.new_message_id(_desk_settings().mail_from)
    in_reply_to, references = None, ""
    if ticket is not None:
        session.flush()
        in_reply_to, references = rules.thread_headers(repository.thread_chain(session, tenant, ticket.id))
        repository.record_message(session, tenant, ticket.id, message_id, "out", at=now)
    mail = OutgoingMail(id=uuid.uuid4(), tenant_id=tenant, ticket_id=ticket.id if ticket is not None else None,
                        message_id=message_id, to_address=to[:320], subject=subject[:400], body=body,
                        in_reply_to=in_reply_to, thread_references=references, status="queued", attempts=0,
                        next_attempt_at=now, last_error=None, created_at=now, sent_at=None)
    repository.queue(session, mail)
    return mail


def compose(mail: OutgoingMail, mail_from: str) -> EmailMessage:
    """The message as it goes out: the Message-ID made at queueing, so a resend is recognisably the same."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = f"<{mail.message_id}>"
    if mail.in_reply_to:
        message["In-Reply-To"] = f"<{mail.in_reply_to}>"
    if mail.thread_references:
        message["References"] = " ".join(f"<{m}>" for m in mail.thread_references.split())
    # Our own replies say they answer a person, so other desks' loop guards treat them as human mail;
    # auto-replies the desk receives are never answered at all (see receive).
    message.set_content(mail.body)
    return message


def send_queued(sessions: sessionmaker[Session], settings: Settings) -> int:
    """The mail-send job: send what is queued and due, mark it sent; a failure is retried with backoff.

    Delivery is at least once: a batch is taken under a row lock, sent, and marked in the same transaction,
    committed after the batch. A crash between the SMTP server's acceptance and that commit sends those
    messages again on the next run, with the same Message-ID, which receiving mail clients recognise as
    one message. An empty ``smtp_host`` sends nothing: the messages stay queued."""
    host = str(getattr(settings, "smtp_host", ""))
    if not host:
        return 0
    port = int(getattr(settings, "smtp_port", 25))
    timeout = float(getattr(settings, "smtp_timeout_seconds", 10.0))
    mail_from = str(getattr(settings, "mail_from", DeskSettings.model_fields["mail_from"].default))
    sent = 0
    with unit_of_work(sessions) as session:
        now = utcnow()
        due = repository.due_mail(session, now, SEND_BATCH)
        if not due:
            return 0
        try:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        except (OSError, smtplib.SMTPException) as exc:
            _failed(due, exc, now)
            return 0
        try:
            for index, mail in enumerate(due):
                try:
                    smtp.send_message(compose(mail, mail_from))
                except (OSError, smtplib.SMTPServerDisconnected) as exc:
                    # The connection is gone: this one and the rest of the batch wait for their retry.
                    _failed(due[index:], exc, now)
                    break
                except smtplib.SMTPException as exc:
                    _failed([mail], exc, now)  # refused by the server: this one only
                    continue
                mail.status, mail.sent_at, mail.last_error = "sent", utcnow(), None
                mail.attempts += 1
                sent += 1
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
    return sent


def _failed(mails: Sequence[OutgoingMail], exc: Exception, now: datetime) -> None:
    for mail in mails:
        mail.attempts += 1
        mail.next_attempt_at = rules.next_attempt(mail.attempts, now)
        mail.last_error = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("mail %s to %s failed (attempt %d): %s", mail.message_id, mail.to_address, mail.attempts,
                    mail.last_error)
