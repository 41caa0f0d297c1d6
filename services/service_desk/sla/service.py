"""SLA use cases: calendars and policies, each ticket's clock recomputed from its history, the breach check.

Every function works inside the caller's unit of work and never commits, except the check job, which runs
its own units of work batch by batch.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from services.service_desk import contract
from services.service_desk.customers import repository as customers
from services.service_desk.sla import repository, rules
from services.service_desk.sla.schemas import CalendarIn, PolicyIn, TicketSla
from services.service_desk.sla.tables import SlaCalendar, SlaPolicy
from services.service_desk.tickets import repository as tickets
from services.service_desk.tickets.tables import Ticket
from shared.db import unit_of_work, utcnow
from shared.errors import InvalidInput, NotFound
from shared.http import PageRequest
from shared.ids import new_id
from shared.outbox import publish
from shared.settings import Settings

# Rows the check job takes per unit of work.
BATCH = 200


# --- calendars ---------------------------------------------------------------------------------------


def _check_calendar(fields: dict[str, Any]) -> None:
    rules.check_time_zone(fields["time_zone"])
    rules.check_working_hours(fields["working_hours"])


def create_calendar(session: Session, tenant: str, body: CalendarIn) -> SlaCalendar:
    fields = body.model_dump(mode="json")
    _check_calendar(fields)
    now = utcnow()
    calendar = SlaCalendar(id=new_id(), tenant_id=tenant, name=fields["name"], time_zone=fields["time_zone"],
                           working_hours=fields["working_hours"], holidays=sorted(set(fields["holidays"])),
                           version=1, created_at=now, updated_at=now)
    session.add(calendar)
    return calendar


def list_calendars(session: Session, tenant: str, page: PageRequest) -> list[SlaCalendar]:
    return repository.list_calendars(session, tenant, page)


def get_calendar(session: Session, tenant: str, calendar_id: uuid.UUID) -> SlaCalendar:
    calendar = repository.get_calendar(session, tenant, calendar_id)
    if calendar is None:
        raise NotFound(f"No calendar {calendar_id}.")
    return calendar


def update_calendar(session: Session, tenant: str, calendar_id: uuid.UUID, patch: dict[str, Any], *,
                    check_version: Callable[[int], None]) -> SlaCalendar:
    calendar = get_calendar(session, tenant, calendar_id)
    check_version(calendar.version)
    _no_nulls(patch)
    current = {"name": calendar.name, "time_zone": calendar.time_zone, "working_hours": calendar.working_hours,
               "holidays": calendar.holidays}
    fields = current | patch
    if "holidays" in patch:
        fields["holidays"] = sorted(set(patch["holidays"]))
    _check_calendar(fields)
    if fields != current:
        for name, value in fields.items():
            setattr(calendar, name, value)
        calendar.version += 1
        calendar.updated_at = utcnow()
    return calendar


def delete_calendar(session: Session, tenant: str, calendar_id: uuid.UUID) -> None:
    """Refused (409) while a policy uses the calendar."""
    calendar = get_calendar(session, tenant, calendar_id)
    rules.check_calendar_unused(repository.policies_using(session, tenant, calendar_id))
    session.delete(calendar)


# --- policies ----------------------------------------------------------------------------------------


def _check_policy(session: Session, tenant: str, fields: dict[str, Any]) -> None:
    rules.check_targets(fields["first_response_minutes"], fields["next_response_minutes"],
                        fields["resolution_minutes"])
    if repository.get_calendar(session, tenant, uuid.UUID(str(fields["calendar_id"]))) is None:
        raise InvalidInput.on("calendar_id", f"no calendar {fields['calendar_id']}")


def create_policy(session: Session, tenant: str, body: PolicyIn) -> SlaPolicy:
    fields = body.model_dump(mode="json")
    _check_policy(session, tenant, fields)
    now = utcnow()
    policy = SlaPolicy(id=new_id(), tenant_id=tenant, version=1, created_at=now, updated_at=now,
                       **(fields | {"calendar_id": body.calendar_id}))
    session.add(policy)
    return policy


def list_policies(session: Session, tenant: str, page: PageRequest) -> list[SlaPolicy]:
    return repository.list_policies(session, tenant, page)


def get_policy(session: Session, tenant: str, policy_id: uuid.UUID) -> SlaPolicy:
    policy = repository.get_policy(session, tenant, policy_id)
    if policy is None:
        raise NotFound(f"No SLA policy {policy_id}.")
    return policy


POLICY_FIELDS = ("name", "position", "match", "calendar_id", "first_response_minutes", "next_response_minutes",
                 "resolution_minutes", "warning_minutes", "escalation")
# Cleared with null: a target the policy no longer has. Every other field keeps a value.
CLEARABLE = frozenset({"first_response_minutes", "next_response_minutes", "resolution_minutes"})


def update_policy(session: Session, tenant: str, policy_id: uuid.UUID, patch: dict[str, Any], *,
                  check_version: Callable[[int], None]) -> SlaPolicy:
    """A changed policy applies to each ticket from its next change on (its clock is recomputed then)."""
    policy = get_policy(session, tenant, policy_id)
    check_version(policy.version)
    _no_nulls({k: v for k, v in patch.items() if k not in CLEARABLE})
    current = {name: getattr(policy, name) for name in POLICY_FIELDS}
    current["calendar_id"] = str(policy.calendar_id)
    fields = current | patch
    _check_policy(session, tenant, fields)
    if fields != current:
        for name, value in fields.items():
            setattr(policy, name, uuid.UUID(str(value)) if name == "calendar_id" else value)
        policy.version += 1
        policy.updated_at = utcnow()
    return policy


def delete_policy(session: Session, tenant: str, policy_id: uuid.UUID) -> None:
    """Tickets it applied to get the next matching policy at their next change, or at the next check."""
    session.delete(get_policy(session, tenant, policy_id))


def _no_nulls(patch: dict[str, Any]) -> None:
    for name, value in patch.items():
        if value is None:
            raise InvalidInput.on(name, "cannot be cleared")


# --- the clock -----------------------------------------------------------------------------------------


def calendar_of(row: SlaCalendar) -> rules.Calendar:
    return rules.Calendar.of(row.time_zone, row.working_hours, row.holidays)


def targets_of(policy: SlaPolicy) -> rules.Targets:
    return rules.Targets.of_minutes(policy.first_response_minutes, policy.next_response_minutes,
                                    policy.resolution_minutes, policy.warning_minutes)


def choose_policy(session: Session, ticket: Ticket) -> tuple[SlaPolicy, SlaCalendar | None] | None:
    """The first policy that matches the ticket and its customer's view, with the policy's calendar."""
    customer = customers.find_customer(session, ticket.tenant_id, ticket.customer_id)
    tier, group = rules.segment_of(customer.view if customer is not None else None)
    policies = repository.policies_in_order(session, ticket.tenant_id)
    return rules.choose((((p, c), rules.Match.of(p.match)) for p, c in policies), value_tier=tier,
                        customer_group=group, priority=ticket.priority, type=ticket.type)


def recompute(session: Session, ticket: Ticket, *, now: datetime) -> str | None:
    """Choose the ticket's policy and recompute its due times from its history; returns its SLA state
    (ok, warning, breached, paused), None when no policy applies."""
    chosen = choose_policy(session, ticket)
    row = repository.lock_ticket_sla(session, ticket.id)
    policy, calendar = chosen if chosen is not None else (None, None)
    if policy is None or calendar is None:
        if row is not None:
            session.delete(row)
        return None
    entries = [rules.Entry(at, action, details)
               for at, action, details in tickets.clock_history_of(session, ticket.tenant_id, ticket.id)]
    targets = targets_of(policy)
    computed = rules.compute(calendar_of(calendar), targets, entries, created_at=ticket.created_at,
                             status=ticket.status, now=now)
    if row is None:
        row = repository.create_ticket_sla(session, ticket.id, ticket.tenant_id, policy.id, now)
    warned, breached = set(row.warned), set(row.breached)
    row.policy_id = policy.id
    row.first_response_due = computed.due("first_response")
    row.next_response_due = computed.due("next_response")
    row.resolution_due = computed.due("resolution")
    # A breach reported stays a breach, whichever policy the ticket has since.
    row.state = "breached" if breached else computed.state
    row.pending = [{"target": c.target, "key": c.key, "due": c.due.isoformat()}
                   for c in computed.clocks if c.running and c.due is not None]
    row.next_check_at = rules.next_check(computed.clocks, targets.warning, warned, breached)
    row.updated_at = now
    return row.state


def ticket_sla(session: Session, ticket: Ticket) -> TicketSla | None:
    """The ticket's SLA as last recomputed; None when no policy applies."""
    row = repository.get_ticket_sla(session, ticket.id)
    if row is None:
        return None
    policy = repository.get_policy(session, ticket.tenant_id, row.policy_id)
    return TicketSla(policy_id=row.policy_id, policy=policy.name if policy is not None else "(deleted)",
                     first_response_due=row.first_response_due, next_response_due=row.next_response_due,
                     resolution_due=row.resolution_due, state=row.state)  # type: ignore[arg-type]


