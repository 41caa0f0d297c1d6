"""Campaign delivery through the running system, against the local SMTP server the system mails through: consent
read at send time, personalised mail with one-click unsubscribe, a tracked link and pixel followed through the
gateway without a login, the unsubscribe reaching the customer master's consent, a bounce posted as a DSN, and
a campaign worker SIGKILLed mid-batch that resumes without sending any member twice."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from tests import factories
from tests.support.system import System
from tests.support.waiting import eventually

pytestmark = pytest.mark.integration


def _sends(client: Any, campaign_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = client.get(f"/v1/campaigns/{campaign_id}/sends", params={"limit": 200} | (
            {"cursor": cursor} if cursor else {})).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def _links(message: Any) -> list[str]:
    text = message.get_body(("plain",)).get_content()
    return [word for word in text.split() if "/t/" in word]


def _dsn(message_id: str) -> bytes:
    return ("From: MAILER-DAEMON@mx.example\r\nTo: bounces@oneview-crm.local\r\nSubject: Undelivered\r\n"
            'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
            "--b\r\nContent-Type: text/plain\r\n\r\nNot delivered.\r\n"
            "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
            "Final-Recipient: rfc822; x@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
            f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {message_id}\r\n--b--\r\n").encode()


def test_a_campaign_is_delivered_tracked_unsubscribed_and_bounced_end_to_end(system: System) -> None:
    tag = f"spring-{uuid.uuid4().hex[:6]}"
    with system.client() as client:
        ada, _ = factories.person(client, f"Ada{tag[-6:]}", tags=[tag])
        bob, _ = factories.person(client, f"Bob{tag[-6:]}", tags=[tag])
        cy, _ = factories.person(client, f"Cy{tag[-6:]}", tags=[tag])  # never opts in
        for who in (ada, bob):
            factories.opt_in(client, who)
        audience = factories.opted_in_audience(client, tag, 2)
        campaign = factories.campaign(client, "Spring", budget="100", audience_id=audience, variants=[
            {"name": "A", "share": 100, "subject": "Spring for {{first_name}}",
             "body": "Hello {{first_name}}, see https://shop.example/spring"}])
        added = client.post(f"/v1/campaigns/{campaign['id']}/members", json={"customer_id": cy["id"]})
        assert added.status_code == 201, added.text
        assert client.post(f"/v1/campaigns/{campaign['id']}/launch").status_code == 200

        addresses = {who["emails"][0]["address"]: who for who in (ada, bob, cy)}
        eventually(lambda: all(len(system.mail.inbox.to(a)) == 1 for a in list(addresses)[:2]), timeout=60,
                   what="the campaign's mail to the two opted-in members")
        sends = eventually(lambda: (s := _sends(client, campaign["id"])) and all(
            x["status"] not in ("queued", "sending") for x in s) and s, what="every send decided")
        by_customer = {s["customer_id"]: s for s in sends}
        assert (by_customer[cy["id"]]["status"], by_customer[cy["id"]]["reason"]) == ("suppressed", "no_consent")
        assert system.mail.inbox.to(cy["emails"][0]["address"]) == []
        [mail] = system.mail.inbox.to(ada["emails"][0]["address"])
        assert mail["Subject"] == f"Spring for {ada['given_name']}"
        assert mail["Message-ID"] == f"<{by_customer[ada['id']]['message_id']}>"
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

        # The links need no login: followed through the gateway as a mail client would.
        click, unsubscribe = _links(mail)[0], mail["List-Unsubscribe"].strip().strip("<>")
        with httpx.Client(timeout=30) as anonymous:
            followed = anonymous.get(click, follow_redirects=False)
            assert (followed.status_code, followed.headers["location"]) == (302, "https://shop.example/spring")
            page = anonymous.get(unsubscribe)  # a link scanner's GET changes nothing
            assert page.status_code == 200 and "<form" in page.text
            for _ in range(2):  # RFC 8058 one-click, twice: the second is harmless
                one_click = anonymous.post(unsubscribe, content=b"List-Unsubscribe=One-Click",
                                           headers={"Content-Type": "application/x-www-form-urlencoded"})
                assert one_click.status_code == 200, one_click.text
            forged = anonymous.get(click[:-3] + ("AAA" if not click.endswith("AAA") else "BBB"))
            assert forged.status_code == 404 and forged.headers["content-type"] == "application/problem+json"

        responses = client.get(f"/v1/campaigns/{campaign['id']}/responses").json()["items"]
        assert Counter(r["kind"] for r in responses) == Counter({"clicked": 1, "unsubscribed": 1})
        eventually(lambda: next(c for c in client.get(f"/v1/customers/{ada['id']}/consent").json()["channels"]
                                if c["channel"] == "email")["status"] == "opt_out", timeout=60,
                   what="the unsubscribe to reach the customer master's consent")

        # Bob's mailbox does not exist: the receiving server's report comes back as a DSN.
        bounced = client.post("/v1/campaigns/bounces", content=_dsn(by_customer[bob["id"]]["message_id"]),
                              headers={"Content-Type": "message/rfc822"})
        assert bounced.status_code == 200, bounced.text
        assert (bounced.json()["outcome"], bounced.json()["status"]) == ("bounced", "bounced")
        unknown = client.post("/v1/campaigns/bounces", content=_dsn(f"<send.{uuid.uuid4().hex}@elsewhere>"),
                              headers={"Content-Type": "message/rfc822"})
        assert unknown.status_code == 422 and unknown.headers["content-type"] == "application/problem+json"


def test_a_worker_killed_mid_batch_resumes_without_sending_anyone_twice(system: System) -> None:
    size = 150
    tag = f"kill-{uuid.uuid4().hex[:6]}"
    with system.client() as client:
        people = [factories.person(client, f"K{tag[-6:]}n{n}", tags=[tag])[0] for n in range(size)]
        for who in people:
            factories.opt_in(client, who)
        audience = factories.opted_in_audience(client, tag, size)
        campaign = factories.campaign(client, "Flash sale", budget="10", audience_id=audience)
        addresses = {who["emails"][0]["address"] for who in people}

        def arrived() -> list[Any]:
            return [m for m, rcpts in system.mail.inbox.received() if set(rcpts) & addresses]

        assert client.post(f"/v1/campaigns/{campaign['id']}/launch").status_code == 200
        # The tenant's rate (50 a second) spreads the campaign over three seconds: the kill falls in a batch.
        eventually(lambda: len(arrived()) >= 30, timeout=60, interval=0.05, what="the first 30 messages")
        system.kill_process("campaign-worker")
        at_kill = len(arrived())
        assert at_kill < size
        system.start_process("campaign-worker")

        sends = eventually(lambda: (s := _sends(client, campaign["id"])) and len(s) == size and all(
            x["status"] not in ("queued", "sending") for x in s) and s, timeout=120, what="every send decided")
    received = Counter(m["Message-ID"] for m in arrived())
    assert max(received.values()) == 1, "a message arrived twice"
    per_member = Counter(rcpt for _, rcpts in system.mail.inbox.received() for rcpt in rcpts if rcpt in addresses)
    assert max(per_member.values()) == 1, "a member got two messages"
    statuses = Counter(s["status"] for s in sends)
    # Every send was handed over once; the one the kill interrupted (if it was in flight) is unconfirmed.
    assert statuses["sent"] + statuses["unconfirmed"] == size and statuses["unconfirmed"] <= 1, statuses
    sent_ids = {f"<{s['message_id']}>" for s in sends if s["status"] == "sent"}
    assert sent_ids <= set(received) and len(received) - len(sent_ids) <= statuses["unconfirmed"]
