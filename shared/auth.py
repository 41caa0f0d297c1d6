"""Bearer-token authentication: a JWT carries the tenant and the scopes of its holder.

Routes declare what they need in their signature:
``who: Annotated[Principal, Depends(Scopes("sales:write"))]``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request

from shared.db import utcnow
from shared.errors import Forbidden, Unauthorized

# The platform's one scope; every other scope is a service's own (its contract's SCOPES).
ADMIN_SCOPE = "admin"


@dataclass(frozen=True)
class Principal:
    subject: str
    tenant: str
    scopes: frozenset[str]
    expires_at: float = float("inf")  # Unix time the token stops being valid

    def allows(self, scope: str) -> bool:
        return ADMIN_SCOPE in self.scopes or scope in self.scopes


def mint_token(
    *, secret: str, issuer: str, tenant: str, scopes: list[str], subject: str = "dev", ttl: timedelta = timedelta(hours=12)
) -> str:
    now = utcnow()
    claims = {
        "iss": issuer,
        "sub": subject,
        "tenant": tenant,
        "scope": " ".join(scopes),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def read_token(token: str, *, secret: str, issuer: str) -> Principal:
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], issuer=issuer, options={"require": ["exp", "sub", "iss"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The bearer token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("The bearer token is not valid.") from exc
    tenant = claims.get("tenant")
    if not isinstance(tenant, str) or not tenant or len(tenant) > 64:
        raise Unauthorized("The bearer token names no tenant.")
    scope = claims.get("scope", "")
    scopes = scope.split() if isinstance(scope, str) else [str(s) for s in scope]
    return Principal(subject=str(claims["sub"]), tenant=tenant, scopes=frozenset(scopes),
                     expires_at=float(claims["exp"]))


class VerifiedTokens:
    """Tokens this process has verified, until they expire: a client sends the same token on
    every request, and checking its signature again is most of what authentication costs.

    Bounded (least recently used out first); one per app, on ``app.state``.
    """

    def __init__(self, *, secret: str, issuer: str, size: int = 4096) -> None:
        self._secret, self._issuer, self._size = secret, issuer, size
        self._known: OrderedDict[str, Principal] = OrderedDict()
        self._lock = threading.Lock()

    def principal(self, token: str) -> Principal:
        with self._lock:
            known = self._known.get(token)
            if known is not None:
                self._known.move_to_end(token)
        if known is not None and known.expires_at > time.time():
            return known
        principal = read_token(token, secret=self._secret, issuer=self._issuer)  # raises Unauthorized
        with self._lock:
            self._known[token] = principal
            while len(self._known) > self._size:
                self._known.popitem(last=False)
        return principal


def principal_of(request: Request) -> Principal:
    """The caller, from the ``Authorization: Bearer`` header (401 without a valid one)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("This resource needs an 'Authorization: Bearer <token>' header.")
    return request.app.state.tokens.principal(token.strip())


async def authenticate(request: Request) -> Principal:
    """The dependency form of ``principal_of``.

    Async on purpose: verifying an HMAC signature takes microseconds, far less than the
    hop to a worker thread a plain function dependency costs on every request.
    """
    return principal_of(request)


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


class Scopes:
    """A dependency that authenticates the caller and demands every listed scope."""

    def __init__(self, *required: str) -> None:
        self.required = required

    async def __call__(self, principal: CurrentPrincipal) -> Principal:
        missing = [s for s in self.required if not principal.allows(s)]
        if missing:
            raise Forbidden(f"This operation needs the scope(s): {', '.join(missing)}.")
        return principal
