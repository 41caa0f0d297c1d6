"""The e-mail channel's decisions, plain Python: reading a raw RFC 5322 message (what a reply quotes, who
sent it, whether a machine did, its text and attachments), where it threads, what it does to the ticket
it reaches, and how an outgoing reply is addressed and retried."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.utils import parseaddr
from html.parser import HTMLParser
from typing import Any

from shared import backoff
from shared.errors import InvalidInput, Problem

# The ticket token a subject quotes: "[#3f2a9c01]" (tokens are hex, 8 to 16 digits).
TOKEN = re.compile(r"\[#([0-9a-fA-F]{8,16})\]")
# An address the tickets API accepts as a requester (its schema's pattern).
REQUESTER = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MESSAGE_ID = re.compile(r"<([^<>\s]{1,996})>")
# What is kept of a message's text and names, so a huge body cannot fill a row.
MAX_BODY_CHARS = 20_000
MAX_SUBJECT_CHARS = 300
# A message's raw size is bounded by this many times the attachment limit: room for one attachment at the
# limit base64-encoded (4/3) with everything around it; anything larger is refused as it streams in.
MESSAGE_SIZE_FACTOR = 2
# Precedence values that mark mail no human wrote (RFC 3834 section 2 and common practice).
AUTOMATIC_PRECEDENCE = frozenset({"auto_reply", "bulk", "junk", "list"})
# Outgoing mail retry backoff: 30 s, 1 min, 2 min ... at most an hour between attempts.
FIRST_RETRY_SECONDS = 30
LONGEST_RETRY_SECONDS = 3600


class ContentTooLarge(Problem):
    """413: a message or one of its attachments over the limit; nothing of it is kept."""

    slug, title, status = "content-too-large", "Content too large", 413


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Inbound:
    """What the desk reads of one inbound message."""

    message_id: str | None
    # Every Message-ID the message answers, newest first (In-Reply-To, then References from the end).
    answers: tuple[str, ...]
    subject: str
    sender: str  # the From address, lower-cased
    sender_name: str
    body: str
    automatic: bool
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)

    @property
    def token(self) -> str | None:
        found = TOKEN.search(self.subject)
        return found.group(1).lower() if found else None


def message_size_limit(max_attachment_bytes: int) -> int:
    return MESSAGE_SIZE_FACTOR * max_attachment_bytes + 1_048_576


def parse(raw: bytes, *, max_attachment_bytes: int) -> Inbound:
    """Read a raw RFC 5322 message: a 422 when it is not one (no header block, no From address), a 413 when
    an attachment is over ``max_attachment_bytes``."""
    if not raw.strip():
        raise InvalidInput.on("body", "an empty body is not an RFC 5322 message")
    if b"\x00" in raw[:65536].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]:
        raise InvalidInput.on("body", "the header block holds binary data: not an RFC 5322 message")
    try:
        # Parsed with the compat32 policy into an EmailMessage: headers stay raw strings, read by pattern,
        # and only From, Subject and file names are decoded (encoded words), here. The default policy's
        # header registry parsed every Content-Type the parser and the body lookup touch, more than half
        # of a message's parse.
        message = email.message_from_bytes(raw, _class=EmailMessage, policy=email.policy.compat32)
        if not isinstance(message, EmailMessage) or not message.keys():
            raise InvalidInput.on("body", "no header block: not an RFC 5322 message")
        raw_headers = {name.lower(): str(value) for name, value in message.raw_items()}
        name, sender = parseaddr(raw_headers.get("from", ""))
        sender = sender.strip().lower()
        if not _is_address(sender):
            raise InvalidInput.on("From", "the message has no From address")
        subject = _text(_decoded_words(raw_headers.get("subject", "")), MAX_SUBJECT_CHARS).strip()
        message_id = first_message_id(raw_headers.get("message-id", ""))
        answers = _answers(raw_headers.get("in-reply-to", ""), raw_headers.get("references", ""))
        automatic = is_automatic(raw_headers)
        body, attachments = _contents(message, max_attachment_bytes)
    except Problem:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read the message is the sender's message, a 422
        raise InvalidInput.on("body", f"not a readable RFC 5322 message ({type(exc).__name__})") from exc
    return Inbound(message_id=message_id, answers=answers, subject=subject, sender=sender,
                   sender_name=_text(_decoded_words(name), 200).strip() or sender, body=body, automatic=automatic,
                   attachments=tuple(attachments))


def _decoded_words(value: str) -> str:
    """A header's text with its RFC 2047 encoded words decoded and its folding undone."""
    unfolded = " ".join(value.split())
    if "=?" not in unfolded:
        return unfolded
    try:
        return str(make_header(decode_header(unfolded)))
    except (HeaderParseError, LookupError, UnicodeError, ValueError):
        return unfolded  # a broken encoded word is kept as written rather than refuse the message


