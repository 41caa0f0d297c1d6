"""Campaign sends and tracking: the rules without a database; the send job on a database of its own against a real
local SMTP server (aiosmtpd on 127.0.0.1): consent at the moment of sending, personalised e-mail with one-click
unsubscribe, tracked links and pixels, bounces, frequency caps, the A/B hold, and the crash window."""

from __future__ import annotations

import email
import email.policy
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.campaign.campaigns import service as campaigns
from services.campaign.campaigns.schemas import CampaignCreate
from services.campaign.campaigns.tables import Campaign
from services.campaign.customers.tables import CustomerReplica
from services.campaign.database import Base
from services.campaign.responses.tables import CampaignResponse, ConsentWithdrawal
from services.campaign.sends import jobs, rules, service
from services.campaign.sends.schemas import FrequencyCapIn
from services.campaign.sends.tables import CampaignSend, SuppressedAddress
from services.campaign.settings import CampaignSettings
from services.campaign.tracking import rules as tracking
from services.campaign.tracking import service as tracked
from shared.db import PLATFORM_METADATA, OutboxRecord, make_engine, make_sessions, unit_of_work, utcnow
from shared.errors import InvalidInput, NotFound
from tests.support.mailbox import MailServer
from tests.support.system import free_port

TENANT = "acme"
SECRET = "tracking-secret-for-tests"
ADA, BOB, CY = uuid.UUID(int=7), uuid.UUID(int=8), uuid.UUID(int=9)


def _links(send_id: uuid.UUID) -> rules.Links:
    return rules.Links(track=lambda kind, target: tracking.url("https://crm.example", tracking.sign(
        SECRET, kind, send_id, target)))  # type: ignore[arg-type]


# --- tracking tokens -------------------------------------------------------------------------


def test_a_tracking_token_reads_back_and_nothing_in_it_can_be_changed() -> None:
    send_id = uuid.uuid4()
    click = tracking.sign(SECRET, "clicked", send_id, "https://shop.example/spring?x=1")
    assert tracking.read(SECRET, click) == tracking.Token("clicked", send_id, "https://shop.example/spring?x=1")
    assert tracking.read(SECRET, tracking.sign(SECRET, "opened", send_id)) == tracking.Token("opened", send_id, None)
    assert tracking.read("another-secret", click) is None
    # Flip any one character but the last (its low bits are padding): the kind, the send, the target or the
    # MAC changes, and the token no longer reads.
    for index in range(len(click) - 1):
        flipped = click[:index] + ("A" if click[index] != "A" else "B") + click[index + 1:]
        assert tracking.read(SECRET, flipped) is None, index
    for junk in ("", "x", "%%%", click[:-4], "A" * 5000):
        assert tracking.read(SECRET, junk) is None


# --- who is sent to -----------------------------------------------------------------------------


def _recipient(**fields: Any) -> rules.Recipient:
    base: dict[str, Any] = {
        "member_status": "member",
        "profile": {"consent": {"email": "opt_in"}, "emails": [{"address": "a@x.example", "primary": False},
                                                               {"address": "ada@x.example", "primary": True}]},
        "unsubscribe_pending": False, "address_suppressed": lambda digest: False, "contacts_in_period": lambda: 0,
        "cap": None}
    return rules.Recipient(**(base | fields))


def test_a_member_is_sent_to_only_with_consent_now_an_address_and_room_under_the_cap() -> None:
    assert rules.decide("email", _recipient()) == rules.Decision("ada@x.example", None)
    assert rules.decide("email", _recipient(member_status="removed")).reason == "removed"
    assert rules.decide("email", _recipient(profile=None)).reason == "unknown_customer"
    assert rules.decide("email", _recipient(profile={"consent": {"email": "unknown"}})).reason == "no_consent"
    assert rules.decide("sms", _recipient()).reason == "no_consent"  # consent is per channel
    assert rules.decide("email", _recipient(unsubscribe_pending=True)).reason == "unsubscribed"
    assert rules.decide("email", _recipient(profile={"consent": {"email": "opt_in"}})).reason == "no_address"
    bounced = rules.address_hash(" ADA@x.example ")
    assert rules.decide("email", _recipient(address_suppressed=lambda d: d == bounced)).reason == "bounced_address"
    assert rules.decide("email", _recipient(cap=2, contacts_in_period=lambda: 2)).reason == "frequency_cap"
    assert rules.decide("email", _recipient(cap=2, contacts_in_period=lambda: 1)).reason is None


