"""The service desk's sub-commands of ``crm``: ``desk inbound FILE`` takes in one raw e-mail message.

It works on the service desk database directly (no service needs to run), exactly as
``POST /v1/tickets/inbound-email`` does; the events it appends wait in the outbox until the desk's relay
publishes them, and replies it queues until the mail-send job sends them. What it runs is imported when
it runs: every ``crm`` command builds this parser.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shared.settings import load_settings


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    desk = commands.add_parser("desk", help="Service desk operations.")
    verbs = desk.add_subparsers(dest="desk_command", metavar="DESK_COMMAND", required=True)
    sub = verbs.add_parser("inbound", help="Take in a raw RFC 5322 e-mail message as POST "
                                           "/v1/tickets/inbound-email would.")
    sub.add_argument("file", type=Path, help="The message (.eml); '-' reads standard input.")
    sub.add_argument("--tenant", required=True, help="Tenant whose desk receives it.")
    sub.set_defaults(handler=inbound)


def inbound(args: argparse.Namespace) -> int:
    from services.service_desk.mail import service
    from services.service_desk.settings import DeskSettings
    from shared.db import make_engine, make_sessions, unit_of_work
    from shared.errors import Problem

    if str(args.file) != "-" and not args.file.is_file():
        print(f"crm desk inbound: no such file: {args.file}", file=sys.stderr)
        return 1
    settings = load_settings("service_desk", DeskSettings)
    raw = sys.stdin.buffer.read() if str(args.file) == "-" else args.file.read_bytes()
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_sessions(engine)) as session:
            received = service.receive(session, args.tenant, raw, settings=settings)
            ticket = received.ticket
            answer = {"outcome": received.outcome, "ticket_id": str(ticket.id) if ticket else None,
                      "token": ticket.token if ticket else None,
                      "comment_id": str(received.comment_id) if received.comment_id else None,
                      "threaded_by": received.threaded_by, "attachments": len(received.attachments)}
    except Problem as exc:
        print(f"crm desk inbound: {exc.status} {exc.detail}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(json.dumps(answer))
    return 0
