"""Rules of the full customer model, search, custom fields and consent, tested without a database."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.customer.domain import consent, custom_fields, customers, search
from shared.errors import BadRequest, InvalidInput

ORG = {"kind": "organization", "organization_name": "Ångström AB"}
PERSON = {"kind": "person", "given_name": "Zoë", "family_name": "Müller"}


def _kinds(known: dict[str, str]):  # type: ignore[no-untyped-def]
    return lambda other: known.get(other)


def _parents(tree: dict[str, str]):  # type: ignore[no-untyped-def]
    def ancestors(node: str) -> list[str]:
        chain = []
        while node in tree:
            node = tree[node]
            chain.append(node)
        return chain
    return ancestors


def test_search_name_drops_accents_case_and_extra_spaces() -> None:
    assert customers.search_name("  Ångström   HOLDING ") == "angstrom holding"
    assert customers.search_name("Straße") == "strasse"


def test_phone_key_ignores_formatting() -> None:
    assert customers.phone_key("+49 (30) 1234-567") == customers.phone_key("0049301234567") == "49301234567"


def test_exactly_one_primary_address_and_repeats_dropped() -> None:
    state = customers.new_customer(ORG | {"addresses": [
        {"line1": "Storgatan 1", "city": "Stockholm", "country": "SE"},
        {"line1": "STORGATAN 1", "city": "stockholm", "country": "SE"},
        {"line1": "Main St 2", "city": "Oslo", "country": "NO", "primary": True}]})
    assert [a["primary"] for a in state["addresses"]] == [False, True]
    assert state["addresses"][0]["line2"] is None


def test_tags_are_lower_case_and_unique() -> None:
    assert customers.new_customer(ORG | {"tags": ["Key", "key ", "Gold"]})["tags"] == ["key", "gold"]


@pytest.mark.parametrize(("tag", "canonical"), [("en", "en"), ("DE-ch", "de-CH"), ("zh-hans-cn", "zh-Hans-CN"),
                                                ("es-419", "es-419")])
def test_language_tags_are_canonical(tag: str, canonical: str) -> None:
    assert customers.language_tag(tag) == canonical


@pytest.mark.parametrize("tag", ["english", "xx", "en_US", "e", "de-CHE-", ""])
def test_bad_language_tags_are_refused(tag: str) -> None:
    with pytest.raises(ValueError):
        customers.language_tag(tag)


def test_money_takes_the_currency_decimals_and_refuses_more() -> None:
    assert customers.money({"amount": "10.5", "currency": "EUR"}, "credit_limit") == {"amount": "10.50", "currency": "EUR"}
    assert customers.money({"amount": "100", "currency": "JPY"}, "credit_limit") == {"amount": "100", "currency": "JPY"}
    with pytest.raises(InvalidInput):
        customers.money({"amount": "1.001", "currency": "EUR"}, "credit_limit")
    with pytest.raises(InvalidInput):
        customers.money({"amount": "-1", "currency": "EUR"}, "credit_limit")


def test_an_organization_hierarchy_refuses_cycles() -> None:
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    kinds = _kinds({a: "organization", b: "organization", c: "organization"})
    tree = {b: a, c: b}  # a <- b <- c
    customers.check_links(ORG | {"parent_id": b}, str(uuid.uuid4()), kinds, _parents(tree))
    with pytest.raises(InvalidInput) as raised:
        customers.check_links(ORG | {"parent_id": c}, a, kinds, _parents(tree))
    assert raised.value.errors == [{"field": "parent_id", "message": "this parent would make the hierarchy a cycle"}]
    with pytest.raises(InvalidInput):
        customers.check_links(ORG | {"parent_id": a}, a, kinds, _parents(tree))


def test_parents_are_organizations_and_persons_have_none() -> None:
    person, org = str(uuid.uuid4()), str(uuid.uuid4())
    kinds = _kinds({person: "person", org: "organization"})
    with pytest.raises(InvalidInput, match="not a person"):
        customers.check_links(ORG | {"parent_id": person}, None, kinds, _parents({}))
    with pytest.raises(InvalidInput, match="only organizations"):
        customers.check_links(PERSON | {"parent_id": org}, None, kinds, _parents({}))
    with pytest.raises(InvalidInput, match="no customer"):
        customers.check_links(ORG | {"parent_id": str(uuid.uuid4())}, None, kinds, _parents({}))


def test_persons_link_to_organizations_with_a_role() -> None:
    person, org = str(uuid.uuid4()), str(uuid.uuid4())
    kinds = _kinds({person: "person", org: "organization"})
    customers.check_links(PERSON | {"organization_id": org, "organization_role": "CFO"}, None, kinds, _parents({}))
    with pytest.raises(InvalidInput):
        customers.check_links(PERSON | {"organization_id": person}, None, kinds, _parents({}))
    with pytest.raises(InvalidInput):
        customers.check_links(PERSON | {"organization_role": "CFO"}, None, kinds, _parents({}))


def test_update_reports_old_and_new_and_custom_fields_merge() -> None:
    current = customers.new_customer(ORG | {"custom_fields": {"segment": "gold", "since": "2020-01-01"}})
    updated, diff = customers.change_customer(current, {"custom_fields": {"segment": "silver", "since": None},
                                                        "employees": 12})
    assert updated["custom_fields"] == {"segment": "silver"}
    assert diff == {"custom_fields": {"old": {"segment": "gold", "since": "2020-01-01"}, "new": {"segment": "silver"}},
                    "employees": {"old": None, "new": 12}}


def test_masking_hides_a_persons_contact_details_and_names() -> None:
    now = datetime.now(timezone.utc)
    document = customers.customer_document(
        customers.new_customer(PERSON | {"emails": [{"address": "zoe@example.com"}], "phones": [{"number": "+4930123456"}],
                                         "addresses": [{"line1": "Hauptstr. 1", "city": "Berlin", "country": "DE"}]}),
        customer_id=uuid.uuid4(), version=1, created_at=now, updated_at=now)
    masked = customers.masked(document)
    assert masked["emails"][0]["address"] == "z***@example.com"
    assert masked["phones"][0]["number"].endswith("56") and "0123" not in masked["phones"][0]["number"]
    assert masked["addresses"][0]["line1"] == "***" and masked["addresses"][0]["city"] == "Berlin"
    assert masked["display_name"] == "Z*** M***" and masked["pii_masked"] is True
    organization = customers.customer_document(customers.new_customer(ORG), customer_id=uuid.uuid4(), version=1,
                                               created_at=now, updated_at=now)
    assert customers.masked(organization)["display_name"] == "Ångström AB"


# --- search -------------------------------------------------------------------------------------


def test_sort_and_cursor_round_trip() -> None:
    order = search.parse_sort("-created_at")
    assert order == search.Sort("created_at", True)
    last = uuid.uuid4()
    when = datetime(2026, 1, 2, tzinfo=timezone.utc)
    cursor = search.decode_cursor(search.encode_cursor(order, last, when), order)
    assert cursor == search.Cursor(last, when)
    with pytest.raises(BadRequest):
        search.decode_cursor(search.encode_cursor(order, last, when), search.parse_sort("display_name"))
    with pytest.raises(InvalidInput):
        search.parse_sort("shoe_size")


def test_default_cursor_keeps_the_shared_shape() -> None:
    from shared.http import decode_cursor

    last = uuid.uuid4()
    assert decode_cursor(search.encode_cursor(search.DEFAULT_SORT, last, None)) == last


def test_prefix_bound_and_like_escaping() -> None:
    assert search.prefix_upper_bound("abc") == "abd"
    assert search.like_escaped("50%_off") == "50\\%\\_off"


# --- custom fields ------------------------------------------------------------------------------

DEFINITIONS = {
    "segment": custom_fields.check_definition({"name": "segment", "type": "choice", "choices": ["gold", "silver"]}),
    "since": custom_fields.check_definition({"name": "since", "type": "date", "required": True}),
    "seats": custom_fields.check_definition({"name": "seats", "type": "number"}),
    "note": custom_fields.check_definition({"name": "note", "type": "text"}),
}


def test_custom_field_values_are_checked_by_type() -> None:
    values = custom_fields.check_values({"segment": "gold", "since": "2024-02-29", "seats": "12", "note": "hi"},
                                        DEFINITIONS, creating=True)
    assert values == {"segment": "gold", "since": "2024-02-29", "seats": 12, "note": "hi"}
    with pytest.raises(InvalidInput) as raised:
        custom_fields.check_values({"segment": "bronze", "since": "2024-02-30", "seats": True, "colour": "red"},
                                   DEFINITIONS, creating=True)
    assert {e["field"] for e in raised.value.errors or []} == {
        "custom_fields.segment", "custom_fields.since", "custom_fields.seats", "custom_fields.colour"}


def test_required_custom_fields_are_needed_on_create_and_cannot_be_removed() -> None:
    with pytest.raises(InvalidInput, match="custom_fields.since: required"):
        custom_fields.check_values({}, DEFINITIONS, creating=True)
    with pytest.raises(InvalidInput):
        custom_fields.check_values({"since": None}, DEFINITIONS, creating=False)
    assert custom_fields.check_values({"seats": None}, DEFINITIONS, creating=False) == {"seats": None}


def test_custom_field_definitions_are_consistent() -> None:
    with pytest.raises(InvalidInput):
        custom_fields.check_definition({"name": "Bad Name", "type": "text"})
    with pytest.raises(InvalidInput):
        custom_fields.check_definition({"name": "tier", "type": "choice", "choices": []})
    with pytest.raises(InvalidInput):
        custom_fields.check_definition({"name": "tier", "type": "text", "choices": ["a"]})


# --- consent ------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)


def test_an_opt_in_needs_the_wording_shown() -> None:
    with pytest.raises(InvalidInput, match="wording"):
        consent.record(channel="email", status="opt_in", source="web", wording=None, recorded_at=None,
                       previous="unknown", recorded_by="dev", now=NOW)
    record = consent.record(channel="email", status="opt_out", source="unsubscribe link", wording=None,
                            recorded_at=None, previous="opt_in", recorded_by="dev", now=NOW)
    assert record["recorded_at"] == NOW and record["previous_status"] == "opt_in"


def test_consent_is_never_dated_ahead_and_unknown_by_default() -> None:
    with pytest.raises(InvalidInput):
        consent.record(channel="sms", status="opt_out", source="x", wording=None, recorded_at=NOW + timedelta(hours=1),
                       previous="unknown", recorded_by="dev", now=NOW)
    assert {c: s["status"] for c, s in consent.current({}).items()} == {"email": "unknown", "sms": "unknown",
                                                                       "phone": "unknown"}
