"""Satisfaction: the signed link and the figures' arithmetic without a database; the answer route over HTTP on a
migrated SQLite database (the signed link, one answer per resolution, refusals writing nothing)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from services.service_desk.mail.tables import OutgoingMail
from services.service_desk.satisfaction import rules, service
from services.service_desk.satisfaction.tables import SatisfactionAnswer, SatisfactionRequest
from services.service_desk.tickets.tables import Ticket
from shared.auth import mint_token
from shared.db import OutboxRecord, unit_of_work
from shared.errors import Conflict
from shared.settings import DEV_JWT_SECRET
from tests.support.desk import desk_app

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
TENANT = "acme"
CUSTOMER = uuid.UUID(int=7)
SECRET = "link-secret-for-tests"


# --- the rules -----------------------------------------------------------------------------


def test_a_link_signature_holds_only_for_its_tenant_ticket_and_resolution() -> None:
    ticket = uuid.UUID(int=1)
    signature = rules.sign(SECRET, TENANT, ticket, 2)
    assert rules.signature_valid(SECRET, TENANT, ticket, 2, signature)
    assert not rules.signature_valid(SECRET, TENANT, ticket, 1, signature)
    assert not rules.signature_valid(SECRET, "other", ticket, 2, signature)
    assert not rules.signature_valid(SECRET, TENANT, uuid.UUID(int=2), 2, signature)
    assert not rules.signature_valid("another-secret", TENANT, ticket, 2, signature)
    assert not rules.signature_valid(SECRET, TENANT, ticket, 2, signature[:-1] + ("0" if signature[-1] != "0" else "1"))


def test_the_link_points_at_the_rating_route_with_resolution_and_signature() -> None:
    ticket = uuid.UUID(int=1)
    link = urlsplit(rules.rating_link("https://crm.example/", SECRET, TENANT, ticket, 3))
    assert (link.netloc, link.path) == ("crm.example", f"/v1/tickets/{ticket}/satisfaction")
    query = parse_qs(link.query)
    assert query["resolution"] == ["3"]
    assert rules.signature_valid(SECRET, TENANT, ticket, 3, query["signature"][0])


def test_the_link_secret_is_the_desks_own_else_the_jwt_secret() -> None:
    from services.service_desk.settings import DeskSettings

    assert rules.link_secret(DeskSettings(service="service_desk", satisfaction_link_secret="own")) == "own"
    assert rules.link_secret(DeskSettings(service="service_desk")) == DeskSettings(service="service_desk").jwt_secret


def test_only_a_resolution_the_ticket_had_may_be_rated_and_only_once() -> None:
    rules.check_ratable(2, 1, answered=False)
    rules.check_ratable(2, 2, answered=False)
    for resolutions, resolution, answered in ((0, 1, False), (2, 3, False), (2, 2, True)):
        with pytest.raises(Conflict):
            rules.check_ratable(resolutions, resolution, answered)


def test_figures_round_and_rate_per_group_with_groups_in_order_and_none_last() -> None:
    def row(group: str | None, tickets: int, breached: int, ratings: tuple[int, int], first: float | None,
            resolved: float | None) -> rules.GroupRow:
        return rules.GroupRow(group=group, tickets=tickets, breached=breached, rating_sum=ratings[0],
                              rating_count=ratings[1], first_average=first, first_median=first,
                              first_count=0 if first is None else tickets, resolved_average=resolved,
                              resolved_median=resolved, resolved_count=0 if resolved is None else tickets)

    out = rules.figures([row("b", 3, 1, (11, 3), 15.004, 70.0), row(None, 1, 0, (0, 0), None, None),
                         row("a", 1, 1, (0, 0), 30.0, None)])
    assert [g["group"] for g in out] == ["a", "b", None]
    b = out[1]
    assert (b["tickets"], b["breach_rate"]) == (3, round(1 / 3, 4))
    assert b["csat"] == {"average": round(11 / 3, 2), "count": 3}
    assert b["first_response_minutes"] == {"average": 15.0, "median": 15.0, "count": 3}
    assert out[0]["csat"] == {"average": None, "count": 0} and out[0]["breach_rate"] == 1.0
    assert out[2]["resolution_minutes"] == {"average": None, "median": None, "count": 0}


# --- the routes over HTTP ------------------------------------------------------------------


@pytest.fixture()
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Any]]:
    view = {"version": 1, "profile": {"emails": [{"address": "other@example.org", "primary": False},
                                                 {"address": "ada@example.org", "primary": True}]}}
    monkeypatch.setenv("CRM_SATISFACTION_LINK_SECRET", SECRET)
    with desk_app(tmp_path, monkeypatch, tenant=TENANT, customer=CUSTOMER, view=view, scopes=[]) as desk:
        yield desk


def _ticket(sessions: Any, *, resolutions: int, tenant: str = TENANT) -> uuid.UUID:
    ticket_id = uuid.uuid4()
    with unit_of_work(sessions) as session:
        session.add(Ticket(
            id=ticket_id, tenant_id=tenant, customer_id=CUSTOMER, token=ticket_id.hex[:8], subject="Login fails",
            description="", type="question", priority="normal", channel="web",
            status="resolved" if resolutions else "open", language=None, queue_id=None, assignee_id=None, tags=[],
            order_id=None, product_id=None, requester_email=None, merged_into_id=None, version=1, created_at=NOW,
            updated_at=NOW, resolved_at=NOW if resolutions else None, closed_at=None, resolutions=resolutions))
    return ticket_id


def _token(*scopes: str) -> dict[str, str]:
    token = mint_token(secret=DEV_JWT_SECRET, issuer="oneview-crm", tenant=TENANT, scopes=list(scopes))
    return {"Authorization": f"Bearer {token}"}


def _link(ticket_id: uuid.UUID, resolution: int, tenant: str = TENANT) -> dict[str, Any]:
    return {"resolution": resolution, "signature": rules.sign(SECRET, tenant, ticket_id, resolution)}


def _written(sessions: Any) -> tuple[int, int]:
    with unit_of_work(sessions) as session:
        return (session.scalar(select(func.count()).select_from(SatisfactionAnswer)) or 0,
                session.scalar(select(func.count()).select_from(OutboxRecord).where(
                    OutboxRecord.type == "crm.service_desk.satisfaction.rated.v1")) or 0)


def test_the_customer_rates_by_the_signed_link_without_a_login_and_the_rating_is_published(desk: Any) -> None:
    client, sessions = desk
    ticket_id = _ticket(sessions, resolutions=1)
    answer = client.post(f"/v1/tickets/{ticket_id}/satisfaction", params=_link(ticket_id, 1),
                         json={"rating": 4, "comment": "Quick, thanks"})
    assert answer.status_code == 201, answer.text
    assert {k: answer.json()[k] for k in ("resolution", "rating", "comment", "via", "rated_by")} == {
        "resolution": 1, "rating": 4, "comment": "Quick, thanks", "via": "link", "rated_by": "customer"}
    with unit_of_work(sessions) as session:
        event = session.scalars(select(OutboxRecord).where(
            OutboxRecord.type == "crm.service_desk.satisfaction.rated.v1")).one()
        assert (event.key, event.data["rating"], event.data["resolution"]) == (str(CUSTOMER), 4, 1)
    listed = client.get(f"/v1/tickets/{ticket_id}/satisfaction", headers=_token("service_desk:read"))
    assert listed.status_code == 200 and [a["rating"] for a in listed.json()["items"]] == [4]
    assert client.get(f"/v1/tickets/{ticket_id}/satisfaction").status_code == 401


def test_a_tampered_or_foreign_link_is_refused_and_writes_nothing(desk: Any) -> None:
    client, sessions = desk
    ticket_id = _ticket(sessions, resolutions=2)
    good = _link(ticket_id, 2)
    for params in ({**good, "signature": good["signature"][:-2] + "00"},  # tampered
                   {**good, "resolution": 1},                             # another resolution's
                   _link(ticket_id, 2, tenant="other"),                   # signed for another tenant
                   {"signature": good["signature"]},                     # cut short of its resolution
                   _link(uuid.uuid4(), 2)):                               # another ticket's
        answer = client.post(f"/v1/tickets/{ticket_id}/satisfaction", params=params, json={"rating": 5})
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    unknown = uuid.uuid4()
    assert client.post(f"/v1/tickets/{unknown}/satisfaction", params=_link(unknown, 1),
                       json={"rating": 5}).status_code == 403
    assert client.post(f"/v1/tickets/{ticket_id}/satisfaction", json={"rating": 5}).status_code == 401
    assert _written(sessions) == (0, 0)


def test_one_answer_per_resolution_and_a_second_resolution_is_rated_again(desk: Any) -> None:
    client, sessions = desk
    ticket_id = _ticket(sessions, resolutions=1)
    url = f"/v1/tickets/{ticket_id}/satisfaction"
    assert client.post(url, params=_link(ticket_id, 1), json={"rating": 2}).status_code == 201
    again = client.post(url, params=_link(ticket_id, 1), json={"rating": 5})
    assert again.status_code == 409 and "already been rated" in again.json()["detail"]
    assert client.post(url, headers=_token("service_desk:write"), json={"rating": 5}).status_code == 409
    # Reopened and resolved again: the second resolution has an answer of its own (here from an agent).
    with unit_of_work(sessions) as session:
        session.get_one(Ticket, ticket_id).resolutions = 2
    by_agent = client.post(url, headers=_token("service_desk:write"), json={"rating": 5})
    assert by_agent.status_code == 201 and (by_agent.json()["resolution"], by_agent.json()["via"]) == (2, "api")
    assert client.post(url, params=_link(ticket_id, 2), json={"rating": 1}).status_code == 409
    listed = client.get(url, headers=_token("service_desk:read"), params={"limit": 1})
    assert listed.json()["next_cursor"] is not None
    assert _written(sessions) == (2, 2)


def test_a_rating_out_of_range_or_of_an_unresolved_ticket_is_refused(desk: Any) -> None:
    client, sessions = desk
    resolved, never = _ticket(sessions, resolutions=1), _ticket(sessions, resolutions=0)
    for rating in (0, 6):
        answer = client.post(f"/v1/tickets/{resolved}/satisfaction", params=_link(resolved, 1), json={"rating": rating})
        assert answer.status_code == 422, answer.text
    assert client.post(f"/v1/tickets/{never}/satisfaction", params=_link(never, 1),
                       json={"rating": 3}).status_code == 409
    assert client.post(f"/v1/tickets/{never}/satisfaction", headers=_token("service_desk:write"),
                       json={"rating": 3}).status_code == 409
    # Reading is not writing: a reader's token may not rate.
    assert client.post(f"/v1/tickets/{resolved}/satisfaction", headers=_token("service_desk:read"),
                       json={"rating": 3}).status_code == 403
    assert _written(sessions) == (0, 0)


def test_a_resolution_is_requested_once_by_mail_with_a_link_that_rates_it(desk: Any) -> None:
    client, sessions = desk
    ticket_id = _ticket(sessions, resolutions=1)
    with unit_of_work(sessions) as session:
        ticket = session.get_one(Ticket, ticket_id)
        service.ticket_resolved(session, ticket, now=NOW)
        service.ticket_resolved(session, ticket, now=NOW)  # the same resolution: still one request
    assert service.send_requests(sessions, secret=SECRET, base_url="http://127.0.0.1:8000") == 1
    assert service.send_requests(sessions, secret=SECRET, base_url="http://127.0.0.1:8000") == 0
    with unit_of_work(sessions) as session:
        request = session.scalars(select(SatisfactionRequest)).one()
        # No requester: the customer's primary address in the view.
        assert (request.resolution, request.email, request.queued_at is not None) == (1, "ada@example.org", True)
        mail = session.scalars(select(OutgoingMail)).one()
        assert (mail.to_address, mail.ticket_id, mail.status) == ("ada@example.org", ticket_id, "queued")
        link = urlsplit(re.search(r"http://127\.0\.0\.1:8000/\S+", mail.body).group(0))  # type: ignore[union-attr]
    # The link as mailed rates the resolution, without a login.
    answer = client.post(f"{link.path}?{link.query}", json={"rating": 5})
    assert answer.status_code == 201, answer.text
    assert answer.json()["resolution"] == 1


def test_the_signed_link_works_through_the_gateway_which_passes_it_on_unauthenticated(desk: Any) -> None:
    import httpx

    from services.gateway.app import create_gateway_app
    from shared.settings import Settings

    client, sessions = desk
    ticket_id = _ticket(sessions, resolutions=1)

    def to_desk(request: httpx.Request) -> httpx.Response:
        answer = client.request(request.method, request.url.raw_path.decode(), content=request.content,
                                headers={k: v for k, v in request.headers.items() if k.lower() != "host"})
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    with TestClient(create_gateway_app(Settings(service="gateway"), transport=httpx.MockTransport(to_desk))) as gateway:
        link = _link(ticket_id, 1)
        forged = gateway.post(f"/v1/tickets/{ticket_id}/satisfaction", params=link | {"signature": "0" * 64},
                              json={"rating": 3})
        assert forged.status_code == 403
        answer = gateway.post(f"/v1/tickets/{ticket_id}/satisfaction", params=link, json={"rating": 3})
        assert answer.status_code == 201, answer.text
    assert _written(sessions) == (1, 1)


def test_service_stats_answer_per_group_and_refuse_an_empty_or_too_wide_window(desk: Any) -> None:
    client, sessions = desk
    _ticket(sessions, resolutions=1)
    reader = _token("service_desk:read")
    window = {"from": (NOW - timedelta(days=1)).isoformat(), "to": (NOW + timedelta(days=1)).isoformat()}
    answer = client.get("/v1/service-stats", headers=reader, params=window | {"group_by": "period", "period": "month"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["group_by"], body["period"]) == ("period", "month")
    assert [(g["group"], g["tickets"], g["resolution_minutes"]["median"]) for g in body["groups"]] == [
        ("2026-12-01", 1, 0.0)]
    for params in ({"from": window["to"], "to": window["from"]},
                   {"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
                   {"to": "0001-01-02T00:00:00Z"}):
        refused = client.get("/v1/service-stats", headers=reader, params=params)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/service-stats").status_code == 401


def test_service_stats_take_rfc_3339_times_only(desk: Any) -> None:
    client, _ = desk
    reader = _token("service_desk:read")
    for value in ("0.5", "2026-12-02", "2026-12-02T10:00:00"):  # a number, a day, no offset
        assert client.get("/v1/service-stats", headers=reader, params={"to": value}).status_code == 422
    assert client.get("/v1/service-stats", headers=reader, params={"to": "2026-12-02T10:00:00+01:00"}).status_code == 200
