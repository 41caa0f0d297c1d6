"""The ``inbound-email`` scenario: raw e-mail messages threaded and stored through the inbound route.

Measured in one process: the service desk's real app (its ``/v1/tickets/inbound-email`` route, auth,
unit of work, problem handling) driven over ASGI in-process (no sockets, no uvicorn), on a freshly
migrated service desk database of its own (PostgreSQL in ``crm bench``; SQLite or a given URL when run
alone: ``python -m bench.inbound_email [--database-url URL] [--messages N] [--replicas N]``). What is not
in the figure: HTTP parsing by uvicorn and the network, and the relay publishing the events (they wait in
the outbox). The same messages also go through the use case alone (``service.receive`` in a unit of work
each), so the route's own share shows. Only the time inside each request is counted (the driver builds the
next message outside it; through the route, reading a new ticket's token back for the token-quoting
replies is inside), and the process's CPU time over those requests is reported beside it, since the machine
may be shared.

Each tenant has what a working desk has: a business calendar (Europe/Berlin, weekdays 08:00-18:00, holidays)
and two SLA policies (enterprise customers first, a default for everyone else), so every message recomputes
its ticket's clock from the ticket's history. 200 customers (every other one in the enterprise group) are
replicated through the view replica (so the sender lookup is the indexed one). Then the messages, one
request each, one client: the first message of each conversation opens a ticket (the sender is a known
customer), the next ones answer the previous message by ``In-Reply-To``/``References`` (one in five quotes
only the ``[#token]`` in its subject instead), every tenth carries a 20 kB attachment and every twentieth is
an auto-reply. Checked afterwards in the database: exactly one ticket per conversation, one comment per
reply, every attachment stored.

The target is judged on the desk as it is deployed: ``deploy/`` runs at least two API replicas against one
PostgreSQL database, so ``--replicas 2`` starts two processes, each with its own app, tenant, customers and
client, released together; their rate is all messages over the wall time from the first request's start
to the last one's end (the drivers' own work included). One process's figures are reported beside it.

Target: >= 100 messages/s threaded and stored.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bench.measure import percentile
from bench.report import Report, Row, verdict

KEY = "inbound-email"
TARGET = 100.0
TENANT = "bench-mail"
CUSTOMERS = 200
# The desk's API replicas in deploy/ (the autoscaler's minimum): the shape the target is judged on.
DEPLOYED_REPLICAS = 2
REPLIES_PER_CONVERSATION = 4
ATTACHMENT = b"%PDF-1.4 " + bytes(range(256)) * 80  # ~20 kB


@dataclass
class Figures:
    messages: int
    seconds: float
    latencies: list[float]
    cpu_seconds: float  # this process's CPU time over the same requests (the machine's load aside)
    tickets: int
    comments: int
    attachments: int
    expected_tickets: int
    expected_comments: int
    expected_attachments: int
    started: float = 0.0  # wall clock (time.time()) at the first request's start and the last one's end
    ended: float = 0.0

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def consistent(self) -> bool:
        return (self.tickets, self.comments, self.attachments) == (
            self.expected_tickets, self.expected_comments, self.expected_attachments)


# The attachment's part, encoded once: the driver builds each message from text, so that the messages'
# making (the e-mail library's is about a millisecond each) takes as little as possible of the CPU the
# desk is measured on.
ATTACHMENT_PART = ("Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"scan.pdf\"\r\n"
                   "Content-Transfer-Encoding: base64\r\n\r\n"
                   + base64.encodebytes(ATTACHMENT).decode().replace("\n", "\r\n"))


def _message(sender: str, subject: str, body: str, message_id: str, *, answers: list[str], attach: bool,
             automatic: bool) -> bytes:
    headers = [f"From: {sender}", "To: support@oneview-crm.local", f"Subject: {subject}",
               f"Message-ID: <{message_id}>", "MIME-Version: 1.0"]
    if answers:
        headers += [f"In-Reply-To: <{answers[-1]}>", "References: " + " ".join(f"<{m}>" for m in answers)]
    if automatic:
        headers.append("Auto-Submitted: auto-replied")
    text = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" + body + "\r\n"
    if not attach:
        return ("\r\n".join(headers) + "\r\n" + text).encode()
    boundary = uuid.uuid4().hex
    headers.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
    return ("\r\n".join(headers) + f"\r\n\r\n--{boundary}\r\n{text}--{boundary}\r\n{ATTACHMENT_PART}"
            f"--{boundary}--\r\n").encode()


def run(database_url: str, messages: int, *, through_route: bool = True, tenant: str = TENANT,
        first_customer: int = 0, migrate: bool = True, ready: Callable[[], object] | None = None) -> Figures:
    """One client's messages for ``tenant`` (set up here: calendar, policies, customers from
    ``first_customer`` on); ``ready`` is called once the set-up is done, just before the first message."""
    # Imported here: `crm bench` imports every scenario's module to list them.
    from sqlalchemy import func, select

    from services.service_desk.mail.tables import MailAttachment
    from services.service_desk.settings import DeskSettings
    from services.service_desk.tickets.tables import Ticket, TicketComment
    from shared.auth import mint_token
    from shared.db import make_engine, make_sessions
    from shared.migrate import upgrade

    if migrate:
        upgrade("service_desk", database_url)
    engine = make_engine(database_url)
    _set_up_tenant(make_sessions(engine), tenant, first_customer)
    engine.dispose()

    settings = DeskSettings(service="service_desk", database_url=database_url, worker_port=0, log_level="WARNING")
    per_conversation = 1 + REPLIES_PER_CONVERSATION
    conversations = max(messages // per_conversation, 1)
    if through_route:
        app = create_app(settings)
        token = mint_token(secret=settings.jwt_secret, issuer=settings.jwt_issuer, tenant=tenant,
                           scopes=["service_desk:read", "service_desk:write"])
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "message/rfc822"}
        figures = asyncio.run(_over_http(app, headers, conversations, per_conversation, first_customer, ready))
    else:
        engine = make_engine(database_url)
        figures = asyncio.run(_drive(_use_case(make_sessions(engine), settings, tenant), conversations,
                                     per_conversation, first_customer, ready))
        engine.dispose()
    engine = make_engine(database_url)
    with make_sessions(engine)() as db:
        counted = [int(db.scalar(select(func.count()).select_from(model).where(model.tenant_id == tenant)) or 0)
                   for model in (Ticket, TicketComment, MailAttachment)]
    engine.dispose()
    figures.tickets, figures.comments, figures.attachments = counted
    return figures


def create_app(settings: Any) -> Any:
    from services.service_desk.mail import routes
    from shared.service import create_service_app

    return create_service_app(settings=settings, title="desk", description="bench", routers=(routes.router,))


def _set_up_tenant(sessions: Any, tenant: str, first_customer: int) -> None:
    """A calendar, two SLA policies and ``CUSTOMERS`` replicated customers, every other one enterprise."""
    from services.service_desk.customers.repository import REPLICA
    from services.service_desk.sla import service as sla
    from services.service_desk.sla.schemas import CalendarIn, PolicyIn
    from shared.consumer import Delivery
    from shared.db import unit_of_work, utcnow
    from shared.envelope import CloudEvent

    day = [{"start": "08:00", "end": "18:00"}]
    with unit_of_work(sessions) as db:
        calendar = sla.create_calendar(db, tenant, CalendarIn.model_validate({
            "name": "Berlin office", "time_zone": "Europe/Berlin",
            "working_hours": {d: day for d in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-12-24", "2026-12-25", "2026-12-26", "2026-12-31", "2027-01-01"]}))
        db.flush()
        sla.create_policy(db, tenant, PolicyIn.model_validate({
            "name": "Enterprise", "position": 0, "match": {"customer_groups": ["enterprise"]},
            "calendar_id": str(calendar.id), "first_response_minutes": 60, "next_response_minutes": 120,
            "resolution_minutes": 480}))
        sla.create_policy(db, tenant, PolicyIn.model_validate({
            "name": "Standard", "position": 10, "calendar_id": str(calendar.id), "first_response_minutes": 480,
            "next_response_minutes": 960, "resolution_minutes": 2400}))
    with unit_of_work(sessions) as db:
        for i in range(CUSTOMERS):
            n = first_customer + i
            customer = uuid.UUID(int=10_000 + n)
            profile: dict[str, Any] = {"display_name": f"Customer {n}", "kind": "organization" if i % 2 else "person",
                                       "emails": [{"address": _address(n), "primary": True}]}
            if i % 2:
                profile["customer_group"] = "enterprise"
            view = {"customer_id": str(customer), "version": 1, "profile": profile, "kpis": {}}
            REPLICA.apply(db, Delivery(topic="crm.customer_view.v1", key=str(customer), event=CloudEvent(
                id=str(uuid.uuid4()), source="/crm/customer", type="crm.customer.view.updated.v1",
                subject=str(customer), time=utcnow(), data=view, tenant=tenant, sequence=i + 1)))


def _address(customer: int) -> str:
    return f"customer{customer}@bench.test"


# Takes one raw message; answers its outcome and, for a new ticket, the ticket's token.
Post = Callable[[bytes], Awaitable[tuple[str, str | None]]]


async def _over_http(app: Any, headers: dict[str, str], conversations: int, per_conversation: int,
                     first_customer: int, ready: Callable[[], object] | None) -> Figures:
    from sqlalchemy import select

    from services.service_desk.tickets.tables import Ticket

    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://desk", headers=headers) as client:

        async def post(raw: bytes) -> tuple[str, str | None]:
            answer = await client.post("/v1/tickets/inbound-email", content=raw)
            if answer.status_code != 200:
                raise RuntimeError(f"{answer.status_code} {answer.text}")
            body = answer.json()
            if body["outcome"] != "created":
                return body["outcome"], None
            with app.state.sessions() as db:
                return "created", db.scalar(select(Ticket.token).where(Ticket.id == uuid.UUID(body["ticket_id"])))

        return await _drive(post, conversations, per_conversation, first_customer, ready)


def _use_case(sessions: Any, settings: Any, tenant: str) -> Post:
    from services.service_desk.mail import service
    from shared.db import unit_of_work

    async def post(raw: bytes) -> tuple[str, str | None]:
        with unit_of_work(sessions) as db:
            received = service.receive(db, tenant, raw, settings=settings)
            return received.outcome, received.ticket.token if received.ticket is not None else None

    return post


async def _drive(post: Post, conversations: int, per_conversation: int, first_customer: int,
                 ready: Callable[[], object] | None) -> Figures:
    """One client, one message at a time; only the time inside ``post`` is counted (building the next
    message is the driver's work)."""
    if ready is not None:
        ready()
    started = time.time()
    threads: dict[int, list[str]] = {}
    tokens: dict[int, str] = {}
    latencies: list[float] = []
    expected_comments = expected_attachments = 0
    cpu_seconds = 0.0
    for n in range(conversations * per_conversation):
        conversation, step = n % conversations, n // conversations
        sender = _address(first_customer + conversation % CUSTOMERS)
        message_id = f"{uuid.uuid4().hex}@bench.test"
        attach, automatic = n % 10 == 3, step > 0 and n % 20 == 7
        chain = threads.setdefault(conversation, [])
        by_token = step > 0 and n % 5 == 1
        subject = f"Order {conversation} question" if step == 0 else (
            f"Still waiting [#{tokens[conversation]}]" if by_token else f"Re: Order {conversation} question")
        raw = _message(sender, subject, f"Message {step} of conversation {conversation}.", message_id,
                       answers=[] if by_token else chain, attach=attach, automatic=automatic)
        sent, cpu = time.perf_counter(), time.process_time()
        outcome, token = await post(raw)
        latencies.append(time.perf_counter() - sent)
        cpu_seconds += time.process_time() - cpu
        if step == 0:
            if outcome != "created" or token is None:
                raise RuntimeError(f"message {n} opened no ticket: {outcome}")
            tokens[conversation] = token
        else:
            expected_comments += 1
            if outcome != "commented":
                raise RuntimeError(f"message {n} did not thread: {outcome}")
        expected_attachments += attach
        chain.append(message_id)
    return Figures(messages=len(latencies), seconds=sum(latencies), latencies=latencies, cpu_seconds=cpu_seconds,
                   tickets=0, comments=0, attachments=0, expected_tickets=conversations,
                   expected_comments=expected_comments, expected_attachments=expected_attachments,
                   started=started, ended=time.time())


def describe(figures: Figures, backend: str) -> str:
    return (f"inbound-email ({backend}): {figures.messages} messages in {figures.seconds:.1f} s = "
            f"{figures.rate:.0f}/s; latency p50 {percentile(figures.latencies, 50) * 1000:.1f} ms, p99 "
            f"{percentile(figures.latencies, 99) * 1000:.1f} ms; CPU {figures.cpu_seconds / figures.messages * 1000:.1f} "
            f"ms per message (= {figures.messages / figures.cpu_seconds:.0f}/s on one free core); stored {figures.tickets} tickets (expected "
            f"{figures.expected_tickets}), {figures.comments} comments ({figures.expected_comments}), "
            f"{figures.attachments} attachments ({figures.expected_attachments})")


@dataclass
class Together:
    """Several desk processes over one database, released together."""

    replicas: list[Figures]

    @property
    def messages(self) -> int:
        return sum(f.messages for f in self.replicas)

    @property
    def wall_seconds(self) -> float:
        return max(f.ended for f in self.replicas) - min(f.started for f in self.replicas)

    @property
    def rate(self) -> float:
        return self.messages / self.wall_seconds if self.wall_seconds > 0 else 0.0

    @property
    def consistent(self) -> bool:
        return all(f.consistent for f in self.replicas)


def run_replicas(database_url: str, messages: int, replicas: int) -> Together:
    """``replicas`` processes (spawned: each imports and builds its own app, as a replica does), each with
    its own tenant, customers and client and ``messages`` messages, over one database migrated first."""
    from shared.migrate import upgrade

    upgrade("service_desk", database_url)
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(replicas), context.Queue()
    processes = [context.Process(target=_replica, args=(database_url, messages, index, start, results))
                 for index in range(replicas)]
    for process in processes:
        process.start()
    try:
        answers = [results.get(timeout=900) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=60)
    failures = [a for a in answers if isinstance(a, str)]
    if failures:
        raise RuntimeError(f"a replica failed: {failures[0]}")
    return Together(replicas=[a for a in answers if isinstance(a, Figures)])


def _replica(database_url: str, messages: int, index: int, start: Any, results: Any) -> None:
    try:
        results.put(run(database_url, messages, tenant=f"{TENANT}-{index + 1}", first_customer=index * CUSTOMERS,
                        migrate=False, ready=start.wait))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        start.abort()
        results.put(f"{type(exc).__name__}: {exc}")


def describe_together(together: Together, backend: str) -> str:
    each = "; ".join(f"{f.rate:.0f}/s inside requests, CPU {f.cpu_seconds / f.messages * 1000:.1f} ms a message"
                     for f in together.replicas)
    return (f"inbound-email ({backend}, {len(together.replicas)} processes): {together.messages} messages in "
            f"{together.wall_seconds:.1f} s of wall time = {together.rate:.0f}/s ({each}); stored as expected: "
            f"{'yes' if together.consistent else 'NO'}")


def inbound_email(admin_url: str, report: Report, messages: int) -> None:
    """The ``crm bench`` scenario: on PostgreSQL databases of its own."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.databases import create_postgres_database, drop_postgres_database

    url = create_postgres_database(admin_url, "crm_bench_mail")
    try:
        together = run_replicas(url, messages, DEPLOYED_REPLICAS)
    finally:
        drop_postgres_database(admin_url, url)
    report.add(Row("inbound-email", f"messages threaded and stored /s ({DEPLOYED_REPLICAS} desk processes as "
                                    "deployed, in-process ASGI, PostgreSQL)",
                   f"{together.rate:.0f}", "—", "—", f">= {TARGET:.0f}/s",
                   verdict(together.rate >= TARGET and together.consistent), key=KEY))
    report.detail(describe_together(together, "PostgreSQL"))
    for through_route, how in ((True, "one process, through the route"), (False, "one process, the use case alone")):
        url = create_postgres_database(admin_url, "crm_bench_mail")
        try:
            figures = run(url, messages, through_route=through_route)
        finally:
            drop_postgres_database(admin_url, url)
        report.add(Row("inbound-email", f"messages threaded and stored /s ({how}, PostgreSQL)",
                       f"{figures.rate:.0f}", "—", "—", "reported", key=KEY))
        report.detail(describe(figures, f"PostgreSQL, {how}"))
    report.detail(" ".join(__doc__.split("\n\n")[1:5]).replace("\n", " "))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inbound_email", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="A service desk database to migrate and use (default: a new "
                                               "SQLite file).")
    parser.add_argument("--messages", type=int, default=1000, help="Messages per process.")
    parser.add_argument("--use-case", action="store_true", help="Call the use case directly, not the route.")
    parser.add_argument("--replicas", type=int, default=1,
                        help=f"Desk processes over the one database (the deployment runs {DEPLOYED_REPLICAS}).")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'service_desk.db'}"
        if args.replicas > 1:
            together = run_replicas(url, args.messages, args.replicas)
            print(describe_together(together, url.split(":", 1)[0]))
            rate, consistent = together.rate, together.consistent
        else:
            figures = run(url, args.messages, through_route=not args.use_case)
            print(describe(figures, url.split(":", 1)[0] + (", the use case alone" if args.use_case else ", the route")))
            rate, consistent = figures.rate, figures.consistent
    ok = rate >= TARGET and consistent
    print(f"target >= {TARGET:.0f}/s: {'met' if ok else 'missed'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
