"""Leads: match keys, transitions and scoring without a database; the use cases on one of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.sales.customers.repository import REPLICA
from services.sales.customers.tables import CustomerReplica
from services.sales.database import Base
from services.sales.leads import rules, service
from services.sales.leads.schemas import ConvertIn, LeadCreate, ScoringRulesIn
from services.sales.leads.tables import CustomerMatchKey
from shared.consumer import Delivery
from shared.db import PLATFORM_METADATA, OutboxRecord, make_engine, make_sessions, utcnow
from shared.errors import Conflict, InvalidInput, ServiceUnavailable
from tests.support.events import cloud_event

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)

# --- rules -----------------------------------------------------------------------------------


def test_email_keys_ignore_case_and_surrounding_space() -> None:
    assert rules.email_key("  Ada.Example@ACME.com ") == rules.email_key("ada.example@acme.com") == "ada.example@acme.com"
    assert rules.email_key("   ") is None


def test_phone_keys_are_e164_whatever_the_punctuation() -> None:
    assert rules.phone_key("+49 30 1234567") == rules.phone_key("+49301234567") == "+49301234567"
    assert rules.phone_key("0049 (30) 123-4567") == "+49301234567"
    assert rules.phone_key("030 1234567") is None  # a national number cannot be compared safely


def test_company_domain_comes_from_the_email_but_not_from_free_mail() -> None:
    assert rules.domain_key("bob@Acme.COM") == "acme.com"
    for free in ("x@gmail.com", "x@outlook.com", "x@yahoo.com", "x@web.de", "x@gmx.de"):
        assert rules.domain_key(free) is None
    assert rules.match_keys("Bob@acme.com", "+49 30 1").pairs() == [("email", "bob@acme.com"), ("domain", "acme.com")]


def test_customer_keys_cover_every_email_phone_and_company_domain_of_the_view() -> None:
    view = {"profile": {"emails": [{"address": "Ada@Acme.com"}, {"address": "ada@gmail.com"}],
                        "phones": [{"number": "+49 30 1234567"}, {"number": "not a phone"}]}}
    assert rules.customer_keys(view) == {("email", "ada@acme.com"), ("domain", "acme.com"),
                                         ("email", "ada@gmail.com"), ("phone", "+49301234567")}
    assert rules.customer_keys(None) == set()


def test_the_strongest_evidence_names_the_duplicate() -> None:
    assert rules.strongest_match({"domain": ["d"], "phone": ["p"]}) == ("phone", "p")
    assert rules.strongest_match({"email": [], "domain": []}) is None


def test_a_duplicate_fills_blanks_and_never_overwrites() -> None:
    assert rules.fill_blanks({"company": "Acme", "phone": None}, {"company": "ACME Inc", "phone": "+4930123456"}) == {
        "phone": "+4930123456"}


def test_a_refused_transition_names_the_allowed_ones() -> None:
    rules.check_transition("new", "working")
    with pytest.raises(Conflict, match="Allowed from qualified: disqualified, converted"):
        rules.check_transition("qualified", "working")
    with pytest.raises(Conflict, match="none"):
        rules.check_transition("converted", "qualified")


def test_scoring_explains_every_point() -> None:
    facts = rules.lead_facts({"employees": 1200, "source": "web", "responses": 3,
                              "last_engaged_at": NOW - timedelta(days=2)}, customer={"value_tier": "A"}, now=NOW)
    points, reasons = rules.score(facts, rules.DEFAULT_SCORING)
    assert [r["rule"] for r in reasons] == ["fit.enterprise", "fit.customer_tier_a", "engagement.responded",
                                            "engagement.responded_often", "engagement.recent_week"]
    assert points == sum(r["points"] for r in reasons) == 75


def test_fit_falls_back_to_the_matching_customers_profile() -> None:
    facts = rules.lead_facts({"employees": None, "country": "DE"}, customer={"employees": 80, "country": "FR"},
                             now=NOW)
    assert (facts["employees"], facts["country"], facts["recency_days"]) == (80, "DE", None)


def test_a_score_is_never_negative_and_text_rules_ignore_case() -> None:
    rule = rules.ScoringRule("fit.bad_industry", "industry", -30, values=("Gambling",))
    assert rules.score({"industry": "gambling"}, [rule]) == (0, [{"rule": "fit.bad_industry", "points": -30}])


@pytest.mark.parametrize(("rule", "field"), [
    (rules.ScoringRule("a", "industry", 5), "rules[0].values"),
    (rules.ScoringRule("a", "employees", 5), "rules[0].min"),
    (rules.ScoringRule("a", "employees", 5, values=("x",)), "rules[0].values"),
    (rules.ScoringRule("a", "responses", 5, minimum=3, maximum=1), "rules[0].max"),
])
def test_a_scoring_rule_that_can_never_match_is_refused_naming_its_field(rule: rules.ScoringRule, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.check_scoring_rules([rule])
    assert refused.value.errors == [{"field": field, "message": refused.value.errors[0]["message"]}]


def test_a_converted_lead_becomes_an_organization_or_a_person() -> None:
    assert rules.customer_body({"company": "Acme", "email": "a@acme.com", "country": "DE"}) == {
        "kind": "organization", "organization_name": "Acme", "country": "DE",
        "emails": [{"address": "a@acme.com", "primary": True}]}
    assert rules.customer_body({"given_name": "Ada", "family_name": "Lovelace"})["kind"] == "person"
    with pytest.raises(InvalidInput):
        rules.customer_body({"email": "a@acme.com"})


def test_events_never_carry_personal_values() -> None:
    assert rules.public_changes({"email": {"old": "a@x.com", "new": "b@x.com"}, "industry": {"old": None, "new": "IT"}}) == {
        "email": {"changed": True}, "industry": {"old": None, "new": "IT"}}


# --- use cases -----------------------------------------------------------------------------

TENANT = "acme"
CUSTOMER = uuid.UUID(int=7)


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'sales.db'}")
    PLATFORM_METADATA.create_all(engine)
    Base.metadata.create_all(engine)
    with make_sessions(engine)() as session:
        yield session
    engine.dispose()


def _replicate(db: Session, customer_id: uuid.UUID, version: int, profile: dict[str, Any]) -> None:
    event = cloud_event(service="customer", event_type="crm.customer.view.updated.v1", subject=str(customer_id),
                        tenant=TENANT, data={"version": version, "profile": profile}, sequence=version)
    REPLICA.apply(db, Delivery(topic="crm.customer_view.v1", key=str(customer_id), event=event))
    db.flush()


def _events(db: Session) -> list[tuple[str, str, dict[str, Any]]]:
    return [(r.type, r.key, r.data) for r in db.scalars(select(OutboxRecord).order_by(OutboxRecord.sequence))]


def _create(db: Session, **fields: Any) -> service.Shown:
    return service.create_lead(db, TENANT, LeadCreate.model_validate(fields))


def _any_version(version: int) -> None:
    pass


def test_a_lead_is_created_scored_and_announced_without_personal_data(db: Session) -> None:
    shown = _create(db, email="ada@acme.com", given_name="Ada", company="Acme", employees=200, source="web")
    lead = shown.lead
    assert (lead.status, lead.score, lead.score_reasons) == ("new", 10, [{"rule": "fit.mid_size", "points": 10}])
    [(event_type, key, data)] = _events(db)
    assert (event_type, key) == ("crm.sales.lead.created.v1", str(lead.id))
    assert "ada" not in str(data).lower() and data["company"] == "Acme"


def test_an_empty_lead_is_refused_naming_email(db: Session) -> None:
    with pytest.raises(InvalidInput) as refused:
        _create(db, source="web")
    assert refused.value.errors is not None and refused.value.errors[0]["field"] == "email"


@pytest.mark.parametrize(("first", "second", "kind"), [
    ({"email": "Ada@Acme.com"}, {"email": "  ada@acme.COM "}, "email"),
    ({"phone": "+49 30 1234567", "email": "a@gmail.com"}, {"phone": "+49301234567", "email": "b@gmail.com"}, "phone"),
    ({"email": "ada@acme.com"}, {"email": "bob@acme.com", "company": "Acme"}, "domain"),
])
def test_a_duplicate_of_an_open_lead_folds_into_its_history(db: Session, first: dict[str, Any],
                                                            second: dict[str, Any], kind: str) -> None:
    original = _create(db, **first).lead
    again = _create(db, **second, note="met at the fair")
    assert again.lead.id == original.id and again.duplicate_of == original.id and again.matched_on == [kind]
    assert service.list_leads(db, TENANT, service.PageRequest(limit=10, after=None), {}) and len(
        service.list_leads(db, TENANT, service.PageRequest(limit=10, after=None), {})) == 1
    actions = [h.action for h in service.history(db, TENANT, original.id, service.PageRequest(limit=10, after=None))]
    assert actions == ["created", "merged"]
    assert _events(db)[-1][0] == "crm.sales.lead.merged.v1" and _events(db)[-1][2]["duplicate_of"] == str(original.id)


def test_free_mail_addresses_at_one_provider_are_two_leads(db: Session) -> None:
    assert _create(db, email="ada@gmail.com").lead.id != _create(db, email="bob@gmail.com").lead.id


def test_a_closed_lead_is_no_duplicate_target(db: Session) -> None:
    first = _create(db, email="ada@acme.com").lead
    service.disqualify(db, TENANT, first.id, "no budget", check_version=_any_version)
    assert _create(db, email="ada@acme.com").lead.id != first.id


def test_a_lead_matching_a_customer_links_it_and_scores_its_tier(db: Session) -> None:
    _replicate(db, CUSTOMER, 3, {"kind": "organization", "display_name": "Acme", "value_tier": "A",
                                 "emails": [{"address": "info@acme.com"}], "phones": [{"number": "+49301234567"}]})
    by_domain = _create(db, email="someone@ACME.com").lead
    assert by_domain.customer_id == CUSTOMER and {"rule": "fit.customer_tier_a", "points": 20} in by_domain.score_reasons
    by_phone = _create(db, phone="+49 30 1234567", email="x@gmail.com")
    assert (by_phone.lead.id, by_phone.matched_on) == (by_domain.id, ["customer"])  # that customer's open lead


def test_match_keys_follow_the_newest_view_and_its_erasure(db: Session) -> None:
    _replicate(db, CUSTOMER, 3, {"emails": [{"address": "old@acme.com"}]})
    _replicate(db, CUSTOMER, 5, {"emails": [{"address": "new@beta.com"}]})
    _replicate(db, CUSTOMER, 4, {"emails": [{"address": "late@gamma.com"}]})  # older: not applied
    keys = {(k.kind, k.value) for k in db.scalars(select(CustomerMatchKey))}
    assert keys == {("email", "new@beta.com"), ("domain", "beta.com")}
    REPLICA.forget(db, CUSTOMER)
    assert list(db.scalars(select(CustomerMatchKey))) == []


def test_status_changes_follow_the_life_cycle(db: Session) -> None:
    lead = _create(db, email="ada@acme.com").lead
    service.update_lead(db, TENANT, lead.id, {"status": "working"}, check_version=_any_version)
    service.qualify(db, TENANT, lead.id, "budget confirmed", check_version=_any_version)
    with pytest.raises(Conflict, match="Allowed from qualified"):
        service.update_lead(db, TENANT, lead.id, {"status": "working"}, check_version=_any_version)
    assert [e[0] for e in _events(db)][-2:] == ["crm.sales.lead.updated.v1", "crm.sales.lead.qualified.v1"]
    assert _events(db)[-1][2]["reason"] == "budget confirmed"


def test_a_patch_rekeys_the_lead_and_announces_only_that_the_email_changed(db: Session) -> None:
    lead = _create(db, email="ada@acme.com").lead
    service.update_lead(db, TENANT, lead.id, {"email": "ada@beta.com"}, check_version=_any_version)
    assert (lead.email_key, lead.domain_key, lead.touched_at is not None) == ("ada@beta.com", "beta.com", True)
    assert _events(db)[-1][2]["changes"] == {"email": {"changed": True}}


def _never(body: dict[str, Any], key: str) -> uuid.UUID:
    raise AssertionError("no customer should be created")


def test_converting_into_a_new_customer_uses_one_key_per_lead_and_records_both_ids(db: Session) -> None:
    lead = _create(db, email="ada@acme.com", company="Acme").lead
    calls: list[tuple[dict[str, Any], str]] = []
    new_id = uuid.UUID(int=99)

    def create(body: dict[str, Any], key: str) -> uuid.UUID:
        calls.append((body, key))
        return new_id

    body = ConvertIn.model_validate({"opportunity": {"name": "Acme deal", "amount": {"amount": "1000", "currency": "EUR"}}})
    converted = service.convert(db, TENANT, lead.id, body, new_customer=create).lead
    assert calls == [({"kind": "organization", "organization_name": "Acme",
                       "emails": [{"address": "ada@acme.com", "primary": True}]}, f"lead-conversion-{lead.id}")]
    assert (converted.status, converted.customer_id) == ("converted", new_id) and converted.opportunity_id is not None
    types = [e[0] for e in _events(db)]
    assert types[-2:] == ["crm.sales.opportunity.created.v1", "crm.sales.lead.converted.v1"]
    with pytest.raises(Conflict, match="converted already"):
        service.convert(db, TENANT, lead.id, ConvertIn(), new_customer=_never)


def test_converting_a_lead_of_a_known_customer_creates_no_customer(db: Session) -> None:
    _replicate(db, CUSTOMER, 3, {"kind": "organization", "emails": [{"address": "info@acme.com"}]})
    lead = _create(db, email="bob@acme.com").lead
    converted = service.convert(db, TENANT, lead.id, ConvertIn(), new_customer=_never).lead
    assert (converted.customer_id, converted.opportunity_id) == (CUSTOMER, None)


def test_the_customer_service_down_writes_nothing(db: Session) -> None:
    lead = _create(db, email="ada@acme.com", company="Acme").lead
    db.commit()
    before = len(_events(db))
    with pytest.raises(ServiceUnavailable):
        service.convert(db, TENANT, lead.id, ConvertIn(), new_customer=service.customer_service("http://127.0.0.1:9", None))
    assert lead.status == "new" and len(_events(db)) == before


def test_campaign_interest_makes_one_lead_and_opens_add_engagement(db: Session) -> None:
    _replicate(db, CUSTOMER, 3, {"kind": "organization", "organization_name": "Acme", "display_name": "Acme"})
    campaign = uuid.UUID(int=5)
    lead = service.take_response(db, TENANT, customer_id=CUSTOMER, campaign_id=campaign, kind="replied",
                                 campaign_name="Spring", occurred_at=utcnow())
    assert lead is not None and (lead.source, lead.campaign_id, lead.company, lead.responses) == (
        "campaign", campaign, "Acme", 1)
    again = service.take_response(db, TENANT, customer_id=CUSTOMER, campaign_id=campaign, kind="registered",
                                  campaign_name="Spring", occurred_at=utcnow())
    opened = service.take_response(db, TENANT, customer_id=CUSTOMER, campaign_id=campaign, kind="opened",
                                   campaign_name="Spring", occurred_at=utcnow())
    assert again is lead and opened is lead and lead.responses == 3
    assert {"rule": "engagement.responded_often", "points": 10} in lead.score_reasons
    assert service.take_response(db, TENANT, customer_id=uuid.UUID(int=8), campaign_id=campaign, kind="clicked",
                                 campaign_name="Spring", occurred_at=utcnow()) is None


def test_tenant_scoring_rules_replace_the_defaults(db: Session) -> None:
    rules_in = ScoringRulesIn.model_validate({"rules": [{"rule": "fit.dach", "field": "country",
                                                          "values": ["DE", "AT", "CH"], "points": 25}]})
    service.replace_scoring_rules(db, TENANT, rules_in, check_version=_any_version)
    lead = _create(db, email="ada@acme.com", country="AT", employees=5000).lead
    assert (lead.score, lead.score_reasons) == (25, [{"rule": "fit.dach", "points": 25}])
    assert service.scoring_rules_of(db, "other")[1] is True


def test_erasure_removes_personal_data_from_leads_and_their_history(db: Session) -> None:
    _replicate(db, CUSTOMER, 3, {"emails": [{"address": "ada@acme.com"}]})
    lead = _create(db, email="ada@acme.com", given_name="Ada", phone="+4930123456", company="Acme").lead
    service.erase_customer(db, TENANT, CUSTOMER)
    service.erase_customer(db, TENANT, CUSTOMER)  # a redelivery changes nothing more
    assert (lead.email, lead.phone, lead.given_name, lead.company, lead.email_key) == (
        None, None, "(erased)", "Acme", None)
    details = [h.details for h in service.history(db, TENANT, lead.id, service.PageRequest(limit=10, after=None))]
    assert details == [{"erased": True}]
    assert sum(1 for e in _events(db) if e[0] == "crm.sales.lead.updated.v1") == 1
