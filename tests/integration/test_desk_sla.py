"""The SLA check job on a migrated service desk database (SQLite and PostgreSQL): warnings and breaches
published once per target, escalation by policy, a tier upgrade picking the policy anew, and two runs at once
publishing nothing twice."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.service_desk import contract
from services.service_desk.agents.tables import Agent
from services.service_desk.customers.consumers import VIEW_REPLICA
from services.service_desk.customers.tables import CustomerReplica
from services.service_desk.mail.tables import OutgoingMail
from services.service_desk.sla import service as sla
from services.service_desk.sla.schemas import CalendarIn, PolicyIn
from services.service_desk.sla.tables import TicketSlaRow
from services.service_desk.tickets import repository as tickets_repository
from services.service_desk.tickets import service as tickets
from services.service_desk.tickets.schemas import TicketCreate
from services.service_desk.tickets.tables import Ticket
from shared.consumer import Delivery, apply_all
from shared.db import OutboxRecord, unit_of_work, utcnow
from shared.envelope import CloudEvent

pytestmark = pytest.mark.integration

TENANT = "acme"
ALWAYS = {day: [{"start": "00:00", "end": "24:00"}] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _customer(session: Session, tier: str | None = None) -> uuid.UUID:
    customer_id = uuid.uuid4()
    session.add(CustomerReplica(customer_id=customer_id, tenant_id=TENANT, view_version=1, display_name="Ada Example",
                                kind="person", view={"version": 1, "profile": {"value_tier": tier}},
                                updated_at=utcnow()))
    return customer_id


def _policy(session: Session, name: str, position: int, **fields: Any) -> uuid.UUID:
    calendar = sla.create_calendar(session, TENANT, CalendarIn.model_validate(
        {"name": f"{name} hours", "time_zone": "UTC", "working_hours": ALWAYS}))
    session.flush()
    policy = sla.create_policy(session, TENANT, PolicyIn.model_validate(
        {"name": name, "position": position, "calendar_id": str(calendar.id)} | fields))
    session.flush()
    return policy.id


def _ticket(session: Session, customer_id: uuid.UUID, **fields: Any) -> Ticket:
    shown = tickets.create_ticket(session, TENANT, TicketCreate.model_validate(
        {"customer_id": str(customer_id), "subject": "The invoice is wrong"} | fields), wait_seconds=0)
    return shown.ticket


def _events(sessions: sessionmaker[Session], *types: str) -> list[dict[str, Any]]:
    with sessions() as session:
        return [r.data for r in session.scalars(select(OutboxRecord).where(OutboxRecord.type.in_(types))
                                                .order_by(OutboxRecord.sequence))]


def _actions(sessions: sessionmaker[Session], ticket_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    with sessions() as session:
        return [(h.action, h.details) for h in tickets_repository.history_page(session, TENANT, ticket_id, after=None, limit=10_000)
                if h.action in ("sla_warning", "sla_breached", "escalated")]


def test_job_warns_then_breaches_once_and_escalates_by_policy(desk_sessions: sessionmaker[Session]) -> None:
    queue_id = uuid.uuid4()
    with unit_of_work(desk_sessions) as session:
        customer_id = _customer(session)
        _policy(session, "standard", 1, first_response_minutes=60, warning_minutes=30,
                escalation={"raise_priority": True, "move_to_queue_id": str(queue_id), "notify_manager": True})
        now = utcnow()
        agent = Agent(id=uuid.uuid4(), tenant_id=TENANT, name="Bo Agent", email="bo@example.test",
                      manager_email="lead@example.test", skills=[], languages=[], capacity=10, available=False,
                      last_assigned_at=None, version=1, created_at=now, updated_at=now)
        session.add(agent)
        ticket = _ticket(session, customer_id)
        tickets.apply_change(session, ticket, {"assignee_id": {"old": None, "new": agent.id}}, actor="test",
                             now=utcnow())
        answered = _ticket(session, customer_id)
        tickets.add_comment(session, answered, visibility="public", author_type="agent", author_name="Bo",
                            author_email=None, author_id=agent.id, body="On it.", via="api", now=utcnow())
        ticket_id, answered_id, created = ticket.id, answered.id, ticket.created_at
    with desk_sessions() as session:
        assert session.get(TicketSlaRow, ticket_id).state == "ok"

    assert sla.check_due(desk_sessions, created + timedelta(minutes=20)) == 0
    assert sla.check_due(desk_sessions, created + timedelta(minutes=40)) == 1
    assert sla.check_due(desk_sessions, created + timedelta(minutes=45)) == 0
    warnings = _events(desk_sessions, contract.TICKET_SLA_WARNING.name)
    assert [(w["ticket_id"], w["target"], w["sla_state"]) for w in warnings] == \
        [(str(ticket_id), "first_response", "warning")]

    assert sla.check_due(desk_sessions, created + timedelta(minutes=61)) == 2  # the breach and its escalation
    assert sla.check_due(desk_sessions, created + timedelta(hours=5)) == 0
    breaches = _events(desk_sessions, contract.TICKET_SLA_BREACHED.name)
    assert [(b["ticket_id"], b["target"]) for b in breaches] == [(str(ticket_id), "first_response")]
    escalated = _events(desk_sessions, contract.TICKET_ESCALATED.name)
    assert [(e["ticket_id"], e["actions"]) for e in escalated] == \
        [(str(ticket_id), ["raised_priority", "moved_to_queue", "notified_manager"])]
    assert escalated[0]["priority"] == "high" and escalated[0]["queue_id"] == str(queue_id)
    assert _actions(desk_sessions, ticket_id) == [
        ("sla_warning", {"target": "first_response"}), ("sla_breached", {"target": "first_response"}),
        ("escalated", {"target": "first_response", "actions": ["raised_priority", "moved_to_queue",
                                                               "notified_manager"]})]
    # The agent's reply met the other ticket's target: nothing reported, nothing escalated.
    assert _actions(desk_sessions, answered_id) == []
    with desk_sessions() as session:
        row = session.get(TicketSlaRow, ticket_id)
        assert row.state == "breached" and row.next_check_at is None
        mails = list(session.scalars(select(OutgoingMail).where(OutgoingMail.ticket_id == ticket_id)))
        assert [m.to_address for m in mails] == ["lead@example.test"]
        changed = session.get(Ticket, ticket_id)
        assert (changed.priority, changed.queue_id) == ("high", queue_id)


def test_a_tier_upgrade_picks_the_policy_anew_from_the_ticket_s_creation(
        desk_sessions: sessionmaker[Session]) -> None:
    with unit_of_work(desk_sessions) as session:
        customer_id = _customer(session, "silver")
        gold = _policy(session, "gold", 1, match={"value_tiers": ["gold"]}, resolution_minutes=60)
        standard = _policy(session, "standard", 2, resolution_minutes=480)
        ticket = _ticket(session, customer_id)
        ticket_id, created = ticket.id, ticket.created_at
        assert sla.ticket_sla(session, ticket).policy_id == standard
    # The upgraded view arrives through the replica's consumer, as from the customer service.
    data = {"customer_id": str(customer_id), "version": 2, "kpis": {}, "source_sequences": {},
            "profile": {"display_name": "Ada Example", "kind": "person", "value_tier": "gold"}}
    event = CloudEvent(id=str(uuid.uuid4()), source="/crm/customer", type=contract.VIEW_UPDATED.name,
                       subject=str(customer_id), time=utcnow(), data=data, tenant=TENANT, sequence=2)
    with desk_sessions.begin() as session:
        apply_all(session, VIEW_REPLICA.name, [Delivery(topic=contract.CUSTOMER_VIEW_TOPIC.name, key=str(customer_id),
                                                        event=event)], VIEW_REPLICA.handle, dedupe=VIEW_REPLICA.dedupe)
    with desk_sessions() as session:
        shown = sla.ticket_sla(session, session.get(Ticket, ticket_id))
        assert shown is not None and (shown.policy_id, shown.policy) == (gold, "gold")
        assert abs(shown.resolution_due - (created + timedelta(minutes=60))) < timedelta(seconds=1)


def test_two_runs_at_once_publish_each_breach_once(desk_sessions: sessionmaker[Session]) -> None:
    with desk_sessions() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time; the row locks are PostgreSQL's")
    with unit_of_work(desk_sessions) as session:
        customer_id = _customer(session)
        _policy(session, "standard", 1, first_response_minutes=10, warning_minutes=0)
        for _ in range(40):
            _ticket(session, customer_id)
    later = utcnow() + timedelta(minutes=11)
    counts: list[int] = []
    runs = [threading.Thread(target=lambda: counts.append(sla.check_due(desk_sessions, later))) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sum(counts) == 40
    with desk_sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxRecord).where(
            OutboxRecord.type == contract.TICKET_SLA_BREACHED.name)) == 40


def test_two_transactions_giving_a_ticket_its_first_clock_take_turns(desk_sessions: sessionmaker[Session]) -> None:
    # A ticket opened before any policy has no SLA row; once a policy exists, a reply and the replica's
    # follow-up of a view change may both give it its first one. The second waits for the first and
    # reads its row: one row, both commits succeed (before, the second failed on a duplicate key).
    with desk_sessions() as session:
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time; the row locks are PostgreSQL's")
    with unit_of_work(desk_sessions) as session:
        ticket_id = _ticket(session, _customer(session)).id
    with unit_of_work(desk_sessions) as session:
        _policy(session, "standard", 1, first_response_minutes=10)
    failures: list[Exception] = []

    def second() -> None:
        try:
            with unit_of_work(desk_sessions) as session:
                sla.recompute(session, session.get(Ticket, ticket_id), now=utcnow())
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            failures.append(exc)

    with unit_of_work(desk_sessions) as session:
        assert sla.recompute(session, session.get(Ticket, ticket_id), now=utcnow()) is not None
        other = threading.Thread(target=second)
        other.start()
        time.sleep(0.5)  # the other transaction reaches the row and waits for this one's commit
        assert other.is_alive()
    other.join(timeout=30)
    assert failures == [] and not other.is_alive()
    with desk_sessions() as session:
        assert session.scalar(select(func.count()).select_from(TicketSlaRow).where(
            TicketSlaRow.ticket_id == ticket_id)) == 1
