"""Tickets: the life cycle's rules without a database, the use cases on one of their own, the routes over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.service_desk.customers.tables import CustomerReplica
from services.service_desk.database import Base
from services.service_desk.queues import service as queues
from services.service_desk.queues.schemas import QueueCreate
from services.service_desk.tickets import rules as desk
from services.service_desk.tickets import service
from services.service_desk.tickets.schemas import TicketCreate
from services.service_desk.tickets.tables import TicketComment
from shared.db import PLATFORM_METADATA, OutboxRecord, make_engine, make_sessions, utcnow
from shared.errors import Conflict, InvalidInput
from tests.support.desk import desk_app

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


# --- the rules -----------------------------------------------------------------------------


def test_ticket_life_cycle() -> None:
    desk.check_transition("new", "open")
    desk.check_transition("resolved", "open")
    with pytest.raises(Conflict):
        desk.check_transition("closed", "open")
    assert desk.event_action("open", "resolved") == "solved"
    assert desk.event_action("resolved", "open") == "reopened"
    assert desk.event_action(None, "new") == "created"


def test_an_illegal_transition_names_the_allowed_ones() -> None:
    with pytest.raises(Conflict) as refused:
        desk.check_transition("resolved", "pending_customer")
    assert "Allowed: closed, open." in refused.value.detail
    assert refused.value.errors == [{"field": "status", "message": "allowed: closed, open"}]


def test_a_resolved_ticket_reopens_only_within_the_window() -> None:
    resolved = NOW - timedelta(days=14)
    desk.check_transition("resolved", "open", resolved_at=resolved, now=NOW, window_days=14)
    with pytest.raises(Conflict) as late:
        desk.check_transition("resolved", "open", resolved_at=resolved - timedelta(seconds=1), now=NOW, window_days=14)
    assert "no longer be reopened" in late.value.detail and "new ticket" in late.value.detail
    assert desk.allowed_moves("resolved", resolved_at=resolved - timedelta(days=1), now=NOW, window_days=14) == [
        "closed"]


def test_a_closed_ticket_says_a_new_ticket_is_the_way() -> None:
    with pytest.raises(Conflict) as refused:
        desk.check_transition("closed", "open")
    assert "final" in refused.value.detail and "new ticket" in refused.value.detail


def test_null_clears_references_and_routing_but_not_the_subject() -> None:
    assert desk.patch_fields({"assignee_id": None, "tags": ["vip", "vip", "billing"]}) == {
        "assignee_id": None, "tags": ["vip", "billing"]}
    with pytest.raises(InvalidInput):
        desk.patch_fields({"subject": None})


def _after(status: str, visibility: str = "public", author: str = "agent",
           resolved_at: datetime | None = None) -> str | None:
    return desk.status_after_comment(status, visibility=visibility, author_type=author, resolved_at=resolved_at,
                                     now=NOW, window_days=14)


def test_the_first_public_agent_reply_opens_a_new_ticket() -> None:
    assert _after("new") == "open"
    assert _after("open") is None
    assert _after("pending_customer") is None


def test_the_customer_answering_a_pending_ticket_opens_it() -> None:
    assert _after("pending_customer", author="customer") == "open"
    assert _after("pending_third_party", author="customer") is None


def test_a_customer_comment_within_the_window_reopens_a_resolved_ticket() -> None:
    assert _after("resolved", author="customer", resolved_at=NOW - timedelta(days=3)) == "open"
    with pytest.raises(Conflict, match="new ticket"):
        _after("resolved", author="customer", resolved_at=NOW - timedelta(days=15))


def test_internal_notes_and_system_comments_change_no_status() -> None:
    assert _after("new", visibility="internal") is None
    assert _after("pending_customer", visibility="internal", author="customer") is None
    assert _after("new", author="system") is None
    assert _after("resolved", author="system", resolved_at=NOW - timedelta(days=3)) is None


def test_a_closed_ticket_takes_no_comment() -> None:
    with pytest.raises(Conflict):
        _after("closed", visibility="internal")


A, B = uuid.UUID(int=1), uuid.UUID(int=2)
ADA, BOB = uuid.UUID(int=10), uuid.UUID(int=11)


@pytest.mark.parametrize(("duplicate", "survivor", "why"), [
    (desk.MergeSide(A, ADA, "open", None), desk.MergeSide(A, ADA, "open", None), "itself"),
    (desk.MergeSide(A, ADA, "open", None), desk.MergeSide(B, BOB, "open", None), "same customer"),
    (desk.MergeSide(A, ADA, "open", None), desk.MergeSide(B, ADA, "closed", None), "closed"),
    (desk.MergeSide(A, ADA, "open", None), desk.MergeSide(B, ADA, "closed", uuid.UUID(int=3)), "merged into"),
    (desk.MergeSide(A, ADA, "closed", B), desk.MergeSide(B, ADA, "open", None), "already merged"),
])
def test_merges_are_refused_across_customers_into_itself_and_into_dead_tickets(
        duplicate: desk.MergeSide, survivor: desk.MergeSide, why: str) -> None:
    with pytest.raises(Conflict, match=why):
        desk.check_merge(duplicate, survivor)


def test_a_merge_of_the_same_customers_live_tickets_is_allowed() -> None:
    desk.check_merge(desk.MergeSide(A, ADA, "resolved", None), desk.MergeSide(B, ADA, "pending_customer", None))


VIEW: dict[str, Any] = {
    "customer_id": str(ADA), "version": 9,
    "profile": {"display_name": "Ada Ltd", "kind": "organization", "customer_group": "enterprise",
                "value_tier": "platinum"},
    "kpis": {"lifetime_value": [{"amount": "120000.00", "currency": "EUR"}], "open_orders": 2,
             "open_tickets": 1, "open_sla_breaches": 1, "csat_last": 2, "csat_average": 3.5, "churn_risk": {"score": 30, "level": "medium", "reasons": ["complained"]},
             "last_contact": {"at": "2026-12-01T10:00:00+00:00", "source": "sales", "entity": "order"}},
    "as_of": "2026-12-01T10:00:00+00:00",
}


def test_the_agent_sees_tier_group_value_and_orders_from_the_view() -> None:
    summary = desk.view_summary(VIEW, 9)
    assert (summary["available"], summary["view_version"], summary["value_tier"], summary["customer_group"]) == (
        True, 9, "platinum", "enterprise")
    assert summary["lifetime_value"] == [{"amount": "120000.00", "currency": "EUR"}]
    assert summary["open_orders"] == 2 and summary["last_contact"]["source"] == "sales"
    assert (summary["open_sla_breaches"], summary["csat_last"], summary["csat_average"]) == (1, 2, 3.5)
    # A KPI no service publishes yet is absent, never zero.
    assert summary["open_receivables"] is None and summary["last_service_contact"] is None


def test_without_a_replica_the_context_says_it_is_unavailable() -> None:
    summary = desk.view_summary(None, None)
    assert summary["available"] is False and "not replicated" in summary["reason"]
    assert summary["value_tier"] is None and summary["lifetime_value"] is None and summary["view_version"] is None


def test_a_view_of_an_unexpected_shape_is_read_without_failing() -> None:
    summary = desk.view_summary({"profile": "odd", "kpis": {"open_orders": "two", "lifetime_value": [1]}}, 1)
    assert summary["open_orders"] is None and summary["lifetime_value"] == [] and summary["value_tier"] is None


# --- the use cases, on a database of their own ---------------------------------------------

TENANT = "acme"
CUSTOMER = uuid.UUID(int=7)


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'service_desk.db'}")
    PLATFORM_METADATA.create_all(engine)
    Base.metadata.create_all(engine)
    with make_sessions(engine)() as session:
        session.add(CustomerReplica(customer_id=CUSTOMER, tenant_id=TENANT, view_version=3, display_name="Ada Example",
                                    kind="person", view={"version": 3}, updated_at=utcnow()))
        session.flush()
        yield session
    engine.dispose()


def _events(db: Session) -> list[tuple[str, str, dict[str, Any]]]:
    return [(r.type, r.key, r.data) for r in db.scalars(select(OutboxRecord).order_by(OutboxRecord.sequence))]


def _open(db: Session, **fields: Any) -> service.Shown:
    body = TicketCreate.model_validate({"customer_id": str(CUSTOMER), "subject": "Ada cannot log in",
                                        "description": "Since Monday."} | fields)
    return service.create_ticket(db, TENANT, body, wait_seconds=0)


def _any_version(version: int) -> None:
    pass


def test_a_ticket_for_a_customer_the_replica_does_not_know_is_refused(db: Session) -> None:
    with pytest.raises(InvalidInput):
        _open(db, customer_id=str(uuid.UUID(int=8)))
    assert _events(db) == []


def test_opening_a_ticket_publishes_it_keyed_by_its_customer(db: Session) -> None:
    opened = _open(db)
    assert opened.customer is not None and opened.customer.display_name == "Ada Example"
    ticket = opened.ticket
    assert _events(db) == [("crm.service_desk.ticket.created.v1", str(CUSTOMER), {
        "ticket_id": str(ticket.id), "customer_id": str(CUSTOMER), "subject": "Ada cannot log in",
        "type": "question", "priority": "normal", "channel": "web", "status": "new", "version": 1,
        # The offset form the unified view keeps as the ticket's opening time.
        "created_at": ticket.created_at.isoformat(), "queue_id": None, "assignee_id": None, "sla_state": None})]


def test_tickets_opened_in_the_same_minute_get_different_tokens(db: Session) -> None:
    tokens = {_open(db).ticket.token for _ in range(20)}
    assert len(tokens) == 20 and all(len(t) == 12 for t in tokens)


def test_solving_and_reopening_a_ticket_are_events_of_their_own(db: Session) -> None:
    ticket = _open(db).ticket
    solved = service.update_ticket(db, TENANT, ticket.id, {"status": "resolved"}, check_version=_any_version).ticket
    assert solved.resolved_at is not None and solved.resolutions == 1
    reopened = service.update_ticket(db, TENANT, ticket.id, {"status": "open"}, check_version=_any_version,
                                     reopen_window_days=14).ticket
    assert reopened.resolved_at is None and reopened.version == 3
    assert [(t, d["changes"]) for t, _, d in _events(db)[1:]] == [
        ("crm.service_desk.ticket.solved.v1", {"status": {"old": "new", "new": "resolved"}}),
        ("crm.service_desk.ticket.reopened.v1", {"status": {"old": "resolved", "new": "open"}})]


def test_a_ticket_resolved_before_the_window_is_not_reopened(db: Session) -> None:
    ticket = _open(db).ticket
    service.update_ticket(db, TENANT, ticket.id, {"status": "resolved"}, check_version=_any_version)
    ticket.resolved_at = utcnow() - timedelta(days=15)
    with pytest.raises(Conflict, match="new ticket"):
        service.update_ticket(db, TENANT, ticket.id, {"status": "open"}, check_version=_any_version,
                              reopen_window_days=14)
    assert ticket.status == "resolved"


def test_a_closed_ticket_is_final(db: Session) -> None:
    ticket = _open(db).ticket
    service.update_ticket(db, TENANT, ticket.id, {"status": "closed"}, check_version=_any_version)
    with pytest.raises(Conflict):
        service.update_ticket(db, TENANT, ticket.id, {"status": "open"}, check_version=_any_version)


def test_a_queue_change_alone_is_an_assignment_with_ids_as_strings(db: Session) -> None:
    ticket = _open(db).ticket
    queue = queues.create_queue(db, TENANT, QueueCreate(name="Billing")).queue.id
    with pytest.raises(InvalidInput, match="assignee_id"):
        service.update_ticket(db, TENANT, ticket.id, {"assignee_id": uuid.UUID(int=98)}, check_version=_any_version)
    service.update_ticket(db, TENANT, ticket.id, {"queue_id": queue}, check_version=_any_version)
    assert ticket.queue_id == queue
    kind, _, data = _events(db)[-1]
    assert kind == "crm.service_desk.ticket.assigned.v1" and data["changes"] == {
        "queue_id": {"old": None, "new": str(queue)}}
    assert service.repository.history_page(db, TENANT, ticket.id, after=None, limit=10_000)[-1].details == data["changes"]


def _comment(db: Session, ticket_id: uuid.UUID, *, author: str = "agent", visibility: str = "public",
             body: str = "Try again") -> TicketComment:
    return service.comment_on(db, TENANT, ticket_id, visibility=visibility, author_type=author,
                              author_name="Ada" if author == "customer" else "Bo", author_email=None,
                              author_id=None, body=body, reopen_window_days=14)[1]


def test_an_agents_public_reply_opens_and_an_internal_note_does_not(db: Session) -> None:
    ticket = _open(db).ticket
    _comment(db, ticket.id, visibility="internal")
    assert ticket.status == "new"
    _comment(db, ticket.id)
    assert ticket.status == "open"
    assert [t for t, _, _ in _events(db)[1:]] == [
        "crm.service_desk.ticket.commented.v1", "crm.service_desk.ticket.commented.v1",
        "crm.service_desk.ticket.updated.v1"]


def test_erasure_blanks_what_the_customer_wrote_and_keeps_the_ticket(db: Session) -> None:
    ticket = _open(db, requester_email="ada@example.org").ticket
    _comment(db, ticket.id, author="customer", body="My password is hunter2")
    service.update_ticket(db, TENANT, ticket.id, {"subject": "Ada Example cannot log in"}, check_version=_any_version)
    service.erase_customer(db, TENANT, CUSTOMER)
    service.erase_customer(db, TENANT, CUSTOMER)  # a redelivery changes nothing more
    assert (ticket.subject, ticket.description, ticket.type, ticket.requester_email) == (
        "(erased)", "", "question", None)
    comment = db.scalars(select(TicketComment)).one()
    assert (comment.body, comment.author_name, comment.author_email) == ("(erased)", "(erased)", None)
    history = service.repository.history_page(db, TENANT, ticket.id, after=None, limit=10_000)
    assert [(e.action, e.actor) for e in history] == [("created", "api"), ("commented", "(erased)"), ("changed", "api")]
    assert history[-1].details == {"subject": {"erased": True}}
    assert [(t, d["changes"]) for t, _, d in _events(db)[-1:]] == [
        ("crm.service_desk.ticket.updated.v1", {"subject": {"erased": True}})]


# --- the routes over HTTP ------------------------------------------------------------------


@pytest.fixture()
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with desk_app(tmp_path, monkeypatch, tenant=TENANT, customer=CUSTOMER, view=VIEW) as (test_client, _):
        yield test_client


def _post(client: TestClient, **fields: Any) -> dict[str, Any]:
    answer = client.post("/v1/tickets", json={"customer_id": str(CUSTOMER), "subject": "Invoice wrong"} | fields)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_ticket_is_opened_and_read_with_every_field_and_the_agents_context(client: TestClient) -> None:
    first = _post(client, type="billing", channel="email", language="de-AT", tags=["vip", "invoice"],
                  order_id="ord-42", product_id="SKU-1", requester_email="ada@example.org")
    other = _post(client, subject="Parcel late", type="return")
    read = client.get(f"/v1/tickets/{first['id']}")
    assert read.status_code == 200 and read.headers["etag"] == '"1"'
    body = read.json()
    assert {k: body[k] for k in ("type", "channel", "language", "tags", "order_id", "product_id",
                                 "requester_email", "merged_into_id", "resolutions", "sla")} == {
        "type": "billing", "channel": "email", "language": "de-AT", "tags": ["vip", "invoice"],
        "order_id": "ord-42", "product_id": "SKU-1", "requester_email": "ada@example.org",
        "merged_into_id": None, "resolutions": 0, "sla": None}
    context = body["context"]
    assert (context["available"], context["view_version"], context["value_tier"], context["open_orders"]) == (
        True, 9, "platinum", 2)
    assert [t["id"] for t in context["other_open_tickets"]] == [other["id"]]
    assert "context" not in client.get("/v1/tickets").json()["items"][0]


def test_a_ticket_of_a_customer_without_a_replica_reads_with_its_context_unavailable(
        client: TestClient, tmp_path: Path) -> None:
    ticket = _post(client)
    engine = make_engine(f"sqlite:///{tmp_path / 'desk.db'}")
    with make_sessions(engine)() as session:
        session.execute(delete(CustomerReplica))
        session.commit()
    engine.dispose()
    read = client.get(f"/v1/tickets/{ticket['id']}")
    assert read.status_code == 200, read.text
    assert read.json()["customer"]["display_name"] == "(unavailable)"
    assert read.json()["context"]["available"] is False and read.json()["context"]["value_tier"] is None


def test_bad_input_is_a_422_problem_and_writes_nothing(client: TestClient) -> None:
    for bad in ({"language": "not a tag!"}, {"type": "praise"}, {"channel": "fax"}, {"tags": ["two words"]},
                {"requester_email": "nobody"}, {"queue_id": str(uuid.UUID(int=5))}):
        answer = client.post("/v1/tickets", json={"customer_id": str(CUSTOMER), "subject": "x"} | bad)
        assert answer.status_code == 422 and answer.headers["content-type"] == "application/problem+json", bad
    assert client.get("/v1/tickets").json()["items"] == []


def test_patch_honours_if_match_and_refuses_illegal_transitions(client: TestClient) -> None:
    ticket = _post(client)
    path = f"/v1/tickets/{ticket['id']}"
    stale = client.patch(path, json={"priority": "high"}, headers={"If-Match": '"7"'})
    assert stale.status_code == 412
    changed = client.patch(path, json={"status": "resolved", "tags": ["done"]}, headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.json()["status"] == "resolved"
    refused = client.patch(path, json={"status": "pending_customer"})
    assert refused.status_code == 409 and "Allowed: closed, open." in refused.json()["detail"]
    assert client.patch(path, json={"subject": None}).status_code == 422
    assert client.get(path).json()["version"] == 2


def test_comments_history_and_filters_over_http(client: TestClient) -> None:
    ticket = _post(client, tags=["vip"])
    _post(client, tags=["other"], priority="urgent")
    path = f"/v1/tickets/{ticket['id']}"
    assert client.post(f"{path}/comments", json={"body": "Looking", "visibility": "internal",
                                                 "author_name": "Bo"}).status_code == 201
    reply = client.post(f"{path}/comments", json={"body": "Fixed?", "author_name": "Bo"})
    assert reply.status_code == 201 and reply.json()["visibility"] == "public"
    assert client.get(path).json()["status"] == "open"
    public = client.get(f"{path}/comments", params={"visibility": "public"}).json()
    assert [c["body"] for c in public["items"]] == ["Fixed?"]
    first_page = client.get(f"{path}/history", params={"limit": 2}).json()
    rest = client.get(f"{path}/history", params={"cursor": first_page["next_cursor"]}).json()
    assert [e["action"] for e in first_page["items"] + rest["items"]] == [
        "created", "commented", "commented", "changed"]
    assert rest["next_cursor"] is None
    tickets_cursor = client.get("/v1/tickets", params={"limit": 1}).json()["next_cursor"]
    assert client.get(f"{path}/history", params={"cursor": tickets_cursor}).status_code == 400
    assert [t["id"] for t in client.get("/v1/tickets", params={"tag": "vip"}).json()["items"]] == [ticket["id"]]
    assert len(client.get("/v1/tickets", params={"priority": "urgent", "channel": "web"}).json()["items"]) == 1
    client.patch(path, json={"status": "closed"})
    closed = client.post(f"{path}/comments", json={"body": "More", "author_name": "Bo"})
    assert closed.status_code == 409 and "new ticket" in closed.json()["detail"]


def test_merge_over_http_moves_comments_and_refuses_itself(client: TestClient) -> None:
    duplicate, survivor = _post(client), _post(client)
    client.post(f"/v1/tickets/{duplicate['id']}/comments", json={"body": "Same again", "author_name": "Ada",
                                                                 "author_type": "customer"})
    assert client.post(f"/v1/tickets/{duplicate['id']}/merge", json={"into": duplicate["id"]}).status_code == 409
    merged = client.post(f"/v1/tickets/{duplicate['id']}/merge", json={"into": survivor["id"]})
    assert merged.status_code == 200, merged.text
    assert merged.json()["comments_moved"] == 1 and merged.json()["duplicate"]["status"] == "closed"
    assert merged.json()["survivor"]["status"] == "new"
    assert [c["body"] for c in client.get(f"/v1/tickets/{survivor['id']}/comments").json()["items"]] == ["Same again"]
    # What reaches the merged ticket lands on its survivor.
    late = client.post(f"/v1/tickets/{duplicate['id']}/comments", json={"body": "Hello?", "author_name": "Bo"})
    assert late.status_code == 201 and late.json()["ticket_id"] == survivor["id"]