def test_the_message_is_personalised_with_every_link_tracked_and_a_one_click_unsubscribe() -> None:
    send_id = uuid.uuid4()
    body = rules.content("Hello {{ first_name }}", "Dear {{first_name}} {{last_name}},\nsee https://shop.example/a.\n",
                         {"given_name": "Ada", "family_name": "Lovelace"}, _links(send_id))
    assert body.subject == "Hello Ada" and body.text.startswith("Dear Ada Lovelace,\nsee https://crm.example/t/")
    tokens = [t.split("/t/")[1].split()[0].rstrip(".\"<>") for t in body.text.split("https://crm.example")[1:]]
    read = [tracking.read(SECRET, t) for t in tokens]
    assert [(r.kind, r.target) for r in read if r] == [("clicked", "https://shop.example/a"), ("unsubscribed", None)]
    assert "https://shop.example/a" not in body.text  # only through the tracked link
    assert 'width="1" height="1"' in body.html and body.html.count("/t/") == 3  # link, unsubscribe, pixel
    message = rules.email_message(message_id=rules.message_id(send_id, "news@acme.example"), mail_from="news@acme.example",
                                  to="ada@x.example", campaign_id=uuid.uuid4(), body=body,
                                  unsubscribe_url="https://crm.example/t/u", now=utcnow())
    assert message["Message-ID"] == f"<send.{send_id.hex}@acme.example>"
    assert rules.send_id_of(message["Message-ID"]) == send_id
    assert (message["List-Unsubscribe"], message["List-Unsubscribe-Post"]) == (
        "<https://crm.example/t/u>", "List-Unsubscribe=One-Click")
    # On the wire: CRLF lines only, and a subject and body beyond ASCII read back as written.
    accented = rules.Content(subject="Frühling für Ada", text="Grüße\n", html="<p>Grüße</p>")
    wire = rules.wire_bytes(rules.email_message(message_id="send.x@acme.example", mail_from="news@acme.example",
                                                to="ada@x.example", campaign_id=uuid.uuid4(), body=accented,
                                                unsubscribe_url="https://crm.example/t/u", now=utcnow()))
    assert b"\n" not in wire.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(wire, policy=email.policy.default)
    assert parsed["Subject"] == "Frühling für Ada"
    assert parsed.get_body(("plain",)).get_content() == "Grüße\n"  # type: ignore[union-attr]
    with pytest.raises(InvalidInput) as refused:
        rules.check_template("variants[0].body", "Hi {{ frist_name }}")
    assert refused.value.errors[0]["field"] == "variants[0].body"  # type: ignore[attr-defined]


def test_a_tenant_sends_at_most_its_rate_spread_over_the_second() -> None:
    assert rules.allowance(50, 0, 500) == 50 and rules.allowance(50, 45, 500) == 5 and rules.allowance(50, 60, 500) == 0
    assert rules.allowance(0, 10_000, 500) == 500  # no limit
    assert [rules.not_before(100.0, i, 50) for i in (0, 25, 49)] == [100.0, 100.5, 100.98]


def _report(message_id: str, status: str, action: str = "failed") -> bytes:
    """A delivery status notification as a mail server writes one (RFC 3464)."""
    return (
        "From: MAILER-DAEMON@mx.example\r\nTo: bounces@oneview-crm.local\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example\r\n\r\n"
        f"Final-Recipient: rfc822; ada@x.example\r\nAction: {action}\r\nStatus: {status}\r\n"
        "Diagnostic-Code: smtp; 550 no such user\r\n\r\n"
        f"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{message_id}>\r\nSubject: Spring\r\n"
        "--b1--\r\n").encode()


