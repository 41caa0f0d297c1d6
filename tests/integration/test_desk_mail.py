"""The e-mail channel on a migrated service desk database, on SQLite and on PostgreSQL, with a real SMTP
server (aiosmtpd on 127.0.0.1): an agent's reply goes out threaded and the customer's answer to it comes
back to the same ticket; the subject token threads only for the ticket's own customer; auto-replies change
nothing and send nothing; resolved and closed tickets; attachments; refusals that write nothing. One test
drives the HTTP route itself."""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.service_desk import commands
from services.service_desk.customers.repository import REPLICA
from services.service_desk.mail import routes as mail_routes
from services.service_desk.mail import rules, service
from services.service_desk.mail.tables import MailAttachment, MailMessage, OutgoingMail
from services.service_desk.settings import DeskSettings
from services.service_desk.tickets import service as tickets
from services.service_desk.tickets.tables import Ticket, TicketComment, TicketHistory
from shared.auth import mint_token
from shared.consumer import Delivery
from shared.db import OutboxRecord, unit_of_work, utcnow
from shared.envelope import CloudEvent
from shared.errors import InvalidInput
from shared.http import PageRequest
from shared.service import create_service_app
from shared.settings import load_settings
from tests.support.mailbox import Inbox

pytestmark = pytest.mark.integration

TENANT = "acme"
ADA, BOB = uuid.UUID(int=7), uuid.UUID(int=8)
# The process settings make the Message-IDs at queueing; the same address sends them here.
DESK = load_settings("service_desk", DeskSettings).mail_from


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture()
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def _settings(port: int = 1, **fields: Any) -> DeskSettings:
    return DeskSettings(service="service_desk", smtp_host="127.0.0.1", smtp_port=port, mail_from=DESK,
                        **fields)



def _replicate(sessions: sessionmaker[Session], customer: uuid.UUID, name: str, emails: list[str]) -> None:
    view = {"customer_id": str(customer), "version": 2, "profile": {
        "display_name": name, "kind": "person",
        "emails": [{"address": a, "primary": i == 0} for i, a in enumerate(emails)]}, "kpis": {}}
    event = CloudEvent(id=str(uuid.uuid4()), source="/crm/customer", type="crm.customer.view.updated.v1",
                       subject=str(customer), time=utcnow(), data=view, tenant=TENANT, sequence=2)
    with unit_of_work(sessions) as db:
        REPLICA.apply(db, Delivery(topic="crm.customer_view.v1", key=str(customer), event=event))


