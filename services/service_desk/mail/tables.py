"""The e-mail channel's tables: the Message-IDs the desk sent and received (what threads a reply), the
attachments inbound mail brought, the outgoing mail queue, and the customers' e-mail addresses as the
view replica publishes them (the lookup of a sender)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.service_desk.database import Base


class MailMessage(Base):
    """One Message-ID the desk sent (``out``) or received (``in``) on a ticket's thread."""

    __tablename__ = "mail_messages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[uuid.UUID]
    # Without the angle brackets, as written (RFC 5322 Message-IDs are compared as written).
    message_id: Mapped[str] = mapped_column(String(998))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    created_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_mail_messages_tenant_message", "tenant_id", "message_id"),
        Index("ix_mail_messages_ticket", "tenant_id", "ticket_id", "created_at"),
    )


class MailAttachment(Base):
    """A file an inbound message carried, bytes and all (each at most ``max_attachment_bytes``)."""

    __tablename__ = "mail_attachments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[uuid.UUID]
    # The comment the message became; None for the message that opened the ticket (its description).
    comment_id: Mapped[uuid.UUID | None]
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_mail_attachments_ticket", "tenant_id", "ticket_id", "id"),)


class OutgoingMail(Base):
    """A message queued for the mail-send job: written in the transaction that decided to send it, sent after
    its commit, so a crash loses nothing (it may send a message twice, with the same Message-ID)."""

    __tablename__ = "mail_outgoing"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[uuid.UUID | None]
    message_id: Mapped[str] = mapped_column(String(998))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    # The thread's Message-IDs, oldest first, space-separated (without brackets).
    thread_references: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # queued | sent
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_mail_outgoing_due", "status", "next_attempt_at"),)


class CustomerAddress(Base):
    """A customer's e-mail address (lower-cased) from the view replica: who a sender is, by an index."""

    __tablename__ = "mail_customer_addresses"

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_mail_customer_addresses_lookup", "tenant_id", "address"),)