def test_a_delivery_report_names_its_send_and_says_hard_or_soft() -> None:
    send_id = uuid.uuid4()
    hard = rules.read_bounce(_report(f"send.{send_id.hex}@oneview-crm.local", "5.1.1"))
    assert (hard.send_id, hard.hard, hard.status) == (send_id, True, "5.1.1") and "no such user" in hard.diagnostic
    soft = rules.read_bounce(_report(f"send.{send_id.hex}@oneview-crm.local", "4.2.2", action="delayed"))
    assert (soft.send_id, soft.hard) == (send_id, False)
    plain = rules.read_bounce(b"From: postmaster@mx.example\nSubject: failure\n\nYour message "
                              b"<send." + send_id.hex.encode() + b"@oneview-crm.local> failed.\n")
    assert plain.send_id == send_id
    with pytest.raises(InvalidInput):
        rules.read_bounce(b"\x00\x01 not a message")


# --- the send job, on a database of its own, against a real SMTP server ------------------------------


@pytest.fixture()
def mail() -> Iterator[MailServer]:
    server = MailServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'campaign.db'}")
    PLATFORM_METADATA.create_all(engine)
    Base.metadata.create_all(engine)
    yield make_sessions(engine)
    engine.dispose()


def _settings(mail: MailServer, tmp_path: Path, **fields: Any) -> CampaignSettings:
    return CampaignSettings(service="campaign", smtp_host="127.0.0.1", smtp_port=mail.port, tracking_secret=SECRET,
                            public_base_url="https://crm.example", var_dir=tmp_path, send_rate_per_tenant=0,
                            **fields)


def _customer(session: Session, customer_id: uuid.UUID, name: str, *, consent: str = "opt_in",
              address: str | None = None, phone: str | None = None) -> None:
    profile = {"display_name": f"{name} Example", "given_name": name, "kind": "person",
               "consent": {"email": consent, "sms": consent, "phone": "unknown"},
               "emails": [{"address": address or f"{name.lower()}@x.example", "primary": True}],
               "phones": [{"number": phone, "primary": True}] if phone else []}
    replica = session.get(CustomerReplica, customer_id)
    version = replica.view_version + 1 if replica is not None else 1
    view = {"version": version, "profile": profile}
    if replica is None:
        session.add(CustomerReplica(customer_id=customer_id, tenant_id=TENANT, view_version=version,
                                    display_name=profile["display_name"], kind="person", view=view, updated_at=utcnow()))
    else:
        replica.view, replica.view_version = view, version


def _running(session: Session, members: list[uuid.UUID], *, channel: str = "email", **plan: Any) -> Campaign:
    campaign = campaigns.create_campaign(session, TENANT, CampaignCreate.model_validate(
        {"name": "Spring", "channel": channel, "budget": {"amount": "500", "currency": "EUR"}} | plan))
    for customer in members:
        campaigns.add_member(session, TENANT, campaign.id, customer, wait_seconds=0)
    campaigns.launch_campaign(session, TENANT, campaign.id, check_version=lambda v: None)
    assert campaign.status == "running"
    return campaign


def _sends(sessions: sessionmaker[Session], campaign_id: uuid.UUID) -> dict[uuid.UUID, CampaignSend]:
    with sessions() as session:
        return {s.customer_id: s for s in session.scalars(select(CampaignSend).where(
            CampaignSend.campaign_id == campaign_id))}


def _send_events(sessions: sessionmaker[Session]) -> list[tuple[str, str, str | None]]:
    with sessions() as session:
        return [(r.type.split(".")[3], r.data["customer_id"], r.data["reason"]) for r in session.scalars(
            select(OutboxRecord).order_by(OutboxRecord.sequence)) if ".send." in r.type]


VARIANT = {"name": "A", "share": 100, "subject": "Spring for {{first_name}}",
           "body": "Hello {{ first_name }}, our spring range: https://shop.example/spring"}


