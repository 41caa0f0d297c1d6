"""Merging and unmerging customers: the rules without a database, and the use cases on a database of their own."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sqlalchemy.orm import Session

from services.customer import contract
from services.customer.customers import rules as customer_rules
from services.customer.customers import service as customers
from services.customer.customers.schemas import CustomerCreate
from services.customer.customers.tables import Customer
from services.customer.merging import rules, service
from shared.auth import Principal
from shared.errors import Conflict, InvalidInput, Moved
from tests.factories import person_body
from tests.unit.customer.conftest import TENANT, announced

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def _person(customer_id: str, age_days: int, consent: dict[str, str] | None = None, **fields: object) -> rules.Candidate:
    state = customer_rules.new_customer({"kind": "person", "given_name": "Ada", "family_name": "Lovelace"} | fields)
    return rules.Candidate(id=customer_id, state=state, updated_at=NOW - timedelta(days=age_days),
                           consent=consent or {})


def test_most_recent_non_empty_value_wins_and_empty_values_never_do() -> None:
    survivor = _person("s", 10, region="London", industry="Maths")
    newer = _person("d1", 1, region=None, industry="Computing")
    older = _person("d2", 5, region="Paris")
    outcome = rules.merge(survivor, [newer, older], {}, {}, NOW)
    assert outcome.state["industry"] == "Computing"
    assert outcome.provenance["industry"] == {"source": "d1", "rule": rules.MOST_RECENT, "at": NOW.isoformat()}
    assert outcome.state["region"] == "Paris"  # the newest record has none: the next newest counts
    assert outcome.provenance["region"]["source"] == "d2"


def test_contact_points_are_unioned_and_the_survivors_primary_stays_primary() -> None:
    survivor = _person("s", 10, emails=[{"address": "ada@old.example"}], tags=["vip"])
    duplicate = _person("d", 1, emails=[{"address": "ADA@new.example", "primary": True},
                                        {"address": "Ada@Old.example"}], tags=["VIP", "maths"])
    outcome = rules.merge(survivor, [duplicate], {}, {}, NOW)
    assert outcome.state["emails"] == [{"address": "ada@old.example", "primary": True},
                                       {"address": "ADA@new.example", "primary": False}]
    assert outcome.state["tags"] == ["vip", "maths"]
    assert outcome.provenance["emails"]["rule"] == rules.UNION
    assert outcome.provenance["emails"]["sources"] == ["s", "d"]


def test_caller_choices_beat_the_default_rules_field_by_field() -> None:
    survivor = _person("s", 10, family_name="Byron", custom_fields={"segment": "a", "score": 1})
    duplicate = _person("d", 1, family_name="King", custom_fields={"segment": "b"})
    outcome = rules.merge(survivor, [duplicate], {"family_name": "s", "custom_fields.segment": "s"}, {}, NOW)
    assert outcome.state["family_name"] == "Byron"
    assert outcome.provenance["family_name"]["rule"] == rules.CALLER_CHOICE
    assert outcome.state["custom_fields"] == {"segment": "a", "score": 1}
    assert outcome.provenance["custom_fields.segment"] == {"source": "s", "rule": rules.CALLER_CHOICE,
                                                           "at": NOW.isoformat()}


def test_choices_must_name_a_field_and_a_participant() -> None:
    with pytest.raises(InvalidInput):
        rules.merge(_person("s", 1), [_person("d", 2)], {"display_name": "s"}, {}, NOW)
    with pytest.raises(InvalidInput):
        rules.merge(_person("s", 1), [_person("d", 2)], {"region": "someone-else"}, {}, NOW)


def test_self_merge_too_many_and_repeated_duplicates_are_refused() -> None:
    for duplicates in ([], ["s"], ["d", "d"], [str(i) for i in range(rules.MAX_DUPLICATES + 1)]):
        with pytest.raises(InvalidInput):
            rules.check_participants("s", duplicates)


def test_a_person_and_an_organization_cannot_be_merged() -> None:
    organization = rules.Candidate(id="o", state=customer_rules.new_customer(
        {"kind": "organization", "organization_name": "Analytical Engines"}), updated_at=NOW)
    with pytest.raises(InvalidInput):
        rules.merge(_person("s", 1), [organization], {}, {}, NOW)


def test_a_link_into_the_merge_itself_is_not_taken() -> None:
    survivor = rules.Candidate(id="11111111-1111-1111-1111-111111111111", updated_at=NOW - timedelta(days=3),
                               state=customer_rules.new_customer({"kind": "organization", "organization_name": "Group"}))
    subsidiary = rules.Candidate(id="d", updated_at=NOW, state=customer_rules.new_customer(
        {"kind": "organization", "organization_name": "Group Ltd", "parent_id": survivor.id}))
    assert rules.merge(survivor, [subsidiary], {}, {}, NOW).state["parent_id"] is None


def test_differing_consent_is_refused_naming_the_channels() -> None:
    survivor = _person("s", 1, consent={"email": "opt_in", "sms": "opt_out"})
    duplicate = _person("d", 2, consent={"email": "opt_out", "sms": "opt_out"})
    with pytest.raises(Conflict) as refused:
        rules.merge(survivor, [duplicate], {}, {}, NOW)
    assert "email" in refused.value.detail and "sms" not in refused.value.detail
    assert refused.value.errors == [{"field": "consent.email", "message": "records disagree: d=opt_out, s=opt_in"}]


def test_unknown_against_a_recorded_status_is_a_difference_too() -> None:
    with pytest.raises(Conflict):
        rules.merge(_person("s", 1, consent={"phone": "opt_in"}), [_person("d", 2)], {}, {}, NOW)


def test_a_resolution_records_only_what_changes_on_the_survivor() -> None:
    survivor = _person("s", 1, consent={"email": "opt_in"})
    duplicate = _person("d", 2, consent={"email": "opt_out"})
    assert rules.merge(survivor, [duplicate], {}, {"email": "opt_out"}, NOW).consent == {"email": "opt_out"}
    survivor = _person("s", 1, consent={"email": "opt_out"})
    duplicate = _person("d", 2, consent={"email": "unknown"})
    assert rules.merge(survivor, [duplicate], {}, {"email": "opt_out"}, NOW).consent == {}


def test_a_merge_never_opts_a_customer_back_in() -> None:
    survivor = _person("s", 1, consent={"email": "opt_in"})
    duplicate = _person("d", 2, consent={"email": "opt_out"})
    with pytest.raises(InvalidInput) as refused:
        rules.merge(survivor, [duplicate], {}, {"email": "opt_in"}, NOW)
    assert refused.value.errors[0]["field"] == "consent.email"


def test_unmerge_restores_the_merges_values_but_keeps_later_changes() -> None:
    before = _person("s", 10, region="London", industry="Maths", custom_fields={"segment": "a"}).state
    after_merge = before | {"region": "Paris", "industry": "Computing", "custom_fields": {"segment": "b", "x": 1}}
    current = after_merge | {"industry": "Poetry", "custom_fields": {"segment": "b", "x": 2}}
    state, kept = rules.unmerged_survivor(before, after_merge, current)
    assert state["region"] == "London"  # untouched since the merge: back to before
    assert state["industry"] == "Poetry"  # changed since the merge: kept
    assert state["custom_fields"] == {"segment": "a", "x": 2}
    assert kept == ["industry", "custom_fields.x"]


def test_provenance_shows_the_merge_until_a_value_changes() -> None:
    survivor = _person("s", 10, region="London")
    duplicate = _person("d", 1, region="Paris")
    outcome = rules.merge(survivor, [duplicate], {}, {}, NOW)
    later = NOW + timedelta(hours=1)
    shown = rules.provenance("s", outcome.state | {"owner": "Bob"}, later, [(outcome.state, outcome.provenance)])
    assert shown["region"] == {"source": "d", "rule": rules.MOST_RECENT, "at": NOW.isoformat()}
    assert shown["owner"] == {"source": "s", "rule": rules.DIRECT, "at": later.isoformat()}


# --- the use cases, on a database of their own ---------------------------------------------

WHO = Principal(subject="dev", tenant=TENANT, scopes=frozenset({"customers:write"}))


def _create(db: Session, given: str, **fields: object) -> Customer:
    body = CustomerCreate.model_validate(person_body(given, **fields)).model_dump(mode="json")
    return customers.create_customer(db, TENANT, body).customer


def test_a_merge_announces_the_survivor_and_an_unmerge_gives_the_records_back(db: Session) -> None:
    keep, twin = _create(db, "Keep", region="London"), _create(db, "Twin", region="Paris")
    record, survivor = service.merge(db, WHO, keep.id, [twin.id], {}, {}, NOW)
    assert survivor is keep and twin.merged_into == keep.id
    _, key, merged = announced(db, contract.CUSTOMER_MERGED.name)[0]
    assert key == str(keep.id) and merged["merged_ids"] == [str(twin.id)]
    assert merged["merge_id"] == str(record.id) and merged["customer"]["id"] == str(keep.id)
    with pytest.raises(Moved):
        customers.found(db, TENANT, twin.id, redirect=True)
    with pytest.raises(Conflict):
        customers.found(db, TENANT, twin.id)
    undone = service.unmerge(db, WHO, keep.id, None, NOW)
    assert [r.id for r in undone.restored] == [twin.id] and twin.merged_into is None
    _, _, unmerged = announced(db, contract.CUSTOMER_UNMERGED.name)[0]
    assert unmerged["restored_ids"] == [str(twin.id)] and unmerged["restored"][0]["region"] == "Paris"
    assert customers.found(db, TENANT, twin.id) is twin
