"""The request's unit of work: one commit after the route, rollback on failure, idempotent writes.

A small app on a real SQLite database with the platform tables; the routes below are
written the way every feature's routes are, so what holds here holds for all of them.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import String, func, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.auth import VerifiedTokens, mint_token
from shared.contract import EventPayload, EventType, TopicSpec
from shared.db import COLUMN_TYPES, PLATFORM_METADATA, IdempotencyRecord, hold_lock, make_engine, make_sessions, utcnow
from shared.errors import Conflict
from shared.http import (
    CONSISTENCY_HEADER,
    DbSession,
    feature_router,
    purge_idempotency_keys,
    written,
)
from shared.outbox import publish
from shared.problems import install_problem_handlers
from shared.settings import Settings
from shared.wakeup import Waker, WakeListener

SECRET = "unit-test-secret-of-at-least-32-bytes"


class Base(DeclarativeBase):
    type_annotation_map = COLUMN_TYPES


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
    version: Mapped[int]


class NoteIn(BaseModel):
    text: str


class NoteOut(BaseModel):
    id: uuid.UUID
    text: str
    version: int


class NoteChanged(EventPayload):
    note_id: uuid.UUID
    text: str


NOTE_CHANGED = EventType("crm.notes.note.changed.v1", TopicSpec("crm.notes.v1"), NoteChanged)
router = feature_router(tags=["notes"])


def _out(note: Note) -> NoteOut:
    return NoteOut(id=note.id, text=note.text, version=note.version)


def _changed(db: DbSession, note: Note) -> None:
    publish(db, NOTE_CHANGED, NoteChanged(note_id=note.id, text=note.text), subject=str(note.id), tenant="t")


@router.post("/notes", status_code=201, response_model=NoteOut)
def create_note(body: NoteIn, response: Response, db: DbSession) -> NoteOut:
    note = Note(id=uuid.uuid4(), text=body.text, version=1)
    db.add(note)
    _changed(db, note)
    written(response, version=1, location=f"/v1/notes/{note.id}")
    return _out(note)


@router.put("/notes/{note_id}", response_model=NoteOut)
def replace_note(note_id: uuid.UUID, body: NoteIn, response: Response, db: DbSession) -> NoteOut:
    note = db.get(Note, note_id) or Note(id=note_id, version=0, text="")
    db.add(note)
    note.text, note.version = body.text, note.version + 1
    _changed(db, note)
    written(response, version=note.version)
    return _out(note)


@router.patch("/notes/{note_id}", response_model=NoteOut)
def append_to_note(note_id: uuid.UUID, body: NoteIn, response: Response, db: DbSession) -> NoteOut:
    note = db.get(Note, note_id)
    assert note is not None
    note.text, note.version = note.text + body.text, note.version + 1
    _changed(db, note)
    written(response, version=note.version)
    return _out(note)


@router.delete("/notes/{note_id}", status_code=204)
def delete_note(note_id: uuid.UUID, db: DbSession) -> None:
    note = db.get(Note, note_id)
    if note is not None:
        db.delete(note)


@router.post("/notes/failing", status_code=201)
def create_then_refuse(body: NoteIn, db: DbSession) -> None:
    db.add(Note(id=uuid.uuid4(), text=body.text, version=1))
    db.flush()
    raise Conflict("refused after writing")


@router.post("/notes/stream", status_code=200)
async def count_streamed_bytes(request: Request) -> dict[str, int]:
    return {"bytes": sum([len(chunk) async for chunk in request.stream()])}


@router.get("/notes/{note_id}", response_model=NoteOut)
def read_note(note_id: uuid.UUID, db: DbSession) -> NoteOut:
    note = db.get(Note, note_id)
    assert note is not None
    out = _out(note)
    note.text = "a read never writes"
    db.flush()
    return out


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture()
def app(tmp_path: Path) -> Iterator[FastAPI]:
    engine = make_engine(f"sqlite:///{tmp_path / 'notes.db'}")
    PLATFORM_METADATA.create_all(engine)
    Base.metadata.create_all(engine)
    app = FastAPI()
    app.state.settings = Settings(service="notes", jwt_secret=SECRET, worker_port=_free_udp_port(),
                                  database_url=f"sqlite:///{tmp_path / 'notes.db'}")
    app.state.sessions = make_sessions(engine)
    app.state.tokens = VerifiedTokens(secret=SECRET, issuer="oneview-crm")
    # The real wake-up line of SQLite: a datagram to the worker port (the wake-up test listens there).
    app.state.waker = Waker(app.state.settings)
    install_problem_handlers(app)
    app.include_router(router, prefix="/v1")
    yield app
    app.state.waker.close()
    engine.dispose()


@pytest.fixture()
def client(app: FastAPI) -> TestClient:
    token = mint_token(secret=SECRET, issuer="oneview-crm", tenant="t", scopes=["admin"])
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def _notes(app: FastAPI) -> int:
    with app.state.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Note)) or 0)


def test_a_write_commits_once_after_the_route_with_its_token_and_wakes_the_worker(app: FastAPI, client: TestClient) -> None:
    woken = threading.Semaphore(0)
    listener = WakeListener(app.state.settings, woken.release)
    listener.start()
    assert listener.listening.wait(5)
    answer = client.post("/v1/notes", json={"text": "hello"})
    assert answer.status_code == 201
    assert answer.headers["ETag"] == '"1"' and answer.headers["Location"].startswith("/v1/notes/")
    assert answer.headers[CONSISTENCY_HEADER]
    assert _notes(app) == 1
    try:
        assert woken.acquire(timeout=5), "the worker was not woken"
        assert not woken.acquire(timeout=0.3), "one write wakes the worker once"
    finally:
        listener.stop()


def test_a_failed_write_leaves_nothing_behind(app: FastAPI, client: TestClient) -> None:
    answer = client.post("/v1/notes/failing", json={"text": "x"}, headers={"Idempotency-Key": "k-fail"})
    assert answer.status_code == 409
    assert _notes(app) == 0
    with app.state.sessions() as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0


def test_a_read_is_never_committed(app: FastAPI, client: TestClient) -> None:
    note = client.post("/v1/notes", json={"text": "kept"}).json()
    assert client.get(f"/v1/notes/{note['id']}").status_code == 200
    assert client.get(f"/v1/notes/{note['id']}").json()["text"] == "kept"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_every_write_method_replays_under_an_idempotency_key(app: FastAPI, client: TestClient, method: str) -> None:
    note = client.post("/v1/notes", json={"text": "a"}).json()
    body = None if method == "DELETE" else {"text": "b"}
    headers = {"Idempotency-Key": f"key-{method}"}
    first = client.request(method, f"/v1/notes/{note['id']}", json=body, headers=headers)
    again = client.request(method, f"/v1/notes/{note['id']}", json=body, headers=headers)
    assert first.status_code == again.status_code and first.status_code < 300
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert again.headers.get("ETag") == first.headers.get("ETag")
    if method == "PATCH":
        # Acting twice would have appended twice.
        assert client.get(f"/v1/notes/{note['id']}").json()["text"] == "ab"
    if body is not None:
        reused = client.request(method, f"/v1/notes/{note['id']}", json={"text": "c"}, headers=headers)
        assert reused.status_code == 422
        assert reused.headers["content-type"].startswith("application/problem+json")


def test_a_streamed_body_is_covered_by_the_key(client: TestClient) -> None:
    headers = {"Idempotency-Key": "stream-1"}
    first = client.post("/v1/notes/stream", content=b"x" * 70_000, headers=headers)
    assert first.json() == {"bytes": 70_000}
    assert client.post("/v1/notes/stream", content=b"x" * 70_000, headers=headers).headers["Idempotent-Replayed"] == "true"
    assert client.post("/v1/notes/stream", content=b"y" * 70_000, headers=headers).status_code == 422


def test_expired_idempotency_keys_are_purged(app: FastAPI, client: TestClient) -> None:
    client.post("/v1/notes", json={"text": "recent"}, headers={"Idempotency-Key": "recent"})
    client.post("/v1/notes", json={"text": "old"}, headers={"Idempotency-Key": "old"})
    with app.state.sessions() as session:
        old = session.get(IdempotencyRecord, ("t", "old"))
        assert old is not None
        old.created_at = utcnow() - timedelta(hours=25)
        session.commit()
    assert purge_idempotency_keys(app.state.sessions, app.state.settings) == 1
    with app.state.sessions() as session:
        assert [r.key for r in session.scalars(select(IdempotencyRecord))] == ["recent"]


def test_a_held_lock_keeps_a_second_transaction_out_until_the_first_ends(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    sessions = make_sessions(engine)
    probe = text("SELECT pg_try_advisory_xact_lock(:key)")
    try:
        with sessions() as first, sessions() as second:
            hold_lock(first, "price_book:acme:EUR::A")
            key = int.from_bytes(hashlib.sha256(b"price_book:acme:EUR::A").digest()[:8], "big", signed=True)
            assert second.scalar(probe, {"key": key}) is False  # the same name waits for the first
            other = int.from_bytes(hashlib.sha256(b"price_book:acme:USD::A").digest()[:8], "big", signed=True)
            assert second.scalar(probe, {"key": other}) is True  # another name does not
            second.rollback()
            first.commit()
            assert second.scalar(probe, {"key": key}) is True  # the first's end released it
            second.rollback()
    finally:
        engine.dispose()
