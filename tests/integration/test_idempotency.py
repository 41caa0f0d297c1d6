"""``Idempotency-Key`` on every write method of every service, through the gateway, on both databases.

The first answer is stored with the write, in the same transaction; a retry with the
same key and body gets that answer again (``Idempotent-Replayed: true``) and acts no
second time; the same key with another body is a 422 problem.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import pytest

from tests import factories
from tests.support.system import System

pytestmark = pytest.mark.integration


def _twice(client: httpx.Client, method: str, path: str, body: Any = None, *, content: bytes | None = None,
           headers: dict[str, str] | None = None,
           events: Callable[[], int] | None = None) -> tuple[httpx.Response, httpx.Response]:
    """The same write sent twice under one fresh key; asserts the second is the first's answer replayed.

    ``events`` counts the service's outbox rows about the record: the retry must add none.
    """
    sent = {"Idempotency-Key": f"key-{uuid.uuid4()}", **(headers or {})}
    first = client.request(method, path, json=body, content=content, headers=sent)
    published = events() if events else None
    again = client.request(method, path, json=body, content=content, headers=sent)
    if events is not None:
        assert events() == published, "the retry acted a second time"
    assert first.status_code < 300, first.text
    assert again.status_code == first.status_code
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.content == first.content
    assert again.headers.get("ETag") == first.headers.get("ETag")
    if body is not None:
        changed = client.request(method, path, json=_other(body), headers=sent)
        assert changed.status_code == 422, changed.text
        assert changed.json()["type"].endswith("idempotency-key-reused"), changed.text
    return first, again


def _other(body: dict[str, Any]) -> dict[str, Any]:
    """The same body with its last text field changed: still valid, but another request."""
    name = [key for key, value in body.items() if isinstance(value, str)][-1]
    return body | {name: f"{body[name]} (other)"}


def _events(system: System, service: str, subject: str) -> int:
    """Events the service's own writes published about a customer (the view builder's versions aside)."""
    return int(system.sql(service, "SELECT count(*) FROM outbox WHERE key = :k AND topic != 'crm.customer_view.v1'",
                          k=subject)[0][0])


def test_customer_writes_replay_under_a_key(system: System) -> None:
    with system.client() as client:
        customer, _ = factories.person(client, "Idem")
        about = partial(_events, system, "customer", customer["id"])
        first, _ = _twice(client, "PATCH", f"/v1/customers/{customer['id']}", {"given_name": "Idempotent"},
                          events=about)
        assert first.json()["version"] == 2
        _twice(client, "PUT", f"/v1/customers/{customer['id']}/consent/email",
               {"status": "opt_in", "source": "web form", "wording": "Send me the newsletter"}, events=about)
        field = f"tier_{uuid.uuid4().hex[:8]}"
        put, _ = _twice(client, "PUT", f"/v1/custom-fields/{field}", {"type": "text", "label": "Tier note"})
        assert put.json()["version"] == 1
        _twice(client, "DELETE", f"/v1/custom-fields/{field}")
        rows = b'{"external_id": "idem-1", "kind": "person", "given_name": "Imp", "family_name": "Ort"}\n'
        imported, _ = _twice(client, "POST", "/v1/customers/import", content=rows,
                             headers={"Content-Type": "application/x-ndjson"})
        assert imported.json()["created"] == 1
        _twice(client, "DELETE", f"/v1/customers/{customer['id']}", events=about)
        assert client.get(f"/v1/customers/{customer['id']}").status_code == 404


def test_sales_writes_replay_under_a_key(system: System) -> None:
    with system.client() as client:
        customer, token = factories.person(client, "Sally")
        deal = factories.opportunity(client, customer, token)
        first, _ = _twice(client, "PATCH", f"/v1/opportunities/{deal['id']}", {"name": "Bigger deal"},
                          events=partial(_events, system, "sales", customer["id"]))
        assert first.json()["version"] == 2
        assert client.get(f"/v1/opportunities/{deal['id']}").json()["version"] == 2


def test_service_desk_writes_replay_under_a_key(system: System) -> None:
    with system.client() as client:
        customer, token = factories.person(client, "Desmond")
        ticket = factories.ticket(client, customer, token)
        first, _ = _twice(client, "PATCH", f"/v1/tickets/{ticket['id']}", {"subject": "Still a question"},
                          events=partial(_events, system, "service_desk", customer["id"]))
        assert first.json()["version"] == 2
        assert client.get(f"/v1/tickets/{ticket['id']}").json()["version"] == 2


def test_campaign_writes_replay_under_a_key(system: System) -> None:
    with system.client() as client:
        customer, token = factories.person(client, "Camilla")
        campaign = factories.campaign(client, "Spring")
        first, _ = _twice(client, "PATCH", f"/v1/campaigns/{campaign['id']}", {"name": "Spring sale"})
        assert first.json()["version"] == 2
        added = client.post(f"/v1/campaigns/{campaign['id']}/members", json={"customer_id": customer["id"]},
                            headers=token)
        assert added.status_code == 201, added.text
        _twice(client, "DELETE", f"/v1/campaigns/{campaign['id']}/members/{customer['id']}",
               events=partial(_events, system, "campaign", customer["id"]))
        assert client.get(f"/v1/campaigns/{campaign['id']}").json()["version"] == 2
