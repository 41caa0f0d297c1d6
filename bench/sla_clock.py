"""The ``sla-clock`` scenario: the SLA clock's arithmetic, the breach check over 100k open tickets, and the
check job's cost when there is nothing to do.

1. **Due times**: ``sla.rules.compute`` over 100,000 synthetic ticket timelines (created anywhere in 2026,
   half answered, a fifth paused in pending_customer for a day, some with an unanswered customer reply) on
   a Europe/Berlin calendar of split working days and twelve holidays; tickets per CPU second in one process,
   best of three rounds (target >= 50,000).
2. **Breach detection**: a fresh service desk database (a SQLite file; PostgreSQL when
   ``CRM_TEST_POSTGRES_URL`` is set) with 100,000 open tickets and their ``ticket_slas`` rows; 2,000 of them
   fall due during the next ~30 s, the rest weeks later. The check job runs at the worker's interval
   (``sla_check_seconds``); each breach's lag is the time from its due time to the end of the run that
   published it (target: every breach found, none later than 60 s).
3. **Idle cost**: the job with nothing due, run every second for 10 s (15 times as often as the worker's
   default): the process's CPU time over the wall time (target <= 5% of one core).

Runs standalone (``python -m bench.sla_clock``) or as ``crm bench sla-clock``; about a minute either way
besides the system start of the latter.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

KEY = "sla-clock"
TIMELINES = 100_000
OPEN_TICKETS = 100_000
DUE_DURING_RUN = 2_000
DUE_WINDOW_SECONDS = 30
TENANT = "bench"
HOLIDAYS = ["2026-01-01", "2026-04-03", "2026-04-06", "2026-05-01", "2026-05-14", "2026-05-25", "2026-10-03",
            "2026-12-24", "2026-12-25", "2026-12-26", "2026-12-31", "2027-01-01"]
HOURS = {day: [{"start": "08:30", "end": "12:30"}, {"start": "13:30", "end": "17:30"}]
         for day in ("mon", "tue", "wed", "thu", "fri")}
DUE_PER_SECOND = 50_000
LAG_SECONDS = 60
IDLE_SHARE = 0.05


def due_times_per_second(count: int = TIMELINES) -> float:
    from services.service_desk.sla import rules

    calendar = rules.Calendar.of("Europe/Berlin", HOURS, HOLIDAYS)
    targets = rules.Targets.of_minutes(60, 240, 16 * 60, 30)
    rng = random.Random(14)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cases = []
    for _ in range(count):
        created = start + timedelta(seconds=rng.randrange(365 * 86400))
        entries = [rules.Entry(created, "created", {})]
        status = "new"
        if rng.random() < 0.5:
            replied = created + timedelta(minutes=rng.randrange(5, 300))
            entries.append(rules.Entry(replied, "commented", {"visibility": "public", "author_type": "agent"}))
            status = "open"
            if rng.random() < 0.3:
                entries.append(rules.Entry(replied + timedelta(hours=3), "commented",
                                           {"visibility": "public", "author_type": "customer"}))
        if rng.random() < 0.2:
            paused = created + timedelta(hours=6)
            entries.append(rules.Entry(paused, "changed", {"status": {"old": status, "new": "pending_customer"}}))
            entries.append(rules.Entry(paused + timedelta(days=1), "changed",
                                       {"status": {"old": "pending_customer", "new": "open"}}))
            status = "open"
        cases.append((entries, created, status, entries[-1].at))
    # CPU time of this process, not wall time: on a shared machine the wall clock counts other people's work.
    # The best of three rounds, as other processes also evict caches.
    best = 0.0
    for _ in range(3):
        began = time.process_time()
        for entries, created, status, now in cases:
            rules.compute(calendar, targets, entries, created_at=created, status=status, now=now)
        best = max(best, count / (time.process_time() - began))
    return best


def _database(tmp: Path) -> tuple[str, str | None]:
    """A fresh database: (its URL, the admin URL it was made with, None for SQLite)."""
    admin = os.environ.get("CRM_TEST_POSTGRES_URL")
    if not admin:
        return f"sqlite:///{tmp / 'sla_bench.db'}", None
    name = f"crm_bench_sla_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(admin).set(database=name).render_as_string(hide_password=False), admin


def _drop(url: str, admin: str | None) -> None:
    if admin is None:
        return
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    engine.dispose()


def _load(sessions: Any, now: datetime) -> list[datetime]:
    """100k open tickets with their SLA rows; returns the due times that fall during the run."""
    from services.service_desk.sla.tables import SlaCalendar, SlaPolicy, TicketSlaRow
    from services.service_desk.tickets.tables import Ticket

    rng = random.Random(3)
    calendar_id, policy_id = uuid.uuid4(), uuid.uuid4()
    with sessions.begin() as session:
        session.add(SlaCalendar(id=calendar_id, tenant_id=TENANT, name="Always", time_zone="UTC",
                                working_hours={d: [{"start": "00:00", "end": "24:00"}] for d in
                                               ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
                                holidays=[], version=1, created_at=now, updated_at=now))
        session.add(SlaPolicy(id=policy_id, tenant_id=TENANT, name="Standard", position=1, match={},
                              calendar_id=calendar_id, first_response_minutes=60, next_response_minutes=None,
                              resolution_minutes=None, warning_minutes=0, escalation={}, version=1,
                              created_at=now, updated_at=now))
    soon = []
    chunk = 5_000
    for offset in range(0, OPEN_TICKETS, chunk):
        tickets, slas = [], []
        for n in range(offset, min(offset + chunk, OPEN_TICKETS)):
            ticket_id = uuid.UUID(int=n + 1)
            if n % (OPEN_TICKETS // DUE_DURING_RUN) == 0 and len(soon) < DUE_DURING_RUN:
                due = now + timedelta(seconds=2 + rng.random() * DUE_WINDOW_SECONDS)
                soon.append(due)
            else:
                due = now + timedelta(days=7 + rng.random() * 30)
            tickets.append({"id": ticket_id, "tenant_id": TENANT, "customer_id": uuid.UUID(int=n % 5000 + 1),
                            "token": f"{n:08x}", "subject": "Bench ticket", "description": "", "type": "question",
                            "priority": "normal", "channel": "web", "status": "open", "language": None,
                            "queue_id": None, "assignee_id": None, "tags": [], "order_id": None, "product_id": None,
                            "requester_email": None, "merged_into_id": None, "version": 1,
                            "created_at": due - timedelta(minutes=60), "updated_at": now, "resolved_at": None,
                            "closed_at": None, "resolutions": 0})
            slas.append({"ticket_id": ticket_id, "tenant_id": TENANT, "policy_id": policy_id,
                         "first_response_due": due, "next_response_due": None, "resolution_due": None,
                         "state": "ok", "pending": [{"target": "first_response", "key": "first_response",
                                                     "due": due.isoformat()}],
                         "warned": [], "breached": [], "next_check_at": due, "updated_at": now})
        with sessions.begin() as session:
            session.execute(insert(Ticket), tickets)
            session.execute(insert(TicketSlaRow), slas)
    return soon


def breach_detection(url: str, interval: float) -> dict[str, float]:
    from services.service_desk.database import Base  # noqa: F401 - the desk's tables
    from services.service_desk.sla import service
    from shared.db import OutboxRecord, make_engine, make_sessions, utcnow
    from shared.migrate import upgrade

    upgrade("service_desk", url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    began = time.perf_counter()
    soon = _load(sessions, utcnow())
    loaded = time.perf_counter() - began
    lags: list[float] = []
    runs: list[float] = []
    deadline = max(soon) + timedelta(seconds=interval + 5)
    seen = 0
    while utcnow() < deadline:
        run_began = time.perf_counter()
        service.check_due(sessions)
        finished = utcnow()
        runs.append(time.perf_counter() - run_began)
        with sessions() as session:
            rows = session.scalars(select(OutboxRecord.data).where(
                OutboxRecord.type == "crm.service_desk.ticket.sla_breached.v1").offset(seen)).all()
        seen += len(rows)
        lags += [(finished - datetime.fromisoformat(r["due_at"])).total_seconds() for r in rows]
        time.sleep(max(0.0, interval - (time.perf_counter() - run_began)))
    # The idle job: nothing due, run every second.
    idle_wall, idle_runs = 10.0, 0
    cpu, wall = time.process_time(), time.perf_counter()
    while time.perf_counter() - wall < idle_wall:
        service.check_due(sessions)
        idle_runs += 1
        time.sleep(1.0)
    idle_share = (time.process_time() - cpu) / (time.perf_counter() - wall)
    engine.dispose()
    return {"loaded_s": loaded, "due": len(soon), "found": len(lags), "max_lag": max(lags, default=float("inf")),
            "min_lag": min(lags, default=0.0), "slowest_run": max(runs), "idle_share": idle_share,
            "idle_runs": idle_runs}


def measure(interval: float | None = None) -> dict[str, Any]:
    from services.service_desk.settings import DeskSettings

    interval = interval if interval is not None else float(DeskSettings.model_fields["sla_check_seconds"].default)
    figures: dict[str, Any] = {"due_per_second": due_times_per_second(), "interval": interval}
    with tempfile.TemporaryDirectory() as tmp:
        url, admin = _database(Path(tmp))
        try:
            figures |= breach_detection(url, interval)
        finally:
            _drop(url, admin)
        figures["backend"] = make_url(url).get_backend_name()
    return figures


def sla_clock(ctx: Any, report: Any, plan: Any) -> None:
    """As a scenario of ``crm bench``: the figures as report rows."""
    from bench.report import Row, verdict

    f = measure()
    report.add(Row("sla-clock", "due times computed, tickets per CPU second (one process)",
                   f"{f['due_per_second']:,.0f}", "—", "—", f">= {DUE_PER_SECOND:,}",
                   verdict(f["due_per_second"] >= DUE_PER_SECOND), key=KEY))
    found_all = f["found"] == f["due"] and f["max_lag"] <= LAG_SECONDS
    report.add(Row("sla-clock", f"breaches found of {f['due']:,} due among {OPEN_TICKETS:,} open ({f['backend']}), "
                   "worst lag s", f"{f['found']:,}, {f['max_lag']:.1f}", "—", "—", f"all, <= {LAG_SECONDS}",
                   verdict(found_all), key=KEY))
    report.add(Row("sla-clock", "idle check job, CPU share of one core (run every 1 s)", f"{f['idle_share']:.2%}",
                   "—", "—", f"<= {IDLE_SHARE:.0%}", verdict(f["idle_share"] <= IDLE_SHARE), key=KEY))
    report.detail(f"sla-clock: {TIMELINES:,} synthetic timelines on a Berlin calendar with holidays; "
                  f"{OPEN_TICKETS:,} open tickets loaded in {f['loaded_s']:.0f} s, the job every "
                  f"{f['interval']:g} s (slowest run {f['slowest_run']:.2f} s); idle: {f['idle_runs']} runs in 10 s.")


def main() -> int:
    f = measure(float(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(f"due times: {f['due_per_second']:,.0f} tickets per CPU second (target >= {DUE_PER_SECOND:,})")
    print(f"breach detection ({f['backend']}, {OPEN_TICKETS:,} open tickets, job every {f['interval']:g} s): "
          f"{f['found']:,} of {f['due']:,} breaches found, lag {f['min_lag']:.1f}-{f['max_lag']:.1f} s "
          f"(target all, <= {LAG_SECONDS} s); slowest run {f['slowest_run']:.2f} s; load {f['loaded_s']:.1f} s")
    print(f"idle job: {f['idle_share']:.2%} of one core over {f['idle_runs']} runs at 1 s (target <= {IDLE_SHARE:.0%})")
    ok = (f["due_per_second"] >= DUE_PER_SECOND and f["found"] == f["due"] and f["max_lag"] <= LAG_SECONDS
          and f["idle_share"] <= IDLE_SHARE)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
