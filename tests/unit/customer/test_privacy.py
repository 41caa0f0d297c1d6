"""The export's remote part: a service out of reach or refusing fails the whole export, never a partial one."""

from __future__ import annotations

import asyncio
import socket
import uuid

import httpx
import pytest

from services.customer.privacy import service as privacy
from shared.errors import Forbidden, ServiceUnavailable


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: nobody listens there


def test_a_service_out_of_reach_makes_the_export_unavailable() -> None:
    urls = {name: f"http://127.0.0.1:{_closed_port()}" for name in privacy.REMOTE_PARTS}
    with pytest.raises(ServiceUnavailable) as refused:
        asyncio.run(privacy.remote_export(urls, "Bearer x", uuid.uuid4()))
    assert "sales" in refused.value.detail


def _serving(status: int, pages: list[dict[str, object]]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        return httpx.Response(status, json=pages[int(cursor) if cursor else 0])
    return httpx.MockTransport(answer)


def test_every_page_is_fetched_and_a_refusal_names_the_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = [{"items": [{"id": 1}], "next_cursor": "1"}, {"items": [{"id": 2}], "next_cursor": None}]
    original = httpx.AsyncClient

    def client_with(transport: httpx.MockTransport) -> type[httpx.AsyncClient]:
        class Client(original):  # type: ignore[misc, valid-type]
            def __init__(self, **kwargs: object) -> None:
                super().__init__(transport=transport, **kwargs)  # type: ignore[arg-type]
        return Client

    urls = {name: "http://service.invalid" for name in privacy.REMOTE_PARTS}
    monkeypatch.setattr(privacy.httpx, "AsyncClient", client_with(_serving(200, pages)))
    found = asyncio.run(privacy.remote_export(urls, "Bearer x", uuid.uuid4()))
    assert found["sales"] == [{"id": 1}, {"id": 2}] and found["campaign"] == [{"id": 1}, {"id": 2}]
    monkeypatch.setattr(privacy.httpx, "AsyncClient", client_with(_serving(403, pages)))
    with pytest.raises(Forbidden) as refused:
        asyncio.run(privacy.remote_export(urls, "Bearer x", uuid.uuid4()))
    assert "sales:read" in refused.value.detail
