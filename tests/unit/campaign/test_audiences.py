"""Audiences: the rules without a database; the use cases and the incremental membership on one of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy.orm import Session

from services.campaign.audiences import repository, rules, service
from services.campaign.audiences.schemas import AudienceIn, RulesPreview
from services.campaign.customers.repository import REPLICA
from services.campaign.database import Base
from shared.consumer import Delivery
from shared.db import PLATFORM_METADATA, make_engine, make_sessions
from shared.envelope import CloudEvent
from shared.errors import InvalidInput, NotFound

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
TENANT = "acme"


def view(*, country: str | None = "DE", tier: str | None = "A", group: str | None = "sme", tags: tuple[str, ...] = (),
         email: str = "unknown", churn: int | None = 20, open_tickets: int = 0, last_contact: datetime | None = None,
         paid: tuple[tuple[str, str], ...] = (), version: int = 1, industry: str | None = "Retail") -> dict[str, Any]:
    """A published view document, as much of it as the rules read."""
    return {"version": version, "profile": {
        "display_name": "Ada Example", "kind": "person", "country": country, "region": "EMEA", "industry": industry,
        "customer_group": group, "value_tier": tier, "tags": list(tags),
        "consent": {"email": email, "sms": "unknown", "phone": "unknown"}},
        "kpis": {"churn_risk": {"score": churn, "level": "low", "reasons": []} if churn is not None else None,
                 "open_tickets": open_tickets,
                 "last_contact": {"at": last_contact.isoformat(), "source": "sales", "entity": "lead"}
                 if last_contact else None,
                 "lifetime_value": [{"amount": a, "currency": c} for a, c in paid]}}


def matches(tree: dict[str, Any], document: dict[str, Any], now: datetime = NOW) -> bool:
    return rules.compile_rules(rules.check(tree).rules)(rules.values_of(document, now))


def cond(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def test_text_fields_compare_case_insensitively_and_a_missing_value_is_no_match() -> None:
    assert matches({"all": [cond("country", "eq", "de")]}, view())
    assert matches({"all": [cond("value_tier", "in", ["A", "B"])]}, view())
    assert not matches({"all": [cond("value_tier", "in", ["B"])]}, view())
    assert matches({"all": [cond("industry", "ne", "banking")]}, view())
    assert not matches({"all": [cond("country", "eq", "DE")]}, view(country=None))
    assert matches({"all": [cond("country", "not_in", ["DE"])]}, view(country=None))


def test_all_any_and_not_combine_and_nest() -> None:
    tree = {"all": [cond("country", "eq", "DE"),
                    {"any": [cond("value_tier", "eq", "A"), cond("tags", "contains", "vip")]},
                    {"not": [cond("consent.email", "eq", "opt_out")]}]}
    assert matches(tree, view())
    assert matches(tree, view(tier="C", tags=("VIP",)))
    assert not matches(tree, view(tier="C"))
    assert not matches(tree, view(email="opt_out"))
    assert not matches(tree, view(country="FR"))


def test_tags_consent_numbers_and_money_in_its_own_currency() -> None:
    tagged = view(tags=("vip", "newsletter"))
    assert matches({"all": [cond("tags", "contains_all", ["VIP", "newsletter"])]}, tagged)
    assert not matches({"all": [cond("tags", "contains_all", ["vip", "events"])]}, tagged)
    assert matches({"all": [cond("tags", "not_contains", "events")]}, tagged)
    assert matches({"all": [cond("consent.email", "eq", "opt_in")]}, view(email="opt_in"))
    assert matches({"all": [cond("churn_risk", "gte", 20), cond("open_tickets", "lt", 1)]}, view())
    assert not matches({"all": [cond("churn_risk", "gt", 20)]}, view())
    rich = view(paid=(("900.00", "EUR"), ("5000", "USD")))
    assert matches({"all": [cond("lifetime_value", "gte", {"amount": "500", "currency": "EUR"})]}, rich)
    # 5,000 USD is never added to or compared with euros: in EUR the customer has 900.
    assert not matches({"all": [cond("lifetime_value", "gte", {"amount": "1000", "currency": "EUR"})]}, rich)
    assert matches({"all": [cond("lifetime_value", "lt", {"amount": "1", "currency": "GBP"})]}, rich)


def test_days_since_the_last_contact_read_the_clock_and_never_contacted_is_furthest() -> None:
    tree = {"all": [cond("last_contact_days", "gt", 90)]}
    assert rules.check(tree).clock_dependent and not rules.check({"all": [cond("country", "eq", "DE")]}).clock_dependent
    contacted = view(last_contact=NOW - timedelta(days=30))
    assert not matches(tree, contacted)
    assert matches(tree, contacted, now=NOW + timedelta(days=61))
    assert matches(tree, view(last_contact=None))
    assert not matches({"all": [cond("last_contact_days", "lte", 10)]}, view(last_contact=None))


@pytest.mark.parametrize(("tree", "field"), [
    ({"all": [cond("churn_risk", "gt", "high")]}, "rules.all[0].value"),
    ({"all": [cond("country", "gt", "DE")]}, "rules.all[0].op"),
    ({"all": [cond("tags", "eq", "vip")]}, "rules.all[0].op"),
    ({"any": [cond("value_tier", "in", "A")]}, "rules.any[0].value"),
    ({"all": [{"not": [cond("consent.email", "eq", "yes")]}]}, "rules.all[0].not[0].value"),
    ({"all": [cond("lifetime_value", "gt", 100)]}, "rules.all[0].value"),
    ({"all": [cond("open_tickets", "gt", float("inf"))]}, "rules.all[0].value"),
    ({"all": [cond("shoe_size", "eq", "42")]}, "rules.all[0].field"),
    ({"all": []}, "rules.all"),
    ({"every": [cond("country", "eq", "DE")]}, "rules"),
    ({"all": [{"all": [{"all": [cond("country", "eq", "DE")]}]}]}, "rules.all[0].all[0]"),
    ({"all": [cond("lifetime_value", "gte", {"amount": "1", "currency": "XXY"})]}, "rules.all[0].value.currency"),
])
def test_a_rule_on_an_unknown_field_with_a_wrong_type_or_too_deep_names_the_place(tree: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.check(tree)
    assert refused.value.errors[0]["field"] == field


def test_the_request_schema_refuses_unknown_fields_and_operators_before_the_rules_see_them() -> None:
    for body in ({"name": "x", "rules": {"all": [cond("shoe_size", "eq", "42")]}},
                 {"name": "x", "rules": {"all": [cond("country", "like", "D%")]}},
                 {"name": "x", "rules": {"all": [cond("country", "eq", "DE")], "any": []}}):
        with pytest.raises(ValidationError):
            AudienceIn.model_validate(body)


# --- the use cases, on a database of their own ---------------------------------------------------


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'campaign.db'}")
    PLATFORM_METADATA.create_all(engine)
    Base.metadata.create_all(engine)
    with make_sessions(engine)() as session:
        yield session
    engine.dispose()


def publish_view(db: Session, customer_id: uuid.UUID, document: dict[str, Any] | None, tenant: str = TENANT) -> None:
    """A view version (or a tombstone) as the replica consumer receives it from the view topic."""
    event = None if document is None else CloudEvent(
        id=str(uuid.uuid4()), source="/crm/customer", type="crm.customer.view.updated.v1", subject=str(customer_id),
        time=NOW, data=document | {"customer_id": str(customer_id)}, tenant=tenant, sequence=1)
    REPLICA.apply(db, Delivery(topic="crm.customer_view.v1", key=str(customer_id), event=event))
    db.flush()
    db.info.clear()  # the next view arrives in another unit of work, as the consumer's next batch


def audience(db: Session, tree: dict[str, Any] | None, static: tuple[uuid.UUID, ...] = (), tenant: str = TENANT) -> uuid.UUID:
    body = AudienceIn.model_validate({"name": "Germany, tier A", "rules": tree, "static_customer_ids": list(static)})
    created = service.create_audience(db, tenant, body)
    db.flush()
    return created.id


def members(db: Session, audience_id: uuid.UUID) -> set[uuid.UUID]:
    return set(service.member_ids(db, TENANT, audience_id))


GERMAN_A = {"all": [cond("country", "eq", "DE"), cond("value_tier", "eq", "A")]}


def test_a_new_audience_holds_the_matching_customers_of_its_tenant_and_its_static_list(db: Session) -> None:
    ada, bob, cy, other = (uuid.uuid4() for _ in range(4))
    publish_view(db, ada, view())
    publish_view(db, bob, view(country="FR"))
    publish_view(db, cy, view(tier="C"))
    publish_view(db, other, view(), tenant="globex")
    german = audience(db, GERMAN_A, static=(bob,))
    assert members(db, german) == {ada, bob}
    shown = service.preview(db, TENANT, german, sample_size=1)
    assert shown.count == 2 and len(shown.sample) == 1 and shown.sample[0].customer_id == min(ada, bob)
    assert (service.preview(db, TENANT, german, sample_size=0).count, shown.count) == (2, 2)  # no sample: still counted


def test_membership_follows_each_view_version_and_a_forgotten_customer_leaves(db: Session) -> None:
    ada = uuid.uuid4()
    german, tagged = audience(db, GERMAN_A, static=()), None
    publish_view(db, ada, view(tier="C"))
    tagged = audience(db, {"all": [cond("tags", "contains", "vip")]})
    assert members(db, german) == set() and members(db, tagged) == set()
    publish_view(db, ada, view(tier="A", version=2))
    assert members(db, german) == {ada}
    publish_view(db, ada, view(tier="A", tags=("vip",), version=3))
    assert members(db, german) == {ada} and members(db, tagged) == {ada}
    publish_view(db, ada, view(tier="B", tags=("vip",), version=4))
    assert members(db, german) == set() and members(db, tagged) == {ada}
    # An older version arriving late changes nothing: the replica keeps the newest and so do the audiences.
    publish_view(db, ada, view(tier="A", version=2))
    assert members(db, german) == set()
    publish_view(db, ada, None)
    assert members(db, tagged) == set()


def test_a_changed_audience_is_evaluated_again_and_a_deleted_one_holds_no_one(db: Session) -> None:
    ada, bob = uuid.uuid4(), uuid.uuid4()
    publish_view(db, ada, view())
    publish_view(db, bob, view(country="FR"))
    german = audience(db, GERMAN_A)
    body = AudienceIn.model_validate({"name": "France", "rules": {"all": [cond("country", "eq", "FR")]}})
    changed = service.replace_audience(db, TENANT, german, body)
    assert changed.version == 2 and members(db, german) == {bob}
    service.delete_audience(db, TENANT, german)
    db.flush()
    with pytest.raises(NotFound):
        service.get_audience(db, TENANT, german)
    assert repository.counted_sample(db, german, 10) == (0, [])


def test_an_audience_needs_rules_or_known_customers(db: Session) -> None:
    with pytest.raises(InvalidInput) as empty:
        audience(db, None)
    assert empty.value.errors[0]["field"] == "rules"
    with pytest.raises(InvalidInput) as unknown:
        audience(db, None, static=(uuid.uuid4(),))
    assert unknown.value.errors[0]["field"] == "static_customer_ids[0]"


def test_rules_are_previewed_over_the_replica_before_they_are_stored(db: Session) -> None:
    customers = [uuid.uuid4() for _ in range(5)]
    for n, customer in enumerate(customers):
        publish_view(db, customer, view(churn=n * 20))
    preview = service.preview_rules(db, TENANT, RulesPreview.model_validate(
        {"rules": {"all": [cond("churn_risk", "gte", 40)]}}), sample_size=2)
    assert preview.count == 3 and len(preview.sample) == 2


def test_the_refresh_job_moves_clock_audiences_as_days_pass(db: Session, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    ada = uuid.uuid4()
    publish_view(db, ada, view(last_contact=datetime.now(timezone.utc) - timedelta(days=5)))
    quiet = audience(db, {"all": [cond("last_contact_days", "gte", 30)]})
    assert members(db, quiet) == set()
    db.commit()
    later = datetime.now(timezone.utc) + timedelta(days=40)
    monkeypatch.setattr(service, "utcnow", lambda: later)
    sessions = make_sessions(db.get_bind())  # type: ignore[arg-type]
    assert service.refresh_clock_dependent(sessions, None) == 1  # type: ignore[arg-type]
    db.expire_all()
    assert members(db, quiet) == {ada}
