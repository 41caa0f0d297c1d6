"""Privacy: the export's remote part (a service out of reach or refusing fails the whole export, never a
partial one), and erasure on a database of its own."""

from __future__ import annotations

import asyncio
import socket
import uuid

import httpx
import pytest

from sqlalchemy.orm import Session

from services.customer import contract
from services.customer.customers import service as customers
from services.customer.customers.schemas import CustomerCreate
from services.customer.customers.tables import Customer
from services.customer.privacy import service as privacy
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Forbidden, Gone, ServiceUnavailable
from tests.factories import person_body
from tests.unit.customer.conftest import TENANT, announced


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


# --- erasure, on a database of its own -------------------------------------------------------

WHO = Principal(subject="dpo", tenant=TENANT, scopes=frozenset({"customers:write"}))


def _create(db: Session, given: str, **fields: object) -> Customer:
    body = CustomerCreate.model_validate(person_body(given, **fields)).model_dump(mode="json")
    return customers.create_customer(db, TENANT, body).customer


def test_erasure_anonymises_announces_once_and_leaves_a_gone_customer(db: Session) -> None:
    ada = _create(db, "Ada", phones=[{"number": "+4930123456"}])
    audit, done = privacy.erase(db, WHO, ada.id, utcnow())
    again, done_again = privacy.erase(db, WHO, ada.id, utcnow())
    assert (done, done_again, again) == (True, False, audit)
    assert (ada.display_name, ada.emails, ada.phones, ada.given_name) == ("(erased)", [], [], None)
    assert announced(db, contract.CUSTOMER_ERASED.name) == [
        (contract.CUSTOMER_ERASED.name, str(ada.id), {"customer_id": str(ada.id)})]
    with pytest.raises(Gone):
        customers.found(db, TENANT, ada.id)
