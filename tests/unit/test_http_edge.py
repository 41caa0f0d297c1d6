"""The HTTP edge every service shares: body limits, security headers, CORS, the exact OpenAPI, bounded headers.

A small app built by ``create_service_app`` (its lifespan is not run: nothing here opens
the database, which is the point of a limit that answers before any work is done).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy.exc import DataError

from services.customer.customers.routes import DUPLICATES_TRUNCATED, MAX_DUPLICATES_NAMED, POSSIBLE_DUPLICATES, name_duplicates
from services.gateway.app import create_gateway_app
from shared.auth import CurrentPrincipal, mint_token
from shared.http import feature_router, preferred_wait
from shared.service import create_service_app
from shared.settings import DEV_JWT_SECRET, Settings

LIMIT = 1000


class NoteIn(BaseModel):
    text: str


router = feature_router(tags=["notes"])
streamed = feature_router(tags=["notes"], streamed=True)


@router.post("/notes", status_code=201)
def create_note(body: NoteIn, who: CurrentPrincipal) -> dict[str, str]:
    return {"text": body.text}


@router.patch("/notes/{note_id:uuid}")
def change_note(note_id: uuid.UUID, body: NoteIn, who: CurrentPrincipal) -> dict[str, str]:
    return {"text": body.text}


@router.put("/notes/{note_id:uuid}")
def store_note(note_id: uuid.UUID, body: NoteIn, who: CurrentPrincipal) -> dict[str, str]:
    # What the database answers for text it cannot hold (PostgreSQL: a NUL character).
    raise DataError("INSERT INTO notes ...", {}, ValueError("A string literal cannot contain NUL (0x00) characters."))


@streamed.post("/notes/import")
async def import_notes(request: Request, who: CurrentPrincipal) -> dict[str, int]:
    return {"bytes": sum([len(chunk) async for chunk in request.stream()])}


def _app(**settings: object) -> FastAPI:
    return create_service_app(settings=Settings(service="notes", max_body_bytes=LIMIT, max_stream_bytes=4 * LIMIT,
                                                **settings),  # type: ignore[arg-type]
                              title="notes", description="notes", routers=(router, streamed))


def _client(app: FastAPI) -> TestClient:
    token = mint_token(secret=DEV_JWT_SECRET, issuer="oneview-crm", tenant="acme", scopes=["admin"])
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


def _chunks(total: int, size: int = 100) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b"x" * size


def test_a_body_over_the_limit_is_a_413_problem_before_it_is_read() -> None:
    client = _client(_app())
    assert client.post("/v1/notes", json={"text": "short"}).status_code == 201
    declared = client.post("/v1/notes", content=b'{"text": "' + b"x" * LIMIT + b'"}',
                           headers={"Content-Type": "application/json"})
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    assert declared.json()["type"] == "/problems/content-too-large"
    # Chunked, no Content-Length: counted as it streams and refused at the first part past the limit.
    assert client.post("/v1/notes", content=_chunks(2 * LIMIT), headers={"Content-Type": "application/json"}
                       ).status_code == 413


def test_a_streamed_route_takes_up_to_its_own_larger_limit() -> None:
    client = _client(_app())
    assert client.post("/v1/notes/import", content=_chunks(3 * LIMIT)).json() == {"bytes": 3 * LIMIT}
    assert client.post("/v1/notes/import", content=_chunks(5 * LIMIT)).status_code == 413


def test_answers_carry_security_headers_and_no_cors_unless_configured() -> None:
    answer = _client(_app()).post("/v1/notes", json={"text": "a"}, headers={"Origin": "https://app.example"})
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert "access-control-allow-origin" not in answer.headers


def test_configured_origins_may_call_from_a_browser() -> None:
    client = _client(_app(cors_origins=["https://app.example"]))
    preflight = client.options("/v1/notes", headers={"Origin": "https://app.example",
                                                     "Access-Control-Request-Method": "POST",
                                                     "Access-Control-Request-Headers": "Authorization, Idempotency-Key"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    answer = client.post("/v1/notes", json={"text": "a"}, headers={"Origin": "https://app.example"})
    assert "CRM-Consistency-Token" in answer.headers["access-control-expose-headers"]
    stranger = client.options("/v1/notes", headers={"Origin": "https://evil.example",
                                                    "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in stranger.headers


def test_the_openapi_document_names_every_problem_a_route_can_answer() -> None:
    document = _client(_app()).get("/openapi.json").json()
    create = document["paths"]["/v1/notes"]["post"]
    assert {"400", "401", "403", "409", "413", "415", "422"} <= set(create["responses"])
    change = document["paths"]["/v1/notes/{note_id}"]["patch"]
    assert {"404", "412"} <= set(change["responses"])
    for answer in (create["responses"]["422"], change["responses"]["404"]):
        assert answer["content"] == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert create["security"] == [{"bearer": []}]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert set(document["components"]["schemas"]["Problem"]["properties"]) == {
        "type", "title", "status", "detail", "instance", "errors"}
    assert "security" not in document["paths"]["/healthz"]["get"]


def test_an_undeclared_method_is_a_405_naming_every_method_of_the_path() -> None:
    answer = _client(_app()).delete("/v1/notes")
    assert answer.status_code == 405 and answer.headers["allow"] == "POST"
    assert _client(_app()).get(f"/v1/notes/{uuid.uuid4()}").headers["allow"] == "PATCH, PUT"


def test_possible_duplicates_stay_a_bounded_header() -> None:
    created = uuid.uuid4()
    few, many = [uuid.uuid4() for _ in range(3)], [uuid.uuid4() for _ in range(400)]
    response = Response()
    name_duplicates(response, created, few)
    assert response.headers[POSSIBLE_DUPLICATES] == ", ".join(map(str, few))
    assert DUPLICATES_TRUNCATED not in response.headers
    response = Response()
    name_duplicates(response, created, many)
    assert len(response.headers[POSSIBLE_DUPLICATES].split(", ")) == MAX_DUPLICATES_NAMED
    assert len(response.headers[POSSIBLE_DUPLICATES]) < 1024
    assert response.headers[DUPLICATES_TRUNCATED] == "400"
    assert response.headers["link"] == f'</v1/customers/duplicates?customer_id={created}>; rel="duplicates"'


def test_the_gateway_refuses_a_body_no_route_takes_and_sends_the_same_headers() -> None:
    seen: list[int] = []

    def service(request: httpx.Request) -> httpx.Response:
        seen.append(len(request.content))
        return httpx.Response(201, json={"ok": True})

    gateway = create_gateway_app(Settings(service="gateway", max_body_bytes=LIMIT, max_stream_bytes=2 * LIMIT),
                                 transport=httpx.MockTransport(service))
    with TestClient(gateway) as client:
        assert client.post("/v1/customers", content=b"x" * LIMIT).status_code == 201
        refused = client.post("/v1/customers", content=b"x" * (3 * LIMIT))
        assert refused.status_code == 413 and refused.headers["content-type"] == "application/problem+json"
        chunked = client.post("/v1/customers", content=_chunks(3 * LIMIT))
        assert chunked.status_code == 413
        assert seen == [LIMIT]  # nothing over the limit reached a service
        assert refused.headers["x-content-type-options"] == "nosniff"


def test_a_value_the_database_cannot_store_is_a_422_problem_not_a_500() -> None:
    answer = _client(_app()).put(f"/v1/notes/{uuid.uuid4()}", json={"text": "a\u0000b"})
    assert answer.status_code == 422
    assert answer.json()["type"] == "/problems/validation-error"


@pytest.mark.parametrize(("prefer", "seconds"), [
    ("wait=2", 2.0), ("respond-async, wait=10", 10.0), ('WAIT = "3"', 3.0), ("wait=1;x=y", 1.0),
    (None, None), ("", None), ("wait=", None), ("wait=-1", None), ("waitress=5", None), ("lenient", None)])
def test_a_client_may_prefer_a_shorter_wait(prefer: str | None, seconds: float | None) -> None:
    assert preferred_wait(prefer) == seconds