def test_consent_is_checked_as_each_message_leaves_and_each_goes_once(
        sessions: sessionmaker[Session], mail: MailServer, tmp_path: Path) -> None:
    with unit_of_work(sessions) as session:
        _customer(session, ADA, "Ada")
        _customer(session, BOB, "Bob")
        _customer(session, CY, "Cy", consent="unknown")
        campaign = _running(session, [ADA, BOB, CY], variants=[VARIANT])
    with unit_of_work(sessions) as session:
        _customer(session, BOB, "Bob", consent="opt_out")  # after the launch, before the send
    settings = _settings(mail, tmp_path)
    assert jobs.send_due(sessions, settings) == 1
    assert jobs.send_due(sessions, settings) == 0  # nothing twice

    sends = _sends(sessions, campaign.id)
    assert {c: (s.status, s.reason) for c, s in sends.items()} == {
        ADA: ("sent", None), BOB: ("suppressed", "no_consent"), CY: ("suppressed", "no_consent")}
    [message] = mail.inbox.messages
    assert mail.inbox.envelopes[0] == ("bounces@oneview-crm.local", ["ada@x.example"])
    assert (message["Subject"], message["Message-ID"]) == ("Spring for Ada", f"<{sends[ADA].message_id}>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.startswith("Hello Ada, our spring range: https://crm.example/t/")
    assert sorted(_send_events(sessions)) == sorted([
        ("sent", str(ADA), None), ("suppressed", str(BOB), "no_consent"), ("suppressed", str(CY), "no_consent")])


def _token_in(message: Any, kind: str) -> tracking.Token:
    text = message.get_body(("plain",)).get_content()
    for word in text.split():
        if "/t/" in word:
            read = tracking.read(SECRET, word.split("/t/")[1])
            if read is not None and read.kind == kind:
                return read
    raise AssertionError(f"no {kind} link in {text!r}")


def test_tracked_links_pixels_and_unsubscribes_become_responses_once_per_send(
        sessions: sessionmaker[Session], mail: MailServer, tmp_path: Path) -> None:
    with unit_of_work(sessions) as session:
        _customer(session, ADA, "Ada")
        campaign = _running(session, [ADA], variants=[VARIANT])
    jobs.send_due(sessions, _settings(mail, tmp_path))
    [message] = mail.inbox.messages
    click, unsubscribe = _token_in(message, "clicked"), _token_in(message, "unsubscribed")
    with unit_of_work(sessions) as session:
        assert tracked.follow(session, click).target == "https://shop.example/spring"
        assert not tracked.follow(session, click).recorded  # a second click only redirects
        assert tracked.follow(session, tracking.Token("opened", click.send_id, None)).recorded
        assert tracked.follow(session, unsubscribe).recorded
        assert not tracked.follow(session, unsubscribe).recorded  # a second unsubscribe changes nothing
        with pytest.raises(NotFound):
            tracked.follow(session, tracking.Token("opened", uuid.uuid4(), None))
    with sessions() as session:
        kinds = sorted(r.kind for r in session.scalars(select(CampaignResponse)))
        assert kinds == ["clicked", "opened", "unsubscribed"]
        [withdrawal] = session.scalars(select(ConsentWithdrawal)).all()
        assert (withdrawal.customer_id, withdrawal.channel, withdrawal.outcome) == (ADA, "email", None)

    # The next campaign does not wait for the customer master: the unsubscribe keeps Ada out at once.
    with unit_of_work(sessions) as session:
        later = _running(session, [ADA], variants=[VARIANT])
    jobs.send_due(sessions, _settings(mail, tmp_path))
    assert _sends(sessions, later.id)[ADA].reason == "unsubscribed" and len(mail.inbox.messages) == 1
    assert campaign.id != later.id


def test_a_hard_bounce_suppresses_the_address_and_a_soft_one_is_noted(
        sessions: sessionmaker[Session], mail: MailServer, tmp_path: Path) -> None:
    with unit_of_work(sessions) as session:
        _customer(session, ADA, "Ada")
        _customer(session, BOB, "Bob")
        campaign = _running(session, [ADA, BOB])
    jobs.send_due(sessions, _settings(mail, tmp_path))
    sends = _sends(sessions, campaign.id)
    with unit_of_work(sessions) as session:
        assert service.take_bounce(session, TENANT, _report(sends[BOB].message_id, "4.2.2", "delayed"))[0] == "soft_bounce"
        assert service.take_bounce(session, TENANT, _report(sends[ADA].message_id, "5.1.1"))[0] == "bounced"
        assert service.take_bounce(session, TENANT, _report(sends[ADA].message_id, "5.1.1"))[0] == "already_bounced"
        with pytest.raises(InvalidInput):  # another tenant's message is as unknown as none
            service.take_bounce(session, "other", _report(sends[BOB].message_id, "5.1.1"))
        with pytest.raises(InvalidInput):
            service.take_bounce(session, TENANT, _report(f"send.{uuid.uuid4().hex}@elsewhere", "5.1.1"))
    sends = _sends(sessions, campaign.id)
    assert (sends[ADA].status, sends[ADA].reason) == ("bounced", "5.1.1 smtp; 550 no such user")
    assert (sends[BOB].status, (sends[BOB].last_error or "").startswith("soft bounce 4.2.2")) == ("sent", True)
    with sessions() as session:
        assert [s.address_hash for s in session.scalars(select(SuppressedAddress))] == [rules.address_hash("ada@x.example")]
    with unit_of_work(sessions) as session:
        later = _running(session, [ADA, BOB])
    jobs.send_due(sessions, _settings(mail, tmp_path))
    assert {c: s.reason for c, s in _sends(sessions, later.id).items()} == {ADA: "bounced_address", BOB: None}


def test_the_frequency_cap_counts_every_campaign_of_the_channel(
        sessions: sessionmaker[Session], mail: MailServer, tmp_path: Path) -> None:
    with unit_of_work(sessions) as session:
        _customer(session, ADA, "Ada")
        service.set_frequency_cap(session, TENANT, "email", FrequencyCapIn(max_contacts=2, period_days=7))
        first, second, third = (_running(session, [ADA]) for _ in range(3))
    jobs.send_due(sessions, _settings(mail, tmp_path))
    reasons = [_sends(sessions, c.id)[ADA].reason for c in (first, second, third)]
    assert reasons == [None, None, "frequency_cap"] and len(mail.inbox.messages) == 2
    with unit_of_work(sessions) as session:
        for _ in range(2):  # a repeated delete is no error
            service.delete_frequency_cap(session, TENANT, "email")
        assert service.list_frequency_caps(session, TENANT) == []


def test_a_claim_takes_only_what_the_tenants_rate_leaves_of_the_last_second(sessions: sessionmaker[Session]) -> None:
    ids = [uuid.UUID(int=200 + n) for n in range(5)]
    with unit_of_work(sessions) as session:
        for n, customer in enumerate(ids):
            _customer(session, customer, f"R{n}")
        campaign = _running(session, ids)
        assert service.queue_members(session, campaign.id, 10, mail_from="news@oneview-crm.local") == 5
    with unit_of_work(sessions) as session:
        batch = service.claim_batch(session, campaign.id, rate=2, size=10)
        assert batch is not None and len(batch.send_ids) == 2
        for send_id in batch.send_ids:  # handed over just now: they count against the rate
            assert service.prepare(session, batch, send_id) is not None
    with unit_of_work(sessions) as session:
        assert service.claim_batch(session, campaign.id, rate=2, size=10) is None
        unlimited = service.claim_batch(session, campaign.id, rate=0, size=10)
        assert unlimited is not None and len(unlimited.send_ids) == 3


def test_members_waiting_for_the_winner_are_held_and_then_sent_the_winner(
        sessions: sessionmaker[Session], mail: MailServer, tmp_path: Path) -> None:
    ids = [uuid.UUID(int=100 + n) for n in range(10)]
    with unit_of_work(sessions) as session:
        for n, customer in enumerate(ids):
            _customer(session, customer, f"P{n}")
        campaign = _running(session, ids, test_share=40, winner_metric="clicked", test_window_hours=1, variants=[
            {"name": "A", "share": 50, "subject": "A"}, {"name": "B", "share": 50, "subject": "B"}])
    jobs.send_due(sessions, _settings(mail, tmp_path))
    statuses = sorted(s.status for s in _sends(sessions, campaign.id).values())
    assert statuses == ["held"] * 6 + ["sent"] * 4 and len(mail.inbox.messages) == 4
    with unit_of_work(sessions) as session:
        row = session.get(Campaign, campaign.id)
        assert row is not None
        row.launched_at = utcnow() - timedelta(hours=2)
    campaigns.choose_winners(sessions, _settings(mail, tmp_path))
    jobs.send_due(sessions, _settings(mail, tmp_path))
    sends = _sends(sessions, campaign.id).values()
    assert sorted(s.status for s in sends) == ["sent"] * 10 and len(mail.inbox.messages) == 10
    with sessions() as session:
        winner = session.get(Campaign, campaign.id).winner  # type: ignore[union-attr]
    assert sum(1 for m in mail.inbox.messages if m["Subject"] == winner) >= 6


def test_a_send_left_sending_by_a_stopped_worker_is_never_sent_again(
        sessions: sessionmaker[Session], mail: MailServer, tmp_path: Path) -> None:
    with unit_of_work(sessions) as session:
        _customer(session, ADA, "Ada")
        _customer(session, BOB, "Bob")
        campaign = _running(session, [ADA, BOB])
    # A worker that claimed both, marked Ada's as leaving, and died: what its two commits leave behind.
    with unit_of_work(sessions) as session:
        service.queue_members(session, campaign.id, 10, mail_from="news@oneview-crm.local")
    with unit_of_work(sessions) as session:
        batch = service.claim_batch(session, campaign.id, rate=0, size=10)
        assert batch is not None and len(batch.send_ids) == 2
    with unit_of_work(sessions) as session:
        assert service.prepare(session, batch, batch.send_ids[0]) is not None
    with unit_of_work(sessions) as session:  # its claim runs out
        for send in session.scalars(select(CampaignSend)):
            send.claimed_until = utcnow() - timedelta(seconds=1)
    jobs.send_due(sessions, _settings(mail, tmp_path))
    sends = _sends(sessions, campaign.id)
    assert sorted(s.status for s in sends.values()) == ["sent", "unconfirmed"]
    assert len(mail.inbox.messages) == 1 and mail.inbox.envelopes[0][1] == [
        next(s.address for s in sends.values() if s.status == "sent")]


def test_sms_goes_to_the_pluggable_sender_and_an_erasure_drops_the_address(
        sessions: sessionmaker[Session], mail: MailServer, tmp_path: Path) -> None:
    with unit_of_work(sessions) as session:
        _customer(session, ADA, "Ada", phone="+4915112345678")
        _customer(session, BOB, "Bob")  # no phone
        campaign = _running(session, [ADA, BOB], channel="sms", objective="Spring sale at https://shop.example")
    outbox = tmp_path / "sms.ndjson"
    assert jobs.send_due(sessions, _settings(mail, tmp_path, sms_outbox=outbox)) == 1
    [line] = outbox.read_text().splitlines()
    assert '"to": "+4915112345678"' in line and "https://crm.example/t/" in line and "Opt out" in line
    assert {c: s.reason for c, s in _sends(sessions, campaign.id).items()} == {ADA: None, BOB: "no_address"}
    with unit_of_work(sessions) as session:
        service.erase_customer(session, TENANT, ADA)
    assert _sends(sessions, campaign.id)[ADA].address is None
    assert not mail.inbox.messages


def test_two_workers_sending_to_one_customer_at_once_cannot_both_pass_the_cap(postgres_url: str) -> None:
    from tests.support.databases import create_postgres_database, drop_postgres_database

    url = create_postgres_database(postgres_url, "crm_test_cap")
    engine = make_engine(url)
    try:
        PLATFORM_METADATA.create_all(engine)
        Base.metadata.create_all(engine)
        sessions = make_sessions(engine)
        with unit_of_work(sessions) as session:
            _customer(session, ADA, "Ada")
            service.set_frequency_cap(session, TENANT, "email", FrequencyCapIn(max_contacts=1, period_days=7))
            spring, summer = _running(session, [ADA]), _running(session, [ADA])
        batches = []
        for campaign in (spring, summer):
            with unit_of_work(sessions) as session:
                service.queue_members(session, campaign.id, 10, mail_from="news@x.example")
                batch = service.claim_batch(session, campaign.id, rate=0, size=10)
                assert batch is not None
                batches.append(batch)
        first = sessions()
        assert service.prepare(first, batches[0], batches[0].send_ids[0]) is not None  # decided, not committed
        decided: list[Any] = []

        def second_worker() -> None:
            with unit_of_work(sessions) as session:
                decided.append(service.prepare(session, batches[1], batches[1].send_ids[0]))

        other = threading.Thread(target=second_worker)
        other.start()
        other.join(1.0)
        assert other.is_alive()  # it waits for the first worker's decision instead of counting without it
        first.commit()
        first.close()
        other.join(30)
        assert decided == [None]
        sent = _sends(sessions, summer.id)[ADA]
        assert (sent.status, sent.reason) == ("suppressed", "frequency_cap")
        assert _sends(sessions, spring.id)[ADA].status == "sending"
    finally:
        engine.dispose()
        drop_postgres_database(postgres_url, url)
