"""Tracking tokens, plain Python: what a tracked link, open pixel or unsubscribe link carries, and its signature.

A token is URL-safe base64 of one byte naming what it is (``o`` pixel, ``c`` link, ``u`` unsubscribe), the
send's id (16 bytes), the link's target for a click, and a truncated HMAC-SHA256 over all of that, keyed with
the campaign service's tracking secret. Nothing in it can be changed without the key: not the send, not
the kind, not where a click goes (so a tracked link is never an open redirect). The tenant is the send's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Literal

from shared.settings import Settings

Kind = Literal["opened", "clicked", "unsubscribed"]
KINDS: dict[bytes, Kind] = {b"o": "opened", b"c": "clicked", b"u": "unsubscribed"}
CODES: dict[Kind, bytes] = {kind: code for code, kind in KINDS.items()}
# 96 bits of MAC: far beyond guessing over HTTP, and it keeps a pixel's URL short.
MAC_BYTES = 12
# The longest token accepted (a click's target is bounded by what a variant's body may hold).
MAX_TOKEN = 4096


@dataclass(frozen=True)
class Token:
    kind: Kind
    send_id: uuid.UUID
    target: str | None  # where a click goes; None for a pixel or an unsubscribe


def tracking_secret(settings: Settings) -> str:
    """The key tokens are signed with: the campaign service's own secret, else the JWT secret."""
    return str(getattr(settings, "tracking_secret", "") or settings.jwt_secret)


def sign(secret: str, kind: Kind, send_id: uuid.UUID, target: str | None = None) -> str:
    body = CODES[kind] + send_id.bytes + (target or "").encode()
    return base64.urlsafe_b64encode(body + _mac(secret, body)).rstrip(b"=").decode()


def read(secret: str, token: str) -> Token | None:
    """The token's content, or None when it is not one this service signed (tampered, cut short, made up)."""
    if not token or len(token) > MAX_TOKEN:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    # Constant time: the comparison must not tell a forger how much of a guess was right.
    if len(body) < 17 or not hmac.compare_digest(mac, _mac(secret, body)):
        return None
    kind = KINDS.get(body[:1])
    if kind is None:
        return None
    try:
        target = body[17:].decode() or None
    except UnicodeDecodeError:
        return None
    if (kind == "clicked") != (target is not None):
        return None
    return Token(kind=kind, send_id=uuid.UUID(bytes=body[1:17]), target=target)


def url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/t/{token}"


def _mac(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), b"campaign-tracking\n" + body, hashlib.sha256).digest()[:MAC_BYTES]
