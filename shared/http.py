"""HTTP conventions of the public contract, shared by every service's routes.

Cursor pagination, ETag / ``If-Match``, ``Idempotency-Key`` replay, the
``CRM-Consistency-Token`` of writes, the request body's size limit, and the request's unit of work: every route of a
``feature_router`` runs inside one transaction that the framework commits once, after
the route has answered, with the idempotency record and the outbox rows, so the
response a client sees always describes something durable. A route cannot forget to
commit, and a route cannot commit: it has no way to.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message

from shared.auth import principal_of
from shared.db import IdempotencyRecord, unit_of_work, utcnow
from shared.jobs import PeriodicJob
from shared.settings import Settings
from shared.outbox import appended_in
from shared.errors import BadRequest, IdempotencyKeyReused, InvalidInput, PreconditionFailed, UnsupportedMediaType

T = TypeVar("T")

CONSISTENCY_HEADER = "CRM-Consistency-Token"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def get_session(request: Request) -> Session:
    """The request's database session: its unit of work's, committed by the framework after the route."""
    unit: UnitOfWork | None = getattr(request.state, "unit_of_work", None)
    if unit is None:
        # Only a feature_router route has a unit of work; anywhere else a write would be lost.
        raise RuntimeError(f"{request.url.path} is not a feature_router route: it has no unit of work")
    return unit.session


DbSession = Annotated[Session, Depends(get_session)]


# --- pagination -------------------------------------------------------------------------


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: uuid.UUID | None


def page_request(
    limit: Annotated[int, Query(ge=1, le=500, description="Page size (max 500).")] = 50,
    cursor: Annotated[str | None, Query(description="Opaque cursor from a previous page.")] = None,
) -> PageRequest:
    return PageRequest(limit=limit, after=decode_cursor(cursor) if cursor else None)


Paging = Annotated[PageRequest, Depends(page_request)]


def encode_cursor(last_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": str(last_id)}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return uuid.UUID(json.loads(base64.urlsafe_b64decode(padded))["after"])
    except (binascii.Error, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise BadRequest("The cursor is not one this service issued.") from exc


def next_cursor(ids: list[uuid.UUID], limit: int) -> str | None:
    """Callers fetch ``limit + 1`` rows; a cursor exists only if that extra row came back."""
    return encode_cursor(ids[limit - 1]) if len(ids) > limit else None


# --- optimistic concurrency -------------------------------------------------------------


def etag(version: int) -> str:
    return f'"{version}"'


def check_if_match(request: Request, current_version: int) -> None:
    """Honour ``If-Match``: a stale version is a 412, the client re-reads and retries."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    if etag(current_version) not in wanted:
        raise PreconditionFailed(
            f"The resource is at version {current_version}; If-Match asked for {header}. Re-read and retry."
        )


# --- read-your-writes -------------------------------------------------------------------