def customer_changed(session: Session, tenant: str | None, customer_id: uuid.UUID) -> None:
    """A customer's view changed (a tier or group may have moved): their open tickets' clocks are recomputed,
    which picks each policy anew."""
    if tenant is None:
        return
    now = utcnow()
    for ticket in tickets.tickets_of(session, tenant, customer_id):
        if ticket.status != "closed":
            recompute(session, ticket, now=now)


# --- the check job -------------------------------------------------------------------------------------


def check_batch(session: Session, now: datetime, *, limit: int = BATCH) -> tuple[int, int]:
    """One batch of rows with a warning or breach due by ``now``: (rows taken, events published)."""
    from services.service_desk.tickets import service as ticket_service  # it calls recompute: imported late

    rows = repository.due_for_check(session, now, limit)
    published = 0
    for row in rows:
        ticket = tickets.get_ticket(session, row.tenant_id, row.ticket_id)
        policy = repository.get_policy(session, row.tenant_id, row.policy_id)
        if ticket is None:
            session.delete(row)
            continue
        if policy is None:
            recompute(session, ticket, now=now)
            continue
        targets = targets_of(policy)
        warned, breached = set(row.warned), set(row.breached)
        reports = rules.reports_due(row.pending, warned, breached, now, targets.warning)
        for report in reports:
            (breached if report.kind == "breached" else warned).add(report.key)
        row.warned, row.breached = sorted(warned), sorted(breached)
        if any(r.kind == "breached" for r in reports):
            row.state = "breached"
        elif reports and row.state == "ok":
            row.state = "warning"
        row.next_check_at = rules.next_check_stored(row.pending, targets.warning, warned, breached)
        for report in reports:
            event = contract.TICKET_SLA_BREACHED if report.kind == "breached" else contract.TICKET_SLA_WARNING
            tickets.add_history(session, ticket, f"sla_{'breached' if report.kind == 'breached' else 'warning'}",
                                "sla", {"target": report.target}, at=now)
            publish(session, event, contract.SlaReport(
                **ticket_service.facts(ticket, sla_state=row.state), target=report.target, due_at=report.due,
                policy_id=policy.id), subject=str(ticket.customer_id), tenant=ticket.tenant_id)
            published += 1
        for report in reports:
            if report.kind == "breached":
                published += _escalate(session, ticket, policy, report.target, now=now)
    return len(rows), published


