"""SLA calendars and policies over HTTP on a migrated database: CRUD, 422s that write nothing, If-Match, a
calendar in use refused, and a ticket showing the SLA of the first matching policy."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.desk import desk_app

TENANT = "acme"
CUSTOMER = uuid.UUID(int=11)
HOURS = {"mon": [{"start": "09:00", "end": "12:00"}, {"start": "13:00", "end": "17:00"}],
         "fri": [{"start": "09:00", "end": "15:00"}]}


@pytest.fixture()
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    view = {"version": 1, "profile": {"value_tier": "gold"}}
    with desk_app(tmp_path, monkeypatch, tenant=TENANT, customer=CUSTOMER, view=view) as (test_client, _):
        yield test_client


def _calendar(client: TestClient, **fields: Any) -> dict[str, Any]:
    answer = client.post("/v1/calendars", json={"name": "Berlin office", "time_zone": "Europe/Berlin",
                                                "working_hours": HOURS, "holidays": ["2026-12-25"]} | fields)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _policy(client: TestClient, calendar_id: str, **fields: Any) -> dict[str, Any]:
    answer = client.post("/v1/sla-policies", json={"name": "Gold", "position": 1, "calendar_id": calendar_id,
                                                   "first_response_minutes": 60} | fields)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_calendars_are_created_read_changed_with_if_match_and_listed(client: TestClient) -> None:
    calendar = _calendar(client)
    assert (calendar["working_hours"]["mon"], calendar["working_hours"]["tue"], calendar["holidays"]) == (
        HOURS["mon"], [], ["2026-12-25"])
    read = client.get(f"/v1/calendars/{calendar['id']}")
    assert read.status_code == 200 and read.headers["etag"] == '"1"'
    stale = client.patch(f"/v1/calendars/{calendar['id']}", json={"name": "x"}, headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    changed = client.patch(f"/v1/calendars/{calendar['id']}", json={"time_zone": "America/New_York"},
                           headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    _calendar(client, name="Second")
    first = client.get("/v1/calendars", params={"limit": 1}).json()
    rest = client.get("/v1/calendars", params={"limit": 1, "cursor": first["next_cursor"]}).json()
    assert len(first["items"]) == len(rest["items"]) == 1 and rest["next_cursor"] is None


@pytest.mark.parametrize("bad", [
    {"time_zone": "Europe/Atlantis"},
    {"working_hours": {"mon": [{"start": "09:00", "end": "13:00"}, {"start": "12:00", "end": "17:00"}]}},
    {"working_hours": {"tue": [{"start": "17:00", "end": "09:00"}]}},
    {"working_hours": {"someday": []}},
    {"holidays": ["not a date"]},
])
def test_bad_calendars_are_422_problems_and_write_nothing(client: TestClient, bad: dict[str, Any]) -> None:
    answer = client.post("/v1/calendars", json={"name": "Bad", "time_zone": "UTC", "working_hours": HOURS} | bad)
    assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json"
    assert client.get("/v1/calendars").json()["items"] == []


def test_policies_need_a_target_and_a_known_calendar_and_hold_their_calendar(client: TestClient) -> None:
    calendar = _calendar(client)
    for bad in ({"first_response_minutes": None}, {"calendar_id": str(uuid.uuid4())}, {"match": {"colour": []}}):
        answer = client.post("/v1/sla-policies", json={"name": "Gold", "position": 1, "calendar_id": calendar["id"],
                                                       "first_response_minutes": 60} | bad)
        assert answer.status_code == 422, (bad, answer.text)
    assert client.get("/v1/sla-policies").json()["items"] == []
    policy = _policy(client, calendar["id"], escalation={"raise_priority": True})
    assert (policy["warning_minutes"], policy["escalation"]) == (
        30, {"raise_priority": True, "move_to_queue_id": None, "notify_manager": False})
    refused = client.delete(f"/v1/calendars/{calendar['id']}")
    assert refused.status_code == 409 and "Gold" in refused.json()["detail"]
    cleared = client.patch(f"/v1/sla-policies/{policy['id']}", json={"first_response_minutes": None})
    assert cleared.status_code == 422
    moved = client.patch(f"/v1/sla-policies/{policy['id']}", json={"resolution_minutes": 480, "position": 5},
                         headers={"If-Match": '"1"'})
    assert moved.status_code == 200 and (moved.json()["version"], moved.json()["position"]) == (2, 5)
    assert client.delete(f"/v1/sla-policies/{policy['id']}").status_code == 204
    assert client.get(f"/v1/sla-policies/{policy['id']}").status_code == 404
    assert client.delete(f"/v1/calendars/{calendar['id']}").status_code == 204


def test_a_new_ticket_shows_the_first_matching_policy_by_position(client: TestClient) -> None:
    calendar = _calendar(client, working_hours={d: [{"start": "00:00", "end": "24:00"}]
                                                for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")})
    _policy(client, calendar["id"], name="Anyone", position=9, first_response_minutes=240)
    gold = _policy(client, calendar["id"], name="Gold", position=2, match={"value_tiers": ["gold"]})
    _policy(client, calendar["id"], name="Silver", position=1, match={"value_tiers": ["silver"]})
    ticket = client.post("/v1/tickets", json={"customer_id": str(CUSTOMER), "subject": "Invoice wrong"})
    assert ticket.status_code == 201, ticket.text
    shown = ticket.json()["sla"]
    assert (shown["policy_id"], shown["policy"], shown["state"]) == (gold["id"], "Gold", "ok")
    assert shown["first_response_due"] is not None and shown["resolution_due"] is None