@dataclass(frozen=True)
class ConsistencyToken:
    """Which service's outbox sequence a write produced, and which customers it touched."""

    service: str
    sequence: int
    subjects: tuple[str, ...]

    def encode(self) -> str:
        raw = json.dumps({"src": self.service, "seq": self.sequence, "sub": list(self.subjects)}, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> ConsistencyToken:
        try:
            padded = token + "=" * (-len(token) % 4)
            raw = json.loads(base64.urlsafe_b64decode(padded))
            return cls(service=str(raw["src"]), sequence=int(raw["seq"]), subjects=tuple(str(s) for s in raw["sub"]))
        except (binascii.Error, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            raise BadRequest(f"The {CONSISTENCY_HEADER} header is not one this system issued.") from exc


def consistency_token(session: Session, service: str) -> ConsistencyToken | None:
    appended = appended_in(session)
    if not appended:
        return None
    return ConsistencyToken(
        service=service,
        sequence=max(a.sequence for a in appended),
        subjects=tuple(dict.fromkeys(a.subject for a in appended)),
    )


# --- idempotency ------------------------------------------------------------------------


def _lookup(sessions: sessionmaker[Session], tenant: str, key: str) -> IdempotencyRecord | None:
    with sessions() as session:
        return _stored(session, tenant, key)


def _stored(db: Session, tenant: str, key: str) -> IdempotencyRecord | None:
    return db.scalar(select(IdempotencyRecord).where(IdempotencyRecord.tenant_id == tenant, IdempotencyRecord.key == key))


def _replayed(stored: IdempotencyRecord, digest: str) -> Response:
    if stored.request_digest != digest:
        raise IdempotencyKeyReused(
            f"The {IDEMPOTENCY_HEADER} was first used with a different request; use a new key for a new request."
        )
    headers = dict(stored.headers)
    headers["Idempotent-Replayed"] = "true"
    return Response(stored.body, status_code=stored.status_code, headers=headers, media_type="application/json")


def purge_idempotency_keys(sessions: sessionmaker[Session], settings: Settings) -> int:
    """Forget stored answers older than the retention: a key is a retry guard, not an archive."""
    cutoff = utcnow() - timedelta(hours=settings.idempotency_retention_hours)
    with unit_of_work(sessions) as session:
        result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


PURGE_IDEMPOTENCY_KEYS = PeriodicJob(name="purge-idempotency-keys",
                                     interval=lambda settings: settings.idempotency_purge_seconds,
                                     run=purge_idempotency_keys)


# RFC 7240's ``wait`` preference: the client would rather have an answer within N seconds.
PREFER_WAIT = re.compile(r"(?:^|[,;]\s*)wait\s*=\s*\"?(\d{1,9})\"?\s*(?:$|[,;])", re.IGNORECASE)


def preferred_wait(prefer: str | None) -> float | None:
    """The seconds a ``Prefer: wait=N`` header asks for; None when it asks for none (or says nothing readable)."""
    found = PREFER_WAIT.search(prefer or "")
    return float(found.group(1)) if found else None


def wait_bound(request: Request) -> float:
    """The longest this request may wait for a view or a replica: the service's bound, or less if the client
    prefers (``Prefer: wait=N``); a client can shorten the wait, never lengthen it."""
    bound = float(request.app.state.settings.consistency_wait_seconds)
    preferred = preferred_wait(request.headers.get("Prefer"))
    return bound if preferred is None else min(bound, preferred)


def patience(request: Request) -> float:
    """How long a write may wait for a replica: only when the client sent a consistency token."""
    if request.headers.get(CONSISTENCY_HEADER) is None:
        return 0.0
    ConsistencyToken.decode(request.headers[CONSISTENCY_HEADER])  # a malformed token is a 400
    return wait_bound(request)


# --- the request's unit of work ---------------------------------------------------------

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Headers a replayed answer carries again: what the first answer told the client about its write.
REPLAYED_HEADERS = ("etag", "location", CONSISTENCY_HEADER.lower())


def written(response: Response, *, version: int | None = None, location: str | None = None) -> None:
    """Mark a write's answer: ``ETag`` of the new version, ``Location`` of a created resource."""
    if version is not None:
        response.headers["ETag"] = etag(version)
    if location is not None:
        response.headers["Location"] = location


@dataclass
class _KeyedWrite:
    """A write carrying an ``Idempotency-Key``; its digest covers the body as it streams past."""

    tenant: str
    key: str
    hasher: Any
    stored: IdempotencyRecord | None = None
    body_done: bool = False

    @property
    def digest(self) -> str:
        return str(self.hasher.hexdigest())


class UnitOfWork:
    """One request's transaction: opened on first use, committed once after the route answered.

    A read (GET, HEAD, OPTIONS) and a failed write (an exception or an error status) are
    rolled back; a successful write commits its rows, its outbox events and, under an
    ``Idempotency-Key``, the answer to replay, all at once, and then wakes the worker's relay.
    """

    def __init__(self, request: Request, *, commits_reads: bool = False) -> None:
        self._request = request
        self._commits_reads = commits_reads
        self._session: Session | None = None

    @property
    def opened(self) -> bool:
        return self._session is not None

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self._request.app.state.sessions()
        return self._session

    def abandon(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def finish(self, response: Response, keyed: _KeyedWrite | None) -> Response:
        if (self._request.method not in WRITE_METHODS and not self._commits_reads) or response.status_code >= 400:
            self.abandon()
            return response
        token = consistency_token(self._session, self._request.app.state.settings.service) if self._session else None
        if token is not None:
            response.headers[CONSISTENCY_HEADER] = token.encode()
        if keyed is not None:
            self.session.add(IdempotencyRecord(
                tenant_id=keyed.tenant, key=keyed.key, request_digest=keyed.digest,
                status_code=response.status_code, body=bytes(getattr(response, "body", b"")),
                headers={name: value for name, value in response.headers.items() if name in REPLAYED_HEADERS},
                created_at=utcnow(),
            ))
        if self._session is None:
            return response
        session = self._session
        waker = self._request.app.state.waker
        try:
            if token is not None:
                waker.before_commit(session)
            session.commit()
        except IntegrityError:
            session.rollback()
            if keyed is None:
                raise
            # A concurrent request with the same key won the race: answer as it did.
            stored = _stored(session, keyed.tenant, keyed.key)
            if stored is None:
                raise
            return _replayed(stored, keyed.digest)
        finally:
            self.abandon()
        if token is not None:
            waker.after_commit()
        return response


# --- the request body's size -----------------------------------------------------------


class BodyTooLarge(StarletteHTTPException):
    """413: an HTTP exception, so that FastAPI's body parsing passes it on rather than calling it a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than this operation accepts ({limit} bytes).")


def body_limit(request: Request, limit: int) -> None:
    """Refuse a body over ``limit`` bytes: at once by its ``Content-Length``, else as it streams in.

    The one guard every body passes (a route's JSON body, a streamed import, the gateway's
    forwarded body). It runs before anything reads the body, so a declared length over the
    limit is refused unread; a chunked body is counted as its parts arrive and refused at
    the first part past the limit, never held in memory whole.
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    receive = request._receive
    seen = 0

    async def counting_receive() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    request._receive = counting_receive


class UnitOfWorkRoute(APIRoute):
    """A route whose handler runs inside the request's unit of work (see ``UnitOfWork``).

    Its body may be ``max_body_bytes`` long (settings); a streamed route (``streamed``, a
    bulk upload read as it arrives) may take ``max_stream_bytes``.
    """

    streamed = False
    commits_reads = False

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        limit_setting = "max_stream_bytes" if self.streamed else "max_body_bytes"

        async def handle(request: Request) -> Response:
            body_limit(request, int(getattr(request.app.state.settings, limit_setting)))
            keyed = await _keyed_write(request)
            if keyed is not None and keyed.stored is not None:
                await _drain_body(request, keyed)
                return _replayed(keyed.stored, keyed.digest)
            if not self.streamed and request.method in WRITE_METHODS and _json_body(request):
                refuse_nul_characters(await request.body())  # cached: the handler parses the same bytes
            unit = UnitOfWork(request, commits_reads=self.commits_reads)
            request.state.unit_of_work = unit
            try:
                response = await handler(request)
                if keyed is not None:
                    await _drain_body(request, keyed)
            except BaseException:
                if unit.opened:
                    await run_in_threadpool(unit.abandon)
                raise
            if not unit.opened and keyed is None:
                return response  # a read, or a write that touched nothing: no thread hop on the hot path
            return await run_in_threadpool(unit.finish, response, keyed)

        return handle


# A JSON \u0000 escape, not preceded by another backslash escaping its own.
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
NUL_MESSAGE = "text may not contain NUL characters (U+0000)"


def refuse_nul_characters(body: bytes) -> None:
    """Refuse a JSON body whose text holds a NUL character, on every database alike.

    PostgreSQL text cannot store one (it was a 500, then a 422 on PostgreSQL only, while
    SQLite stored it); no field of ours has a use for it.
    """
    if b"\\u0000" in body and _NUL_ESCAPE.search(body):
        raise InvalidInput("Text may not contain NUL characters (U+0000).", errors=[{"field": "body", "message": NUL_MESSAGE}])


def _json_body(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower().endswith("json")


class StreamedUnitOfWorkRoute(UnitOfWorkRoute):
    """A unit-of-work route that reads its body as it streams in, so it may take a larger one."""

    streamed = True


class RecordingUnitOfWorkRoute(UnitOfWorkRoute):
    """A unit-of-work route whose successful GETs commit too: a link followed from a message (a tracked click,
    an open pixel) is a GET that records what happened, because that is all a mail client sends."""

    commits_reads = True


def feature_router(*, tags: list[str | Enum] | None = None, streamed: bool = False, commits_reads: bool = False,
                   responses: dict[int | str, dict[str, Any]] | None = None) -> APIRouter:
    """The router of one feature's routes: each runs in a unit of work the framework owns.

    ``streamed``: its routes read bulk bodies as they arrive (``max_stream_bytes``, not
    ``max_body_bytes``). ``commits_reads``: a successful GET commits like a write
    (``RecordingUnitOfWorkRoute``). ``responses``: problem statuses every route of the feature can
    answer beyond those ``shared.openapi`` derives (e.g. ``{410: {"description": ...}}``).
    """
    route_class = StreamedUnitOfWorkRoute if streamed else RecordingUnitOfWorkRoute if commits_reads \
        else UnitOfWorkRoute
    return APIRouter(tags=tags, route_class=route_class, responses=responses)


async def _keyed_write(request: Request) -> _KeyedWrite | None:
    """The write's ``Idempotency-Key``, if any, with the answer stored for it before (a repeat)."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if request.method not in WRITE_METHODS or key is None:
        return None
    if not 1 <= len(key) <= 255:
        raise BadRequest(f"{IDEMPOTENCY_HEADER} must be 1 to 255 characters.")
    tenant = principal_of(request).tenant
    keyed = _KeyedWrite(tenant=tenant, key=key,
                        hasher=hashlib.sha256(request.method.encode() + b" " + request.url.path.encode() + b"\n"))
    _hash_body_as_it_streams(request, keyed)
    keyed.stored = await run_in_threadpool(_lookup, request.app.state.sessions, tenant, key)
    return keyed


def _hash_body_as_it_streams(request: Request, keyed: _KeyedWrite) -> None:
    # Wrapping the ASGI receive channel covers every route alike: bodies that FastAPI reads
    # whole and bodies a route streams (the bulk import), which must never be held in memory.
    receive = request._receive

    async def hashing_receive() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            keyed.hasher.update(message.get("body", b""))
            keyed.body_done = not message.get("more_body", False)
        return message

    request._receive = hashing_receive


async def _drain_body(request: Request, keyed: _KeyedWrite) -> None:
    """Read what the route left of the body, so the digest covers all of it."""
    while not keyed.body_done:
        message = await request._receive()
        if message["type"] != "http.request":
            break


# --- bulk uploads (imports) --------------------------------------------------------------------

CSV_TYPES = ("text/csv", "application/csv")
NDJSON_TYPES = ("application/x-ndjson", "application/ndjson", "application/jsonl")
# The route's ``openapi_extra``: a raw CSV or NDJSON body, which FastAPI cannot describe from a parameter.
BULK_BODY: dict[str, Any] = {"requestBody": {"required": False, "content": {
    media: {"schema": {"type": "string", "format": "binary"}} for media in ("text/csv", "application/x-ndjson")}}}
BulkFormat = Annotated[Literal["csv", "ndjson"] | None, Query(description="Default: from Content-Type.")]


def reads_csv(request: Request, format: str | None) -> bool:
    """Whether a bulk upload is CSV (else NDJSON): ``?format=`` first, then its Content-Type (another is a 415)."""
    headers = request.headers
    # No body at all (no type, no length, not chunked): nothing to read, so no type to insist on.
    bodiless = ("content-type" not in headers and headers.get("content-length", "0") == "0"
                and "transfer-encoding" not in headers)
    if format is not None:
        return format == "csv"
    if bodiless:
        return True
    media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media in CSV_TYPES:
        return True
    if media in NDJSON_TYPES:
        return False
    raise UnsupportedMediaType("Send text/csv or application/x-ndjson (or say ?format=csv|ndjson).")
