"""The shared library's plain parts: envelope, identifiers, value types, tokens, cursors."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from kafka.consumer.fetcher import ConsumerRecord
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from shared.auth import VerifiedTokens, mint_token, read_token
from shared.consumer import is_wanted
from shared.db import PLATFORM_METADATA, OutboxRecord, make_engine, make_sessions
from shared.envelope import CloudEvent, EnvelopeError, encode_event, parse_event
from shared.errors import BadRequest, InvalidInput, Unauthorized
from shared.contract import TopicSpec
from shared.group import StallClock
from shared.http import ConsistencyToken, decode_cursor, encode_cursor, next_cursor, refuse_nul_characters
from shared.ids import new_id
from shared.outbox import REPLAYING, OutboxRelay, append_event, wire_value
from shared.topics import TopicLayout, new_topics
from shared.types import CountryCode, Money, PhoneNumber, normalise_phone

SECRET = "unit-test-secret-of-at-least-32-bytes"


def test_ids_are_uuid7_and_time_ordered() -> None:
    first = new_id()
    assert first.version == 7
    later = [new_id() for _ in range(3)]
    assert all(first.int >> 80 <= other.int >> 80 for other in later)


def test_ids_made_in_one_millisecond_keep_the_order_they_were_made_in() -> None:
    # Thousands per millisecond here: without the counter, ids of one millisecond order by chance.
    made = [new_id() for _ in range(20_000)]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert len({m.int >> 80 for m in made}) < len(made)  # many shared a millisecond
    assert {(m.version, m.int >> 62 & 0b11) for m in made} == {(7, 0b10)}


def test_event_round_trips_and_rejects_what_is_not_an_event() -> None:
    event = CloudEvent(id="1", source="/crm/sales", type="crm.sales.opportunity.won.v1", subject=str(uuid.uuid4()),
                       time=datetime.now(timezone.utc), data={"x": 1}, tenant="acme", sequence=3)
    assert parse_event(event.to_bytes()) == event
    assert event.service == "sales"
    for raw in (b"{", b'{"id": "1"}', event.to_bytes().replace(b".v1", b".one"), None):
        with pytest.raises(EnvelopeError):
            parse_event(raw)


def test_phone_numbers_are_normalised_to_e164() -> None:
    assert normalise_phone("+1 (650) 253-0000") == "+16502530000"
    assert normalise_phone("0049 30 123456") == "+4930123456"
    with pytest.raises(ValueError):
        normalise_phone("030 123456")


class _Contact(BaseModel):
    country: CountryCode
    phone: PhoneNumber


def test_countries_and_currencies_are_iso_codes() -> None:
    assert _Contact(country="DE", phone="+4930123456").country == "DE"
    for not_a_code in ("Germany", "de", " DE"):  # exactly the codes the schema's enum lists
        with pytest.raises(ValidationError):
            _Contact(country=not_a_code, phone="+4930123456")
    assert Money(amount="1.50", currency="eur").model_dump(mode="json") == {"amount": "1.50", "currency": "EUR"}
    with pytest.raises(ValidationError):
        Money(amount=1.5, currency="EUR")


def test_tokens_carry_tenant_and_scopes_and_are_checked() -> None:
    token = mint_token(secret=SECRET, issuer="i", tenant="acme", scopes=["sales:read"])
    principal = read_token(token, secret=SECRET, issuer="i")
    assert principal.tenant == "acme" and principal.allows("sales:read") and not principal.allows("sales:write")
    with pytest.raises(Unauthorized):
        read_token(token, secret=SECRET + "x", issuer="i")
    admin = read_token(mint_token(secret=SECRET, issuer="i", tenant="acme", scopes=["admin"]), secret=SECRET, issuer="i")
    assert admin.allows("anything:at-all")


def test_verified_tokens_are_remembered_until_they_expire_and_bad_ones_never() -> None:
    tokens = VerifiedTokens(secret=SECRET, issuer="i", size=2)
    good = mint_token(secret=SECRET, issuer="i", tenant="acme", scopes=["sales:read"])
    assert tokens.principal(good) is tokens.principal(good)  # the second time from memory
    forged = mint_token(secret=SECRET + "x", issuer="i", tenant="acme", scopes=["admin"])
    for _ in range(2):
        with pytest.raises(Unauthorized):
            tokens.principal(forged)
    expired = mint_token(secret=SECRET, issuer="i", tenant="acme", scopes=[], ttl=timedelta(seconds=-1))
    with pytest.raises(Unauthorized):
        tokens.principal(expired)
    for n in range(3):  # bounded: the oldest is forgotten, and verified again when it comes back
        tokens.principal(mint_token(secret=SECRET, issuer="i", tenant=f"t{n}", scopes=[], subject=f"s{n}"))
    assert tokens.principal(good).tenant == "acme"


def test_cursors_and_consistency_tokens_round_trip_and_reject_garbage() -> None:
    ident = new_id()
    assert decode_cursor(encode_cursor(ident)) == ident
    assert next_cursor([ident, new_id()], 1) == encode_cursor(ident)
    assert next_cursor([ident], 1) is None
    token = ConsistencyToken(service="sales", sequence=42, subjects=("c1",))
    assert ConsistencyToken.decode(token.encode()) == token
    for garbage in ("", "%%%", "bm90IGpzb24"):
        with pytest.raises(BadRequest):
            decode_cursor(garbage)
        with pytest.raises(BadRequest):
            ConsistencyToken.decode(garbage)


def test_a_replaying_session_appends_nothing_to_the_outbox(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    PLATFORM_METADATA.create_all(engine, tables=[OutboxRecord.__table__])  # type: ignore[list-item]
    sessions = make_sessions(engine)
    with sessions.begin() as live:
        append_event(live, topic="t", event_type="x", subject="s", tenant="a", data={"n": 1})
    sessions.configure(info={REPLAYING: True})
    with sessions.begin() as replaying:
        append_event(replaying, topic="t", event_type="x", subject="s", tenant="a", data={"n": 2})
    with sessions() as session:
        assert [r.data for r in session.scalars(select(OutboxRecord))] == [{"n": 1}]
    engine.dispose()


def test_an_event_encoded_from_stored_json_reads_back_as_the_model_writes_it() -> None:
    data = {"customer": {"id": "c-1", "display_name": "Zoë Ünal", "credit_limit": {"amount": "10.50", "currency": "EUR"}}}
    model = CloudEvent(id=str(new_id()), source="/crm/customer", type="crm.customer.created.v1", subject="c-1",
                       time=datetime(2026, 11, 26, 12, 0, 1, 5, tzinfo=timezone.utc), data=data, tenant="acme",
                       sequence=42)
    for stored in (json.dumps(data), json.dumps(data, separators=(",", ":"), ensure_ascii=False)):
        wire = encode_event(event_id=model.id, service="customer", event_type=model.type, subject=model.subject,
                            time=model.time, tenant=model.tenant, sequence=model.sequence, data_json=stored)
        assert parse_event(wire) == parse_event(model.to_bytes()) == model


def test_the_relay_sends_stored_events_as_written_and_tombstones_as_none(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.db'}")
    PLATFORM_METADATA.create_all(engine, tables=[OutboxRecord.__table__])  # type: ignore[list-item]
    sessions = make_sessions(engine)
    with sessions.begin() as session:
        append_event(session, topic="t", event_type="crm.customer.created.v1", subject="c-1", tenant="acme",
                     data={"customer": {"id": "c-1", "name": "Zoë"}})
        append_event(session, topic="t", event_type="crm.customer.view.updated.v1", subject="c-1", tenant="acme",
                     data=None)
    relay = OutboxRelay(service="customer", sessions=sessions, producer_factory=lambda: None)  # type: ignore[arg-type]
    with sessions() as session:
        event, tombstone = [wire_value(row, "customer") for row in relay._claim(session)]
    assert tombstone is None
    assert event is not None
    read = parse_event(event)
    assert (read.type, read.subject, read.sequence, read.data) == (
        "crm.customer.created.v1", "c-1", 1, {"customer": {"id": "c-1", "name": "Zoë"}})
    engine.dispose()


def _record(value: bytes | None, headers: list[tuple[str, bytes]]) -> ConsumerRecord:
    return ConsumerRecord("crm.customer.v1", 0, -1, 7, 0, 0, b"key", value, headers, None, 3, 0, 0)


def test_a_consumer_passes_over_event_types_it_does_not_act_on_by_their_header() -> None:
    lifecycle = frozenset({"crm.customer.merged.v1"})
    created = _record(b"{}", [("ce_type", b"crm.customer.created.v1"), ("ce_tenant", b"acme")])
    merged = _record(b"{}", [("ce_tenant", b"acme"), ("ce_type", b"crm.customer.merged.v1")])
    assert not is_wanted(created, lifecycle, accepts_tombstones=False)
    assert is_wanted(merged, lifecycle, accepts_tombstones=False)
    assert is_wanted(created, None, accepts_tombstones=False)  # no filter: everything
    assert is_wanted(_record(b"{}", []), lifecycle, accepts_tombstones=False)  # no header: the handler decides
    tombstone = _record(None, [("ce_type", b"crm.customer.created.v1")])
    assert is_wanted(tombstone, lifecycle, accepts_tombstones=True)
    assert not is_wanted(tombstone, None, accepts_tombstones=False)


def test_the_stall_clock_counts_only_time_out_of_the_group_with_the_broker_up() -> None:
    clock = StallClock(seconds=10)
    assert not clock.stalled(0, in_group=False, broker_up=True)
    assert not clock.stalled(9, in_group=False, broker_up=True)
    assert clock.stalled(10.5, in_group=False, broker_up=True)
    # A broker outage is not a stall, and the count starts again once it answers.
    assert not clock.stalled(11, in_group=False, broker_up=False)
    assert not clock.stalled(20, in_group=False, broker_up=True)
    assert not clock.stalled(29, in_group=False, broker_up=True)
    assert clock.stalled(31, in_group=False, broker_up=True)
    # Back in the group: all forgotten.
    assert not clock.stalled(32, in_group=True, broker_up=True)
    assert not clock.stalled(41, in_group=False, broker_up=True)


def test_topics_are_created_replicated_as_configured_and_kept_for_replay() -> None:
    view, domain = TopicSpec("crm.customer_view.v1", compacted=True), TopicSpec("crm.sales.v1")
    layout = TopicLayout(partitions=6, replication=3, min_insync_replicas=2)
    created = {t.name: t for t in new_topics([domain, view, domain], layout, ["crm.dlq.sales.v1"])}
    assert sorted(created) == ["crm.customer_view.v1", "crm.dlq.sales.v1", "crm.sales.v1"]
    assert {t.name: (t.num_partitions, t.replication_factor) for t in created.values()} == {
        "crm.customer_view.v1": (6, 3), "crm.sales.v1": (6, 3), "crm.dlq.sales.v1": (1, 3)}
    assert created["crm.customer_view.v1"].topic_configs == {
        "cleanup.policy": "compact", "min.compaction.lag.ms": "0", "min.insync.replicas": "2"}
    # Kept for ever by default: `crm replay` reads the domain topics from offset zero.
    assert created["crm.sales.v1"].topic_configs == {"retention.ms": "-1", "min.insync.replicas": "2"}
    assert created["crm.dlq.sales.v1"].topic_configs["retention.ms"] == "-1"


@pytest.mark.parametrize(("text", "refused"), [
    ("a\x00b", True), ("x\\\x00", True), ("\\\\\x00", True),  # a NUL character, however many backslashes before it
    ("a\\u0000b", False), ("plain", False),  # the six characters "\u0000" written out are text like any other
])
def test_a_json_body_with_a_nul_character_is_refused_on_every_database(text: str, refused: bool) -> None:
    body = json.dumps({"name": text}).encode()
    if refused:
        with pytest.raises(InvalidInput):
            refuse_nul_characters(body)
    else:
        refuse_nul_characters(body)