@pytest.fixture()
def desk(desk_sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    _replicate(desk_sessions, ADA, "Ada Example", ["ada@example.test", "ada.work@example.test"])
    _replicate(desk_sessions, BOB, "Bob Other", ["bob@other.test"])
    return desk_sessions


def _message(sender: str, subject: str, body: str = "Hello", **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = DESK
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@mail.test>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


def _receive(sessions: sessionmaker[Session], raw: bytes, **settings: Any) -> service.Received:
    with unit_of_work(sessions) as db:
        received = service.receive(db, TENANT, raw, settings=_settings(**settings))
        db.flush()
        db.expunge_all()
        return received


def _agent_reply(sessions: sessionmaker[Session], ticket_id: uuid.UUID, body: str) -> None:
    with unit_of_work(sessions) as db:
        ticket = db.get(Ticket, ticket_id)
        assert ticket is not None
        tickets.add_comment(db, ticket, visibility="public", author_type="agent", author_name="Agent Smith",
                            author_email=None, author_id=uuid.uuid4(), body=body, via="api", now=utcnow(),
                            reopen_window_days=14)


def _status(sessions: sessionmaker[Session], ticket_id: uuid.UUID, status: str) -> None:
    with unit_of_work(sessions) as db:
        ticket = db.get(Ticket, ticket_id)
        assert ticket is not None
        tickets.apply_change(db, ticket, {"status": {"old": ticket.status, "new": status}}, actor="agent",
                             now=utcnow())


def _count(sessions: sessionmaker[Session], model: Any) -> int:
    with sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    return {model.__tablename__: _count(sessions, model) for model in (
        Ticket, TicketComment, TicketHistory, MailMessage, MailAttachment, OutgoingMail, OutboxRecord)}


def _ticket(sessions: sessionmaker[Session], ticket_id: uuid.UUID) -> Ticket:
    with sessions() as db:
        found = db.get(Ticket, ticket_id)
        assert found is not None
        db.expunge(found)
        return found


def test_an_agent_reply_goes_out_threaded_and_the_answer_to_it_comes_back_by_references(
        desk: sessionmaker[Session], smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    first = _message("Ada Example <ada@example.test>", "Cannot log in", "Since Monday.")
    opened = _receive(desk, first)
    assert opened.outcome == "created" and opened.ticket is not None
    ticket = _ticket(desk, opened.ticket.id)
    assert (ticket.channel, ticket.requester_email, ticket.customer_id) == ("email", "ada@example.test", ADA)

    _agent_reply(desk, ticket.id, "Please reset your password.")
    assert service.send_queued(desk, _settings(port)) == 1
    assert inbox.arrived.wait(5)
    sent = inbox.messages[0]
    first_id = email.message_from_bytes(first, policy=email.policy.default)["Message-ID"]
    assert inbox.envelopes[0] == (DESK, ["ada@example.test"])
    assert sent["Subject"] == f"Re: Cannot log in [#{ticket.token}]"
    assert sent["In-Reply-To"] == first_id and sent["References"] == first_id
    assert str(sent["Message-ID"]).endswith("@" + DESK.rpartition("@")[2] + ">")
    assert sent.get_content().strip() == "Please reset your password."
    # Sent once: marked in the same transaction.
    assert service.send_queued(desk, _settings(port)) == 0 and len(inbox.messages) == 1

    # The customer answers the received message; the subject lost its token, so References alone thread it.
    answer = _message("ada@example.test", "Re: Cannot log in", "Done, thanks.",
                      In_Reply_To=str(sent["Message-ID"]), References=f"{sent['References']} {sent['Message-ID']}")
    replied = _receive(desk, answer)
    assert (replied.outcome, replied.threaded_by) == ("commented", "references")
    assert replied.ticket is not None and replied.ticket.id == ticket.id
    with desk() as db:
        comments = db.scalars(select(TicketComment).where(TicketComment.ticket_id == ticket.id)
                              .order_by(TicketComment.created_at)).all()
        assert [(c.author_type, c.visibility, c.via, c.body) for c in comments] == [
            ("agent", "public", "api", "Please reset your password."),
            ("customer", "public", "email", "Done, thanks.")]
    # The next agent reply answers the customer's message and carries the whole chain.
    _agent_reply(desk, ticket.id, "Glad to hear it.")
    assert service.send_queued(desk, _settings(port)) == 1
    second = inbox.messages[1]
    answer_id = email.message_from_bytes(answer, policy=email.policy.default)["Message-ID"]
    assert second["In-Reply-To"] == answer_id
    assert str(second["References"]).split() == [first_id, str(sent["Message-ID"]), answer_id]


def test_the_subject_token_threads_only_for_the_tickets_own_customer(desk: sessionmaker[Session]) -> None:
    opened = _receive(desk, _message("ada@example.test", "Invoice wrong"))
    assert opened.ticket is not None
    token = _ticket(desk, opened.ticket.id).token

    # Ada writes afresh (no References) from her other address, quoting the token.
    by_token = _receive(desk, _message("ada.work@example.test", f"More on this [#{token}]"))
    assert (by_token.outcome, by_token.threaded_by) == ("commented", "token")
    assert by_token.ticket is not None and by_token.ticket.id == opened.ticket.id

    # Bob quotes Ada's token: never into her ticket, a new one of his own.
    before = _ticket(desk, opened.ticket.id).version
    stranger = _receive(desk, _message("bob@other.test", f"Re: Invoice wrong [#{token}]", "I see this too"))
    assert (stranger.outcome, stranger.threaded_by) == ("created", None)
    assert stranger.ticket is not None and stranger.ticket.id != opened.ticket.id
    assert _ticket(desk, stranger.ticket.id).customer_id == BOB
    assert _ticket(desk, opened.ticket.id).version == before


def test_an_auto_reply_changes_nothing_and_sends_nothing(desk: sessionmaker[Session], smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    opened = _receive(desk, _message("ada@example.test", "Broken"))
    assert opened.ticket is not None
    _agent_reply(desk, opened.ticket.id, "Fixed.")
    _status(desk, opened.ticket.id, "resolved")
    assert service.send_queued(desk, _settings(port)) == 1
    reply_id = str(inbox.messages[0]["Message-ID"])
    before = _ticket(desk, opened.ticket.id)
    events_before = _count(desk, OutboxRecord)

    auto = _message("ada@example.test", "Out of office: Re: Broken", "I am away until Monday.",
                    Auto_Submitted="auto-replied", In_Reply_To=reply_id)
    received = _receive(desk, auto)
    assert (received.outcome, received.threaded_by) == ("commented", "references")
    after = _ticket(desk, opened.ticket.id)
    assert (after.status, after.resolved_at) == ("resolved", before.resolved_at)
    with desk() as db:
        note = db.scalar(select(TicketComment).where(TicketComment.id == received.comment_id))
        assert note is not None and (note.visibility, note.author_type, note.via) == ("internal", "system", "email")
        assert db.scalars(select(OutboxRecord.type).where(OutboxRecord.sequence > events_before)).all() == [
            "crm.service_desk.ticket.commented.v1"]
    # Nothing queued, nothing sent; a Precedence: bulk message without a thread leaves no trace at all.
    assert service.send_queued(desk, _settings(port)) == 0 and len(inbox.messages) == 1
    counts = _counts(desk)
    assert _receive(desk, _message("bob@other.test", "Newsletter", Precedence="bulk")).outcome == "ignored"
    assert _counts(desk) == counts


def test_a_resolved_ticket_reopens_within_the_window_and_a_closed_one_gets_a_follow_up(
        desk: sessionmaker[Session]) -> None:
    opened = _receive(desk, _message("ada@example.test", "Printer jam"))
    assert opened.ticket is not None
    token = _ticket(desk, opened.ticket.id).token
    _status(desk, opened.ticket.id, "resolved")
    reopened = _receive(desk, _message("ada@example.test", f"Re: Printer jam [#{token}]", "Still jammed"))
    assert reopened.outcome == "reopened" and _ticket(desk, opened.ticket.id).status == "open"

    _status(desk, opened.ticket.id, "closed")
    later = _receive(desk, _message("ada@example.test", f"Re: Printer jam [#{token}]", "Again!"))
    assert later.outcome == "followed_up" and later.ticket is not None and later.follows == opened.ticket.id
    follow_up = _ticket(desk, later.ticket.id)
    assert follow_up.id != opened.ticket.id and follow_up.status == "new" and token in follow_up.description
    assert _ticket(desk, opened.ticket.id).status == "closed"
    with desk() as db:
        actions = db.scalars(select(TicketHistory.action).where(TicketHistory.ticket_id == follow_up.id)).all()
        assert "follow_up" in actions

    # Past the window a resolved ticket is not reopened either.
    other = _receive(desk, _message("ada@example.test", "Screen flickers"))
    assert other.ticket is not None
    _status(desk, other.ticket.id, "resolved")
    other_token = _ticket(desk, other.ticket.id).token
    late = _receive(desk, _message("ada@example.test", f"[#{other_token}] back", "again"), reopen_window_days=0)
    assert late.outcome == "followed_up" and _ticket(desk, other.ticket.id).status == "resolved"


def test_a_reply_to_a_merged_ticket_lands_on_its_survivor(desk: sessionmaker[Session]) -> None:
    first_message = EmailMessage()
    first_message["From"], first_message["Subject"] = "ada@example.test", "Login"
    first_message["Message-ID"] = f"<{uuid.uuid4().hex}@mail.test>"
    first_message.set_content("See the screenshot.")
    first_message.add_attachment(b"\x89PNG shot", maintype="image", subtype="png", filename="shot.png")
    first = first_message.as_bytes()
    duplicate = _receive(desk, first)
    survivor = _receive(desk, _message("ada@example.test", "Login again"))
    assert duplicate.ticket is not None and survivor.ticket is not None
    with unit_of_work(desk) as db:
        tickets.merge_ticket(db, TENANT, duplicate.ticket.id, survivor.ticket.id, actor="agent")
    first_id = email.message_from_bytes(first, policy=email.policy.default)["Message-ID"]
    reply = _receive(desk, _message("ada@example.test", "Re: Login", In_Reply_To=first_id))
    assert reply.outcome == "commented" and reply.ticket is not None and reply.ticket.id == survivor.ticket.id
    # The duplicate's attachment is shown with the survivor's, as its comments moved there.
    with desk() as db:
        shown = service.list_attachments(db, TENANT, survivor.ticket.id, PageRequest(limit=10, after=None))
        assert [a.filename for a in shown] == ["shot.png"]
        assert service.get_attachment(db, TENANT, survivor.ticket.id, shown[0].id).content == b"\x89PNG shot"


def test_refused_messages_write_nothing(desk: sessionmaker[Session]) -> None:
    counts = _counts(desk)
    for raw in (b"\x00\xff\xfe\x01 garbage \x89PNG", b"no headers at all", _message("", "No sender")):
        with pytest.raises(InvalidInput):
            _receive(desk, raw)
    with pytest.raises(InvalidInput, match="no customer with the address"):
        _receive(desk, _message("stranger@nowhere.test", "Who am I"))
    big = EmailMessage()
    big["From"], big["Subject"] = "ada@example.test", "Scan"
    big.set_content("attached")
    big.add_attachment(b"x" * 2048, maintype="application", subtype="pdf", filename="scan.pdf")
    with pytest.raises(rules.ContentTooLarge):
        _receive(desk, big.as_bytes(), max_attachment_bytes=2047)
    assert _counts(desk) == counts


def test_a_redelivered_message_is_taken_once(desk: sessionmaker[Session]) -> None:
    raw = _message("ada@example.test", "Once")
    assert _receive(desk, raw).outcome == "created"
    counts = _counts(desk)
    assert _receive(desk, raw).outcome == "duplicate"
    assert _counts(desk) == counts


def test_unreachable_smtp_keeps_the_mail_queued_and_retries_later(desk: sessionmaker[Session]) -> None:
    opened = _receive(desk, _message("ada@example.test", "Help"))
    assert opened.ticket is not None
    _agent_reply(desk, opened.ticket.id, "On it.")
    assert service.send_queued(desk, _settings(_free_port())) == 0  # nobody listens there
    with desk() as db:
        queued = db.scalars(select(OutgoingMail)).one()
        assert (queued.status, queued.attempts) == ("queued", 1) and queued.last_error
        assert queued.next_attempt_at > utcnow() + timedelta(seconds=20)
    assert service.send_queued(desk, DeskSettings(service="service_desk", smtp_host="")) == 0


# --- over HTTP --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def thirty_mb() -> bytes:
    """A message with a 30 MB attachment (built once: encoding it takes a second)."""
    huge = EmailMessage()
    huge["From"], huge["Subject"] = "ada@example.test", "Video"
    huge.set_content("30 MB attached")
    huge.add_attachment(b"\x00" * (30 * 1_048_576), maintype="video", subtype="mp4", filename="clip.mp4")
    return huge.as_bytes()


def test_the_inbound_route_takes_a_message_lists_and_serves_its_attachment_and_refuses_30_mb(
        desk: sessionmaker[Session], thirty_mb: bytes) -> None:
    url = desk.kw["bind"].url.render_as_string(hide_password=False)
    settings = DeskSettings(service="service_desk", database_url=url, mail_from=DESK, worker_port=0)
    app = create_service_app(settings=settings, title="desk", description="mail", routers=(mail_routes.router,))
    token = mint_token(secret=settings.jwt_secret, issuer=settings.jwt_issuer, tenant=TENANT,
                       scopes=["service_desk:read", "service_desk:write"])
    message = EmailMessage()
    message["From"], message["Subject"], message["Message-ID"] = "ada@example.test", "Receipt", "<r1@mail.test>"
    message.set_content("Here is the receipt.")
    message.add_attachment(b"%PDF-1.4 receipt", maintype="application", subtype="pdf", filename="receipt.pdf")
    rfc822 = {"Content-Type": "message/rfc822"}
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        answer = client.post("/v1/tickets/inbound-email", content=message.as_bytes(), headers=rfc822)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["outcome"] == "created" and body["attachments"][0]["size"] == len(b"%PDF-1.4 receipt")
        listed = client.get(f"/v1/tickets/{body['ticket_id']}/attachments").json()
        assert [(a["filename"], a["content_type"], a["comment_id"]) for a in listed["items"]] == [
            ("receipt.pdf", "application/pdf", None)] and listed["next_cursor"] is None
        served = client.get(f"/v1/tickets/{body['ticket_id']}/attachments/{listed['items'][0]['id']}")
        assert served.status_code == 200 and served.content == b"%PDF-1.4 receipt"
        assert served.headers["content-type"] == "application/octet-stream"
        assert client.get(f"/v1/tickets/{uuid.uuid4()}/attachments").status_code == 404

        counts = _counts(desk)
        garbage = client.post("/v1/tickets/inbound-email", content=b"\x00\x01garbage", headers=rfc822)
        assert garbage.status_code == 422 and garbage.headers["content-type"] == "application/problem+json"
        wrong_type = client.post("/v1/tickets/inbound-email", content=message.as_bytes(),
                                 headers={"Content-Type": "text/plain"})
        assert wrong_type.status_code == 415
        refused = client.post("/v1/tickets/inbound-email", content=thirty_mb, headers=rfc822)
        assert refused.status_code == 413 and refused.headers["content-type"] == "application/problem+json"
        # Without a Content-Length (chunked), refused as it streams in, past the bound.
        chunked = client.post("/v1/tickets/inbound-email", headers=rfc822,
                              content=(thirty_mb[i:i + 1_048_576] for i in range(0, len(thirty_mb), 1_048_576)))
        assert chunked.status_code == 413
        assert _counts(desk) == counts


# The `crm` command line, run as its console script runs it.
CRM = "import sys; from crm.cli import main; sys.exit(main())"


def test_crm_desk_inbound_takes_a_message_from_a_file(desk: sessionmaker[Session], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    url = desk.kw["bind"].url.render_as_string(hide_password=False)
    eml = tmp_path / "reply.eml"
    eml.write_bytes(_message("ada@example.test", "From the command line", "Typed in a terminal."))
    env = {**os.environ, "SERVICE_DESK_DATABASE_URL": url}
    done = subprocess.run([sys.executable, "-c", CRM, "desk", "inbound", str(eml), "--tenant", TENANT], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["outcome"] == "created"
    assert _ticket(desk, uuid.UUID(answer["ticket_id"])).description == "Typed in a terminal."
    # A refusal, from the same command in this process: its status and reason, exit 1.
    eml.write_bytes(b"\x00garbage")
    monkeypatch.setenv("SERVICE_DESK_DATABASE_URL", url)
    assert commands.inbound(argparse.Namespace(file=eml, tenant=TENANT)) == 1
    assert "422" in capsys.readouterr().err
