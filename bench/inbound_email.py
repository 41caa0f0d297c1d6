"""The ``inbound-email`` scenario: raw e-mail messages threaded and stored through the inbound route.

Measured in one process: the service desk's real app (its ``/v1/tickets/inbound-email`` route, auth,
unit of work, problem handling) driven over ASGI in-process (no sockets, no uvicorn), on a freshly
migrated service desk database of its own (PostgreSQL in ``crm bench``; SQLite or a given URL when run
alone: ``python -m bench.inbound_email [--database-url URL] [--messages N]``). What is not in the figure:
HTTP parsing by uvicorn and the network, and the relay publishing the events (they wait in the outbox).
The same messages also go through the use case alone (``service.receive`` in a unit of work each), so the
route's own share shows. Only the time inside each request is counted (the driver builds the next message
outside it; through the route, reading a new ticket's token back for the token-quoting replies is inside),
and the process's CPU time over those requests is reported beside it, since the machine may be shared.

200 customers are replicated through the view replica (so the sender lookup is the indexed one). Then the
messages, one request each, one client: the first message of each conversation opens a ticket (the
sender is a known customer), the next ones answer the previous message by ``In-Reply-To``/``References``
(one in five quotes only the ``[#token]`` in its subject instead), every tenth carries a 20 kB attachment
and every twentieth is an auto-reply. Checked afterwards in the database: exactly one ticket per
conversation, one comment per reply, every attachment stored.

Target: >= 100 messages/s threaded and stored.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
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

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0

    @property
    def consistent(self) -> bool:
        return (self.tickets, self.comments, self.attachments) == (
            self.expected_tickets, self.expected_comments, self.expected_attachments)


def _message(sender: str, subject: str, body: str, message_id: str, *, answers: list[str], attach: bool,
             automatic: bool) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "support@oneview-crm.local", subject
    message["Message-ID"] = f"<{message_id}>"
    if answers:
        message["In-Reply-To"] = f"<{answers[-1]}>"
        message["References"] = " ".join(f"<{m}>" for m in answers)
    if automatic:
        message["Auto-Submitted"] = "auto-replied"
    message.set_content(body)
    if attach:
        message.add_attachment(ATTACHMENT, maintype="application", subtype="pdf", filename="scan.pdf")
    return message.as_bytes()


def run(database_url: str, messages: int, *, through_route: bool = True) -> Figures:
    # Imported here: `crm bench` imports every scenario's module to list them.
    from sqlalchemy import func, select

    from services.service_desk.customers.repository import REPLICA
    from services.service_desk.mail import routes
    from services.service_desk.mail.tables import MailAttachment
    from services.service_desk.settings import DeskSettings
    from services.service_desk.tickets.tables import Ticket, TicketComment
    from shared.auth import mint_token
    from shared.consumer import Delivery
    from shared.db import make_engine, make_sessions, unit_of_work, utcnow
    from shared.envelope import CloudEvent
    from shared.migrate import upgrade
    from shared.service import create_service_app

    upgrade("service_desk", database_url)
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    customers = [uuid.UUID(int=10_000 + i) for i in range(CUSTOMERS)]
    with unit_of_work(sessions) as db:
        for i, customer in enumerate(customers):
            view = {"customer_id": str(customer), "version": 1, "profile": {
                "display_name": f"Customer {i}", "kind": "person",
                "emails": [{"address": f"customer{i}@bench.test", "primary": True}]}, "kpis": {}}
            REPLICA.apply(db, Delivery(topic="crm.customer_view.v1", key=str(customer), event=CloudEvent(
                id=str(uuid.uuid4()), source="/crm/customer", type="crm.customer.view.updated.v1",
                subject=str(customer), time=utcnow(), data=view, tenant=TENANT, sequence=i + 1)))
    engine.dispose()

    settings = DeskSettings(service="service_desk", database_url=database_url, worker_port=0, log_level="WARNING")
    per_conversation = 1 + REPLIES_PER_CONVERSATION
    conversations = max(messages // per_conversation, 1)
    if through_route:
        app = create_service_app(settings=settings, title="desk", description="bench", routers=(routes.router,))
        token = mint_token(secret=settings.jwt_secret, issuer=settings.jwt_issuer, tenant=TENANT,
                           scopes=["service_desk:read", "service_desk:write"])
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "message/rfc822"}
        figures = asyncio.run(_over_http(app, headers, conversations, per_conversation))
    else:
        engine = make_engine(database_url)
        figures = asyncio.run(_drive(_use_case(make_sessions(engine), settings), conversations, per_conversation))
        engine.dispose()
    engine = make_engine(database_url)
    with make_sessions(engine)() as db:
        counted = [int(db.scalar(select(func.count()).select_from(model).where(model.tenant_id == TENANT)) or 0)
                   for model in (Ticket, TicketComment, MailAttachment)]
    engine.dispose()
    figures.tickets, figures.comments, figures.attachments = counted
    return figures


# Takes one raw message; answers its outcome and, for a new ticket, the ticket's token.
Post = Callable[[bytes], Awaitable[tuple[str, str | None]]]


async def _over_http(app: Any, headers: dict[str, str], conversations: int, per_conversation: int) -> Figures:
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

        return await _drive(post, conversations, per_conversation)


def _use_case(sessions: Any, settings: Any) -> Post:
    from services.service_desk.mail import service
    from shared.db import unit_of_work

    async def post(raw: bytes) -> tuple[str, str | None]:
        with unit_of_work(sessions) as db:
            received = service.receive(db, TENANT, raw, settings=settings)
            return received.outcome, received.ticket.token if received.ticket is not None else None

    return post


async def _drive(post: Post, conversations: int, per_conversation: int) -> Figures:
    """One client, one message at a time; only the time inside ``post`` is counted (building the next
    message is the driver's work)."""
    threads: dict[int, list[str]] = {}
    tokens: dict[int, str] = {}
    latencies: list[float] = []
    expected_comments = expected_attachments = 0
    cpu_seconds = 0.0
    for n in range(conversations * per_conversation):
        conversation, step = n % conversations, n // conversations
        sender = f"customer{conversation % CUSTOMERS}@bench.test"
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
                   expected_comments=expected_comments, expected_attachments=expected_attachments)


