"""A real local SMTP server for tests (aiosmtpd on 127.0.0.1) and what it received."""

from __future__ import annotations

import email
import email.policy
import threading
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class Inbox:
    """What the local SMTP server received, in order."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.arrived.set()
        return "250 OK"

    def received(self) -> list[tuple[EmailMessage, list[str]]]:
        """Each message so far with its envelope recipients (a snapshot: the server may be taking one right now)."""
        count = len(self.envelopes)  # appended after its message: both lists hold this many
        return [(m, rcpts) for m, (_, rcpts) in zip(self.messages[:count], self.envelopes[:count], strict=True)]

    def to(self, address: str) -> list[EmailMessage]:
        """The messages addressed to ``address``."""
        return [m for m, rcpts in self.received() if address in rcpts]


class MailServer:
    """An SMTP server on 127.0.0.1:``port`` collecting into ``inbox``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