def _is_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and "." in domain and " " not in address and len(address) <= 320)


def _text(value: str, limit: int) -> str:
    # PostgreSQL text cannot hold NUL; no mail text needs it.
    return value.replace("\x00", "")[:limit]


def first_message_id(header: str) -> str | None:
    found = MESSAGE_ID.search(header)
    return found.group(1) if found else None


def _answers(in_reply_to: str, references: str) -> tuple[str, ...]:
    ordered = MESSAGE_ID.findall(in_reply_to) + list(reversed(MESSAGE_ID.findall(references)))
    return tuple(dict.fromkeys(ordered))[:50]


def is_automatic(headers: dict[str, str]) -> bool:
    """Whether a machine wrote the message (RFC 3834 Auto-Submitted other than "no", a Precedence of bulk,
    junk, list or auto_reply, X-Autoreply / X-Autorespond): it must never reopen a ticket or get an answer."""
    submitted = headers.get("auto-submitted", "").strip().lower()
    if submitted and submitted.split(";")[0].strip() != "no":
        return True
    if headers.get("precedence", "").strip().lower() in AUTOMATIC_PRECEDENCE:
        return True
    return any(name in headers for name in ("x-autoreply", "x-autorespond", "x-autoresponder"))


class _Strip(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _decoded(content: bytes, charset: str | None) -> str:
    try:
        return content.decode(charset or "utf-8", "replace")
    except LookupError:  # a charset Python does not know: read it as UTF-8 rather than refuse the message
        return content.decode("utf-8", "replace")


def _contents(message: EmailMessage, max_attachment_bytes: int) -> tuple[str, list[Attachment]]:
    if message.is_multipart():
        body_part = message.get_body(preferencelist=("plain", "html"))
        subtype = body_part.get_content_subtype() if body_part is not None else ""
    else:
        # Most mail is one text part: its type read once (each read parses the header anew).
        maintype, _, subtype = message.get_content_type().partition("/")
        body_part = message if maintype == "text" and subtype in ("plain", "html") else None
    body = ""
    if body_part is not None:
        content = body_part.get_payload(decode=True)
        text = _decoded(content, body_part.get_content_charset()) if isinstance(content, bytes) else ""
        if subtype == "html":
            stripper = _Strip()
            stripper.feed(text)
            text = "".join(stripper.parts)
        body = _text(text, MAX_BODY_CHARS).strip()
    attachments: list[Attachment] = []
    for part in message.iter_attachments() if message.is_multipart() else ():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        if len(payload) > max_attachment_bytes:
            raise ContentTooLarge(f"The attachment {_filename(part) or '(unnamed)'} is {len(payload)} bytes; "
                                  f"at most {max_attachment_bytes} bytes are accepted per attachment.")
        attachments.append(Attachment(filename=_text(_filename(part) or "attachment", 255),
                                      content_type=_text(part.get_content_type(), 255), content=payload))
    return body, attachments


def _filename(part: EmailMessage) -> str:
    # RFC 2231 parameters are joined by get_filename; encoded words, which many mail clients send instead,
    # are decoded here.
    filename = part.get_filename()
    return _decoded_words(str(filename)) if filename else ""


# --- where a message threads -----------------------------------------------------------------------------


def view_addresses(view: dict[str, Any] | None) -> set[str]:
    """The customer's e-mail addresses in the published view (``profile.emails[].address``), lower-cased."""
    profile = (view or {}).get("profile")
    emails = profile.get("emails") if isinstance(profile, dict) else None
    if not isinstance(emails, list):
        return set()
    found = {str(e.get("address", "")).strip().lower() for e in emails if isinstance(e, dict)}
    return {a for a in found if _is_address(a)}


def primary_address(view: dict[str, Any] | None) -> str | None:
    """Where to write to a customer: the view's primary e-mail, else its first one."""
    profile = (view or {}).get("profile")
    emails = profile.get("emails") if isinstance(profile, dict) else None
    if not isinstance(emails, list):
        return None
    usable = [e for e in emails if isinstance(e, dict) and _is_address(str(e.get("address", "")).strip().lower())]
    usable.sort(key=lambda e: not e.get("primary"))
    return str(usable[0]["address"]).strip() if usable else None


def may_quote_token(sender: str, requester_email: str | None, customer_addresses: set[str]) -> bool:
    """Only the ticket's requester or its customer's own addresses thread by the subject token: another
    customer quoting ``[#token]`` must not land in someone else's ticket."""
    return sender == (requester_email or "").strip().lower() or sender in customer_addresses


def reply_outcome(status: str, *, resolved_at: datetime | None, now: datetime, window_days: int,
                  automatic: bool) -> str:
    """What a reply does to the ticket it threads into.

    - ``comment``: it is added, and the status stays (an auto-reply always, whatever the status, except
      on a closed ticket);
    - ``open``: it is added and the ticket waits for an agent again (pending_customer, or resolved within
      the reopen window: reopened);
    - ``follow_up``: the ticket is closed, or resolved too long ago: a new ticket, which mentions it;
    - ``ignore``: an auto-reply to a closed ticket: nothing is kept.
    """
    if automatic:
        return "ignore" if status == "closed" else "comment"
    if status == "closed":
        return "follow_up"
    if status == "resolved":
        if resolved_at is not None and now - resolved_at <= timedelta(days=window_days):
            return "open"
        return "follow_up"
    if status == "pending_customer":
        return "open"
    return "comment"


# --- outgoing mail -------------------------------------------------------------------------------------------


def reply_subject(subject: str, token: str) -> str:
    """ "Re: <subject> [#token]", without piling up "Re:" or repeating the token."""
    base = TOKEN.sub("", subject).strip()
    while base[:3].lower() == "re:":
        base = base[3:].strip()
    return f"Re: {base} [#{token}]"[:400]


def new_message_id(mail_from: str) -> str:
    """A Message-ID the desk makes (without brackets): unique, at the domain of its own address."""
    domain = mail_from.rpartition("@")[2].strip(" >") or "localhost"
    return f"{uuid.uuid4().hex}@{domain}"


def thread_headers(chain: list[str]) -> tuple[str | None, str]:
    """In-Reply-To (the thread's last message) and References (the chain, oldest first; the first and the
    last 18 when longer, as RFC 5322 section 3.6.4 suggests trimming)."""
    if not chain:
        return None, ""
    kept = chain if len(chain) <= 20 else [chain[0], *chain[-19:]]
    return chain[-1], " ".join(kept)


def next_attempt(attempts: int, now: datetime) -> datetime:
    """When a failed send is tried again: doubling from 30 s, at most an hour apart."""
    return backoff.next_attempt(attempts, now, first=timedelta(seconds=FIRST_RETRY_SECONDS),
                                longest=timedelta(seconds=LONGEST_RETRY_SECONDS))
