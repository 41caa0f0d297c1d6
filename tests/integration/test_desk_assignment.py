"""Routing and fair assignment on a migrated service desk database, SQLite and PostgreSQL: tickets opened
through the tickets use case, queues and agents through theirs, each step in a transaction of its own."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.service_desk.agents import routes as agent_routes
from services.service_desk.agents import service as agents
from services.service_desk.agents.tables import Agent
from services.service_desk.agents.schemas import AgentCreate
from services.service_desk.customers.tables import CustomerReplica
from services.service_desk.queues import routes as queue_routes
from services.service_desk.queues import service as queues
from services.service_desk.queues.tables import Queue
from services.service_desk.settings import DeskSettings
from services.service_desk.queues.schemas import QueueCreate
from services.service_desk.tickets import service as tickets
from services.service_desk.tickets.schemas import TicketCreate
from services.service_desk.tickets.tables import Ticket
from shared.db import OutboxRecord, unit_of_work, utcnow
from shared.errors import Conflict, InvalidInput
from shared.auth import mint_token
from shared.http import PageRequest
from shared.service import create_service_app

pytestmark = pytest.mark.integration

TENANT = "acme"
ENTERPRISE = uuid.UUID(int=1)
MASS = uuid.UUID(int=2)


def _any_version(version: int) -> None:
    pass


@pytest.fixture()
def desk(desk_sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with unit_of_work(desk_sessions) as db:
        for customer_id, tier in ((ENTERPRISE, "enterprise"), (MASS, "mass")):
            db.add(CustomerReplica(customer_id=customer_id, tenant_id=TENANT, view_version=1, kind="organization",
                                   display_name=f"{tier} customer",
                                   view={"version": 1, "profile": {"value_tier": tier, "customer_group": "b2b"}},
                                   updated_at=utcnow()))
    return desk_sessions


def _queue(sessions: sessionmaker[Session], **fields: Any) -> uuid.UUID:
    with unit_of_work(sessions) as db:
        return queues.create_queue(db, TENANT, QueueCreate.model_validate({"name": "Support"} | fields)).queue.id


def _agent(sessions: sessionmaker[Session], name: str, queue_ids: list[uuid.UUID], **fields: Any) -> uuid.UUID:
    with unit_of_work(sessions) as db:
        body = AgentCreate.model_validate({"name": name, "email": f"{name.lower()}@desk.example",
                                           "queue_ids": [str(q) for q in queue_ids]} | fields)
        return agents.create_agent(db, TENANT, body).agent.id


def _open(sessions: sessionmaker[Session], **fields: Any) -> Ticket:
    with unit_of_work(sessions) as db:
        body = TicketCreate.model_validate({"customer_id": str(MASS), "subject": "It broke"} | fields)
        ticket = tickets.create_ticket(db, TENANT, body, wait_seconds=0).ticket
        db.flush()
        db.expunge(ticket)
        return ticket


def _ticket(sessions: sessionmaker[Session], ticket_id: uuid.UUID) -> Ticket:
    with sessions() as db:
        ticket = db.get(Ticket, ticket_id)
        assert ticket is not None
        db.expunge(ticket)
        return ticket


def _change(sessions: sessionmaker[Session], ticket_id: uuid.UUID, **changes: Any) -> None:
    with unit_of_work(sessions) as db:
        ticket = db.get(Ticket, ticket_id)
        assert ticket is not None
        diff = {name: {"old": getattr(ticket, name), "new": value} for name, value in changes.items()}
        tickets.apply_change(db, ticket, diff, actor="test", now=utcnow())


def _patch_agent(sessions: sessionmaker[Session], agent_id: uuid.UUID, **patch: Any) -> None:
    with unit_of_work(sessions) as db:
        agents.update_agent(db, TENANT, agent_id, patch, check_version=_any_version)


def _load(sessions: sessionmaker[Session], agent_id: uuid.UUID) -> int:
    with sessions() as db:
        return agents.get_agent(db, TENANT, agent_id).open_tickets


def test_routing_rules_are_tried_in_position_order_and_the_first_match_wins(desk: sessionmaker[Session]) -> None:
    catch_all = _queue(desk, name="General", position=90)
    vip = _queue(desk, name="Enterprise complaints", position=10,
                 match={"types": ["complaint"], "value_tiers": ["enterprise"]})
    german = _queue(desk, name="German", position=20, match={"languages": ["de"]})
    returns = _queue(desk, name="Returns", position=30, match={"types": ["return"], "product_ids": ["sku-1"],
                                                               "channels": ["email", "web"]})
    assert _open(desk, type="complaint", customer_id=str(ENTERPRISE)).queue_id == vip
    # Same complaint, a mass-market customer: the tier condition fails, the next rule is tried.
    assert _open(desk, type="complaint", language="de-CH").queue_id == german
    assert _open(desk, type="return", product_id="sku-1", channel="email").queue_id == returns
    assert _open(desk, type="return", product_id="sku-1", channel="phone").queue_id == catch_all
    # A ticket without a language does not meet a language condition.
    assert _open(desk, type="question").queue_id == catch_all
    with unit_of_work(desk) as db:
        queues.update_queue(db, TENANT, catch_all, {"match": {"types": ["incident"]}}, check_version=_any_version)
    assert _open(desk, type="question").queue_id is None


def test_round_robin_takes_three_agents_in_turn(desk: sessionmaker[Session]) -> None:
    queue = _queue(desk)
    ids = sorted([_agent(desk, "Ann", [queue]), _agent(desk, "Bob", [queue]), _agent(desk, "Cid", [queue])])
    given = [_open(desk).assignee_id for _ in range(9)]
    assert given == ids * 3
    with desk() as db:
        events = [r.type for r in db.scalars(select(OutboxRecord).order_by(OutboxRecord.sequence))]
    assert events.count("crm.service_desk.ticket.assigned.v1") == 9


def test_least_loaded_picks_fewest_open_then_longest_waiting(desk: sessionmaker[Session]) -> None:
    queue = _queue(desk, assignment="least_loaded")
    ann = _agent(desk, "Ann", [queue])
    first = [_open(desk).assignee_id for _ in range(2)]
    assert first == [ann, ann]  # alone
    bob = _agent(desk, "Bob", [queue])
    cid = _agent(desk, "Cid", [queue])
    # Bob and Cid hold none; neither was ever assigned, so id order breaks the tie, then the other.
    second = [_open(desk).assignee_id for _ in range(2)]
    assert sorted(second) == sorted([bob, cid])
    # Now Bob and Cid hold one, Ann two: the one longest since their last assignment goes first.
    third = _open(desk).assignee_id
    assert third == second[0]
    assert Counter(_open(desk).assignee_id for _ in range(3)) == Counter({second[1]: 1, ann: 1, second[0]: 1})


def test_skills_and_language_decide_who_may_take_a_ticket(desk: sessionmaker[Session]) -> None:
    queue = _queue(desk, required_skills=["billing"])
    _agent(desk, "Nosk", [queue], skills=["returns"])
    german = _agent(desk, "Greta", [queue], skills=["billing", "returns"], languages=["de"])
    anyone = _agent(desk, "Polly", [queue], skills=["billing"])  # lists no languages: takes any
    assert _open(desk, language="de-AT").assignee_id in {german, anyone}
    for _ in range(3):
        assert _open(desk, language="fr").assignee_id == anyone


def test_capacity_caps_open_tickets_and_a_resolved_one_frees_the_agent(desk: sessionmaker[Session]) -> None:
    queue = _queue(desk)
    ann = _agent(desk, "Ann", [queue], capacity=2)
    held = [_open(desk) for _ in range(2)]
    waiting = [_open(desk) for _ in range(2)]
    assert [t.assignee_id for t in held] == [ann, ann]
    assert [t.assignee_id for t in waiting] == [None, None]
    assert _load(desk, ann) == 2
    _change(desk, held[0].id, status="resolved")
    # The oldest waiting ticket goes to her at once; the younger one still waits.
    assert _ticket(desk, waiting[0].id).assignee_id == ann
    assert _ticket(desk, waiting[1].id).assignee_id is None
    _patch_agent(desk, ann, capacity=3)
    assert _ticket(desk, waiting[1].id).assignee_id == ann
    assert _load(desk, ann) == 3
    with desk() as db:
        assert queues.get_queue(db, TENANT, queue).waiting == 0


def test_unavailable_agents_are_skipped_and_get_tickets_when_back(desk: sessionmaker[Session]) -> None:
    queue = _queue(desk)
    away = _agent(desk, "Away", [queue], available=False)
    assert _open(desk).assignee_id is None
    here = _agent(desk, "Here", [queue], capacity=1)  # takes the waiting ticket as they join
    assert _load(desk, here) == 1
    waiting = _open(desk)
    assert waiting.assignee_id is None
    _patch_agent(desk, away, available=True)
    assert _ticket(desk, waiting.id).assignee_id == away


def test_reassigning_a_ticket_frees_the_first_agent_for_the_queue(desk: sessionmaker[Session]) -> None:
    queue = _queue(desk)
    ann = _agent(desk, "Ann", [queue], capacity=1)
    mine = _open(desk)
    waiting = _open(desk)
    assert (mine.assignee_id, waiting.assignee_id) == (ann, None)
    outside = _agent(desk, "Outside", [])
    _change(desk, mine.id, assignee_id=outside)
    assert _ticket(desk, waiting.id).assignee_id == ann


def test_moving_a_ticket_to_another_queue_assigns_it_there(desk: sessionmaker[Session]) -> None:
    first, second = _queue(desk, name="First"), _queue(desk, name="Second", position=200)
    ann, bob = _agent(desk, "Ann", [first]), _agent(desk, "Bob", [second])
    ticket = _open(desk)
    assert (ticket.queue_id, ticket.assignee_id) == (first, ann)
    _change(desk, ticket.id, queue_id=second)
    assert _ticket(desk, ticket.id).assignee_id == bob
    assert _load(desk, ann) == 0


def test_the_backstop_job_hands_out_what_waits(desk: sessionmaker[Session]) -> None:
    queue = _queue(desk)
    waiting = _open(desk)
    with unit_of_work(desk) as db:
        # An agent put in place without the use case (as a restore would): nothing hands out to them.
        agent = agents.create_agent(db, TENANT, AgentCreate(name="Late", email="late@desk.example", available=False))
        agent.agent.available = True
        agents.repository.replace_queues(db, agent.agent, [queue])
    assert _ticket(desk, waiting.id).assignee_id is None
    assert agents.hand_out_waiting(desk, settings=None) == 1  # type: ignore[arg-type]
    assert _ticket(desk, waiting.id).assignee_id == agent.agent.id
    assert agents.hand_out_waiting(desk, settings=None) == 0  # type: ignore[arg-type]


def test_a_queue_with_open_tickets_cannot_be_deleted_and_agents_need_known_queues(
        desk: sessionmaker[Session]) -> None:
    queue = _queue(desk)
    ann = _agent(desk, "Ann", [queue], manager_email="boss@desk.example")
    ticket = _open(desk)
    with unit_of_work(desk) as db, pytest.raises(Conflict):
        queues.delete_queue(db, TENANT, queue, check_version=_any_version)
    with unit_of_work(desk) as db, pytest.raises(InvalidInput):
        agents.update_agent(db, TENANT, ann, {"queue_ids": [queue, uuid.UUID(int=99)]}, check_version=_any_version)
    with desk() as db:
        assert agents.manager_email_of(db, TENANT, ann) == "boss@desk.example"
        assert agents.manager_email_of(db, "other", ann) is None
    _change(desk, ticket.id, status="closed")
    with unit_of_work(desk) as db:
        queues.delete_queue(db, TENANT, queue, check_version=_any_version)
    with desk() as db:
        assert agents.get_agent(db, TENANT, ann).queue_ids == []
        assert queues.list_queues(db, TENANT, PageRequest(limit=10, after=None)) == []


def test_parallel_assignments_never_push_an_agent_past_capacity(desk: sessionmaker[Session]) -> None:
    """PostgreSQL: eight transactions assign at once into two queues sharing one agent of capacity three."""
    with desk() as db:
        if db.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time: nothing runs in parallel")
    first, second = _queue(desk, name="First"), _queue(desk, name="Second", position=200)
    shared = _agent(desk, "Shared", [first, second], capacity=3, available=False)
    # Tickets waiting in both queues, then handed out by parallel transactions.
    for queue in (first, second):
        for _ in range(4):
            _open(desk, queue_id=str(queue))
    with unit_of_work(desk) as db:
        agent = agents.repository.get_agent(db, TENANT, shared)
        assert agent is not None
        agent.available = True  # without the hand-out the use case would do
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def hand_out(queue_id: uuid.UUID) -> None:
        try:
            with unit_of_work(desk) as db:
                barrier.wait(timeout=10)
                agents.hand_out_queue(db, TENANT, queue_id, now=utcnow())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hand_out, args=(q,)) for q in (first, second) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert _load(desk, shared) == 3


# --- over HTTP --------------------------------------------------------------------------------------------------


def _rows(sessions: sessionmaker[Session]) -> tuple[int, int]:
    with sessions() as db:
        return (db.scalar(select(func.count()).select_from(Queue)) or 0,
                db.scalar(select(func.count()).select_from(Agent)) or 0)


def test_queues_and_agents_over_http(desk: sessionmaker[Session]) -> None:
    url = desk.kw["bind"].url.render_as_string(hide_password=False)
    settings = DeskSettings(service="service_desk", database_url=url, worker_port=0)
    app = create_service_app(settings=settings, title="desk", description="queues",
                             routers=(queue_routes.router, agent_routes.router))
    token = mint_token(secret=settings.jwt_secret, issuer=settings.jwt_issuer, tenant=TENANT,
                       scopes=["service_desk:read", "service_desk:write"])
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        made = client.post("/v1/queues", json={"name": "Billing", "position": 5, "match": {"types": ["billing"]},
                                               "assignment": "least_loaded"})
        assert made.status_code == 201, made.text
        queue = made.json()
        assert made.headers["location"] == f"/v1/queues/{queue['id']}" and made.headers["etag"] == '"1"'
        assert queue["match"] == {"types": ["billing"], "channels": [], "languages": [], "product_ids": [],
                                  "value_tiers": []} and queue["waiting"] == 0
        assert client.post("/v1/queues", json={"name": "Billing"}).status_code == 409
        before = _rows(desk)
        bad = client.post("/v1/queues", json={"name": "X", "match": {"types": ["gossip"]}})
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        bad_agent = client.post("/v1/agents", json={"name": "Ann", "email": "ann@desk.example",
                                                    "queue_ids": [str(uuid.UUID(int=5))]})
        assert bad_agent.status_code == 422 and "queue_ids[0]" in bad_agent.text
        assert _rows(desk) == before

        for nulled in ({"assignment": None}, {"name": None}):
            cleared = client.patch(f"/v1/queues/{queue['id']}", json=nulled)
            assert cleared.status_code == 422 and cleared.headers["content-type"] == "application/problem+json"
        stale = client.patch(f"/v1/queues/{queue['id']}", json={"position": 1}, headers={"If-Match": '"7"'})
        assert stale.status_code == 412
        moved = client.patch(f"/v1/queues/{queue['id']}", json={"position": 1}, headers={"If-Match": '"1"'})
        assert moved.status_code == 200 and moved.json()["position"] == 1 and moved.headers["etag"] == '"2"'

        ticket = _open(desk, type="billing")
        assert str(ticket.queue_id) == queue["id"] and ticket.assignee_id is None
        ann = client.post("/v1/agents", json={"name": "Ann", "email": "ann@desk.example", "queue_ids": [queue["id"]],
                                              "capacity": 2, "available": False})
        assert ann.status_code == 201, ann.text
        assert ann.json()["open_tickets"] == 0
        agent_url = f"/v1/agents/{ann.json()['id']}"
        assert client.get(f"/v1/queues/{queue['id']}").json()["waiting"] == 1
        assert client.patch(agent_url, json={"available": None}).status_code == 422
        back = client.patch(agent_url, json={"available": True}, headers={"If-Match": '"1"'})
        assert back.status_code == 200 and back.json()["open_tickets"] == 1
        assert _ticket(desk, ticket.id).assignee_id == uuid.UUID(ann.json()["id"])
        listed = client.get("/v1/agents", params={"queue_id": queue["id"], "limit": 1}).json()
        assert [a["id"] for a in listed["items"]] == [ann.json()["id"]] and listed["next_cursor"] is None
        assert client.get("/v1/queues", params={"limit": 1}).json()["items"][0]["id"] == queue["id"]

        full = client.delete(f"/v1/queues/{queue['id']}")
        assert full.status_code == 409 and full.headers["content-type"] == "application/problem+json"
        assert client.delete(agent_url, headers={"If-Match": '"1"'}).status_code == 412
        assert client.delete(agent_url).status_code == 204
        assert client.get(agent_url).status_code == 404
        assert _ticket(desk, ticket.id).assignee_id is None


def test_agents_freeing_up_while_their_queues_hand_out_neither_deadlock_nor_overfill(
        desk: sessionmaker[Session]) -> None:
    """PostgreSQL: two agents of two queues come back while both queues hand out, all at once."""
    with desk() as db:
        if db.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time: nothing runs in parallel")
    first, second = _queue(desk, name="First"), _queue(desk, name="Second", position=200)
    pair = [_agent(desk, name, [first, second], capacity=2, available=False) for name in ("Ann", "Bob")]
    for queue in (first, second):
        for _ in range(4):
            _open(desk, queue_id=str(queue))
    with unit_of_work(desk) as db:
        for agent_id in pair:
            agent = agents.repository.get_agent(db, TENANT, agent_id)
            assert agent is not None
            agent.available = True
    with unit_of_work(desk) as db:  # back to away without the use case: the parallel steps do the work
        for agent_id in pair:
            agents.repository.get_agent(db, TENANT, agent_id).available = False  # type: ignore[union-attr]
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def step(run: Any) -> None:
        try:
            with unit_of_work(desk) as db:
                barrier.wait(timeout=10)
                run(db)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    runs = [lambda db, a=a: agents.update_agent(db, TENANT, a, {"available": True}, check_version=_any_version)
            for a in pair]
    runs += [lambda db, q=q: agents.hand_out_queue(db, TENANT, q, now=utcnow()) for q in (first, second, first, second)]
    threads = [threading.Thread(target=step, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert [_load(desk, a) for a in pair] == [2, 2]