def _escalate(session: Session, ticket: Ticket, policy: SlaPolicy, target: str, *, now: datetime) -> int:
    """The policy's escalation of a breach; publishes ``escalated`` with the actions taken (none: nothing)."""
    from services.service_desk.mail import service as mail
    from services.service_desk.tickets import service as ticket_service

    escalation = policy.escalation or {}
    actions: list[str] = []
    diff: dict[str, dict[str, Any]] = {}
    if escalation.get("raise_priority") and rules.raised(ticket.priority) != ticket.priority:
        diff["priority"] = {"old": ticket.priority, "new": rules.raised(ticket.priority)}
        actions.append("raised_priority")
    queue = escalation.get("move_to_queue_id")
    if queue and str(ticket.queue_id) != str(queue):
        diff["queue_id"] = {"old": ticket.queue_id, "new": uuid.UUID(str(queue))}
        actions.append("moved_to_queue")
    if diff:
        ticket_service.apply_change(session, ticket, diff, actor="sla", now=now)
    if escalation.get("notify_manager") and ticket.assignee_id is not None:
        to = repository.manager_email(session, ticket.tenant_id, ticket.assignee_id)
        if to:
            mail.queue_notice(session, ticket.tenant_id, to=to,
                              subject=f"[#{ticket.token}] SLA breached: {target.replace('_', ' ')}",
                              body=(f"The ticket \"{ticket.subject}\" ({ticket.priority}) missed its "
                                    f"{target.replace('_', ' ')} target under the SLA policy {policy.name}."),
                              ticket=ticket)
            actions.append("notified_manager")
    if not actions:
        return 0
    state = repository.get_ticket_sla(session, ticket.id)
    tickets.add_history(session, ticket, "escalated", "sla", {"target": target, "actions": actions}, at=now)
    publish(session, contract.TICKET_ESCALATED, contract.TicketEscalated(
        **ticket_service.facts(ticket, sla_state=state.state if state is not None else None), target=target,
        policy_id=policy.id, actions=actions), subject=str(ticket.customer_id), tenant=ticket.tenant_id)
    return 1


def check_due(sessions: sessionmaker[Session], now: datetime | None = None) -> int:
    """Every row due by ``now``, batch after batch, each in its own unit of work; how many events went out."""
    total = 0
    while True:
        at = now or utcnow()
        with unit_of_work(sessions) as session:
            taken, published = check_batch(session, at)
        total += published
        if taken < BATCH:
            return total


def run_sla_check(sessions: sessionmaker[Session], settings: Settings) -> int:
    """The periodic job ``sla-check``."""
    return check_due(sessions)
