"""The e-mail channel's rules without a database: reading messages, auto-replies, threading decisions,
outgoing headers and retries."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest

from services.service_desk.mail import rules
from shared.errors import InvalidInput

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


def _raw(headers: str, body: str = "Hello") -> bytes:
    return (headers.strip().replace("\n", "\r\n") + "\r\n\r\n" + body).encode()


def test_a_plain_message_is_read_with_its_threading_headers() -> None:
    inbound = rules.parse(_raw("""
From: Ada Example <ADA@Example.test>
To: support@desk.test
Subject: Re: Cannot log in [#0a1b2c3d4e5f]
Message-ID: <reply-2@example.test>
In-Reply-To: <desk-1@desk.test>
References: <first@example.test> <desk-1@desk.test>
"""), max_attachment_bytes=1000)
    assert inbound.sender == "ada@example.test" and inbound.sender_name == "Ada Example"
    assert inbound.message_id == "reply-2@example.test"
    assert inbound.answers == ("desk-1@desk.test", "first@example.test")
    assert inbound.token == "0a1b2c3d4e5f"
    assert inbound.body == "Hello" and not inbound.automatic


@pytest.mark.parametrize("raw", [b"", b"\x00\x01\x02\xff\xfe binary garbage", b"just some words, no headers",
                                 b"Subject: no sender\r\n\r\nbody", b"From: not an address\r\n\r\nbody"])
def test_what_is_not_an_rfc_5322_message_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidInput):
        rules.parse(raw, max_attachment_bytes=1000)


def _with_attachment(size: int) -> bytes:
    encoded = base64.encodebytes(b"x" * size).decode()
    return _raw("""
From: ada@example.test
Subject: Invoice
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"
""", f"--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\nContent-Type: application/pdf\r\n"
     f"Content-Disposition: attachment; filename=\"invoice.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
     f"{encoded}\r\n--b--\r\n")


def test_attachments_are_read_and_one_over_the_limit_is_refused() -> None:
    inbound = rules.parse(_with_attachment(1000), max_attachment_bytes=1000)
    assert inbound.body == "See attached."
    assert [(a.filename, a.content_type, len(a.content)) for a in inbound.attachments] == [
        ("invoice.pdf", "application/pdf", 1000)]
    with pytest.raises(rules.ContentTooLarge):
        rules.parse(_with_attachment(1001), max_attachment_bytes=1000)


@pytest.mark.parametrize(("headers", "automatic"), [
    ({"auto-submitted": "auto-replied"}, True),
    ({"auto-submitted": "auto-generated; owner-email=x@y.test"}, True),
    ({"auto-submitted": "no"}, False),
    ({"precedence": "bulk"}, True),
    ({"precedence": "auto_reply"}, True),
    ({"precedence": "junk"}, True),
    ({"x-autoreply": "yes"}, True),
    ({"x-autorespond": "yes"}, True),
    ({}, False),
])
def test_auto_replies_are_recognised(headers: dict[str, str], automatic: bool) -> None:
    assert rules.is_automatic(headers) is automatic


def test_only_the_requester_or_the_customers_own_addresses_may_thread_by_token() -> None:
    assert rules.may_quote_token("ada@example.test", "ADA@example.test", set())
    assert rules.may_quote_token("ada.work@example.test", None, {"ada.work@example.test"})
    assert not rules.may_quote_token("mallory@evil.test", "ada@example.test", {"ada.work@example.test"})


def test_what_a_reply_does_to_the_ticket_it_reaches() -> None:
    def outcome(status: str, resolved_days_ago: int | None = None, automatic: bool = False) -> str:
        resolved_at = NOW - timedelta(days=resolved_days_ago) if resolved_days_ago is not None else None
        return rules.reply_outcome(status, resolved_at=resolved_at, now=NOW, window_days=14, automatic=automatic)

    assert outcome("open") == "comment"
    assert outcome("pending_customer") == "open"
    assert outcome("resolved", 3) == "open"
    assert outcome("resolved", 15) == "follow_up"
    assert outcome("closed") == "follow_up"
    assert outcome("resolved", 3, automatic=True) == "comment"
    assert outcome("pending_customer", automatic=True) == "comment"
    assert outcome("closed", automatic=True) == "ignore"


def test_reply_subjects_quote_the_token_once() -> None:
    assert rules.reply_subject("Cannot log in", "abc123abc123") == "Re: Cannot log in [#abc123abc123]"
    assert rules.reply_subject("Re: RE: Cannot log in [#abc123abc123]", "abc123abc123") == \
        "Re: Cannot log in [#abc123abc123]"


def test_thread_headers_answer_the_last_message_and_keep_the_chain() -> None:
    assert rules.thread_headers([]) == (None, "")
    assert rules.thread_headers(["a@x", "b@x"]) == ("b@x", "a@x b@x")
    long = [f"m{i}@x" for i in range(30)]
    in_reply_to, references = rules.thread_headers(long)
    assert in_reply_to == "m29@x" and references.split() == ["m0@x", *long[-19:]]


def test_failed_sends_back_off_to_at_most_an_hour() -> None:
    assert rules.next_attempt(1, NOW) == NOW + timedelta(seconds=30)
    assert rules.next_attempt(3, NOW) == NOW + timedelta(seconds=120)
    assert rules.next_attempt(30, NOW) == NOW + timedelta(hours=1)


def test_message_ids_are_made_at_the_desks_domain() -> None:
    made = rules.new_message_id("Support <support@desk.test>")
    assert made.endswith("@desk.test") and made != rules.new_message_id("support@desk.test")


def test_the_customers_addresses_come_from_the_published_view() -> None:
    view = {"profile": {"emails": [{"address": "Ada@Example.test", "primary": False},
                                   {"address": "ada.work@example.test", "primary": True}, {"address": "nonsense"}]}}
    assert rules.view_addresses(view) == {"ada@example.test", "ada.work@example.test"}
    assert rules.primary_address(view) == "ada.work@example.test"
    assert rules.view_addresses({"version": 1}) == set() and rules.primary_address(None) is None


def test_bodies_are_decoded_by_their_charset_and_html_is_read_as_text() -> None:
    latin = _raw("From: ada@example.test\nContent-Type: text/plain; charset=iso-8859-1",
                 "").replace(b"\r\n\r\n", b"\r\n\r\nGr\xfc\xdfe")
    assert rules.parse(latin, max_attachment_bytes=10).body == "Grüße"
    unknown = _raw("From: ada@example.test\nContent-Type: text/plain; charset=x-nonesuch", "plain")
    assert rules.parse(unknown, max_attachment_bytes=10).body == "plain"
    html = _raw("From: ada@example.test\nContent-Type: text/html", "<p>Hello <b>there</b></p>")
    assert rules.parse(html, max_attachment_bytes=10).body == "Hello there"


def test_encoded_words_and_folded_headers_are_decoded_where_a_person_reads_them() -> None:
    # As mail clients send non-ASCII names: RFC 2047 words in From and Subject, a folded Subject, an RFC
    # 2047 file name on one attachment and an RFC 2231 one on another, a body part in its own charset.
    raw = _raw("""
From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.test>
Subject: =?utf-8?b?UmVjaG51bmcgZmVobHQ=?=
 [#0a1b2c3d]
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"
""", "--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
     "Gr=FC=DFe\r\n--b\r\nContent-Type: application/pdf\r\n"
     "Content-Disposition: attachment; filename=\"=?utf-8?q?Rechnung_M=C3=A4rz.pdf?=\"\r\n\r\nPDF\r\n"
     "--b\r\nContent-Type: text/csv\r\n"
     "Content-Disposition: attachment; filename*=utf-8''Liste%20%C3%96l.csv\r\n\r\na,b\r\n--b--\r\n")
    inbound = rules.parse(raw, max_attachment_bytes=1000)
    assert inbound.sender == "juergen@example.test" and inbound.sender_name == "Jürgen Müller"
    assert inbound.subject == "Rechnung fehlt [#0a1b2c3d]" and inbound.token == "0a1b2c3d"
    assert inbound.body == "Grüße"
    assert [(a.filename, a.content_type) for a in inbound.attachments] == [
        ("Rechnung März.pdf", "application/pdf"), ("Liste Öl.csv", "text/csv")]