def describe(figures: Figures, backend: str) -> str:
    return (f"inbound-email ({backend}): {figures.messages} messages in {figures.seconds:.1f} s = "
            f"{figures.rate:.0f}/s; latency p50 {percentile(figures.latencies, 50) * 1000:.1f} ms, p99 "
            f"{percentile(figures.latencies, 99) * 1000:.1f} ms; CPU {figures.cpu_seconds / figures.messages * 1000:.1f} "
            f"ms per message (= {figures.messages / figures.cpu_seconds:.0f}/s on one free core); stored {figures.tickets} tickets (expected "
            f"{figures.expected_tickets}), {figures.comments} comments ({figures.expected_comments}), "
            f"{figures.attachments} attachments ({figures.expected_attachments})")


def inbound_email(admin_url: str, report: Report, messages: int) -> None:
    """The ``crm bench`` scenario: on a PostgreSQL database of its own."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.support.databases import create_postgres_database, drop_postgres_database

    for through_route, how in ((True, "through the route, in-process ASGI"), (False, "the use case alone")):
        url = create_postgres_database(admin_url, "crm_bench_mail")
        try:
            figures = run(url, messages, through_route=through_route)
        finally:
            drop_postgres_database(admin_url, url)
        report.add(Row("inbound-email", f"messages threaded and stored /s ({how}, PostgreSQL)",
                       f"{figures.rate:.0f}", "—", "—", f">= {TARGET:.0f}/s",
                       verdict(figures.rate >= TARGET and figures.consistent), key=KEY))
        report.detail(describe(figures, f"PostgreSQL, {how}"))
    report.detail(" ".join(__doc__.split("\n\n")[1:3]).replace("\n", " "))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inbound_email", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="A service desk database to migrate and use (default: a new "
                                               "SQLite file).")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--use-case", action="store_true", help="Call the use case directly, not the route.")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'service_desk.db'}"
        figures = run(url, args.messages, through_route=not args.use_case)
    print(describe(figures, url.split(":", 1)[0] + (", the use case alone" if args.use_case else ", the route")))
    ok = figures.rate >= TARGET and figures.consistent
    print(f"target >= {TARGET:.0f}/s: {'met' if ok else 'missed'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
