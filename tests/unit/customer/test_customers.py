"""The customer master: its rules (identity, contact points, hierarchy, money, masking, search) without a
database, and its use cases on a database of their own."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from sqlalchemy.orm import Session

from services.customer import contract
from services.customer.customers import rules, service
from services.customer.customers.schemas import CustomerCreate
from shared.errors import BadRequest, Conflict, InvalidInput, PreconditionFailed
from tests.factories import person_body
from tests.unit.customer.conftest import TENANT, announced

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
    assert rules.search_name("  Ångström   HOLDING ") == "angstrom holding"
    assert rules.search_name("Straße") == "strasse"


def test_phone_key_ignores_formatting() -> None:
    assert rules.phone_key("+49 (30) 1234-567") == rules.phone_key("0049301234567") == "49301234567"


def test_exactly_one_primary_address_and_repeats_dropped() -> None:
    state = rules.new_customer(ORG | {"addresses": [
        {"line1": "Storgatan 1", "city": "Stockholm", "country": "SE"},
        {"line1": "STORGATAN 1", "city": "stockholm", "country": "SE"},
        {"line1": "Main St 2", "city": "Oslo", "country": "NO", "primary": True}]})
    assert [a["primary"] for a in state["addresses"]] == [False, True]
    assert state["addresses"][0]["line2"] is None


def test_tags_are_lower_case_and_unique() -> None:
    assert rules.new_customer(ORG | {"tags": ["Key", "key ", "Gold"]})["tags"] == ["key", "gold"]


@pytest.mark.parametrize(("tag", "canonical"), [("en", "en"), ("DE-ch", "de-CH"), ("zh-hans-cn", "zh-Hans-CN"),
                                                ("es-419", "es-419")])
def test_language_tags_are_canonical(tag: str, canonical: str) -> None:
    assert rules.language_tag(tag) == canonical


@pytest.mark.parametrize("tag", ["english", "xx", "en_US", "e", "de-CHE-", ""])
def test_bad_language_tags_are_refused(tag: str) -> None:
    with pytest.raises(ValueError):
        rules.language_tag(tag)


def test_money_takes_the_currency_decimals_and_refuses_more() -> None:
    assert rules.money({"amount": "10.5", "currency": "EUR"}, "credit_limit") == {"amount": "10.50", "currency": "EUR"}
    assert rules.money({"amount": "100", "currency": "JPY"}, "credit_limit") == {"amount": "100", "currency": "JPY"}
    with pytest.raises(InvalidInput):
        rules.money({"amount": "1.001", "currency": "EUR"}, "credit_limit")
    with pytest.raises(InvalidInput):
        rules.money({"amount": "-1", "currency": "EUR"}, "credit_limit")


def test_an_organization_hierarchy_refuses_cycles() -> None:
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    kinds = _kinds({a: "organization", b: "organization", c: "organization"})
    tree = {b: a, c: b}  # a <- b <- c
    rules.check_links(ORG | {"parent_id": b}, str(uuid.uuid4()), kinds, _parents(tree))
    with pytest.raises(InvalidInput) as raised:
        rules.check_links(ORG | {"parent_id": c}, a, kinds, _parents(tree))
    assert raised.value.errors == [{"field": "parent_id", "message": "this parent would make the hierarchy a cycle"}]
    with pytest.raises(InvalidInput):
        rules.check_links(ORG | {"parent_id": a}, a, kinds, _parents(tree))


def test_parents_are_organizations_and_persons_have_none() -> None:
    person, org = str(uuid.uuid4()), str(uuid.uuid4())
    kinds = _kinds({person: "person", org: "organization"})
    with pytest.raises(InvalidInput, match="not a person"):
        rules.check_links(ORG | {"parent_id": person}, None, kinds, _parents({}))
    with pytest.raises(InvalidInput, match="only organizations"):
        rules.check_links(PERSON | {"parent_id": org}, None, kinds, _parents({}))
    with pytest.raises(InvalidInput, match="no customer"):
        rules.check_links(ORG | {"parent_id": str(uuid.uuid4())}, None, kinds, _parents({}))


def test_persons_link_to_organizations_with_a_role() -> None:
    person, org = str(uuid.uuid4()), str(uuid.uuid4())
    kinds = _kinds({person: "person", org: "organization"})
    rules.check_links(PERSON | {"organization_id": org, "organization_role": "CFO"}, None, kinds, _parents({}))
    with pytest.raises(InvalidInput):
        rules.check_links(PERSON | {"organization_id": person}, None, kinds, _parents({}))
    with pytest.raises(InvalidInput):
        rules.check_links(PERSON | {"organization_role": "CFO"}, None, kinds, _parents({}))


def test_update_reports_old_and_new_and_custom_fields_merge() -> None:
    current = rules.new_customer(ORG | {"custom_fields": {"segment": "gold", "since": "2020-01-01"}})
    updated, diff = rules.change_customer(current, {"custom_fields": {"segment": "silver", "since": None},
                                                        "employees": 12})
    assert updated["custom_fields"] == {"segment": "silver"}
    assert diff == {"custom_fields": {"old": {"segment": "gold", "since": "2020-01-01"}, "new": {"segment": "silver"}},
                    "employees": {"old": None, "new": 12}}


def test_masking_hides_a_persons_contact_details_and_names() -> None:
    now = datetime.now(timezone.utc)
    document = rules.customer_document(
        rules.new_customer(PERSON | {"emails": [{"address": "zoe@example.com"}], "phones": [{"number": "+4930123456"}],
                                         "addresses": [{"line1": "Hauptstr. 1", "city": "Berlin", "country": "DE"}]}),
        customer_id=uuid.uuid4(), version=1, created_at=now, updated_at=now)
    masked = rules.masked(document)
    assert masked["emails"][0]["address"] == "z***@example.com"
    assert masked["phones"][0]["number"].endswith("56") and "0123" not in masked["phones"][0]["number"]
    assert masked["addresses"][0]["line1"] == "***" and masked["addresses"][0]["city"] == "Berlin"
    assert masked["display_name"] == "Z*** M***" and masked["pii_masked"] is True
    organization = rules.customer_document(rules.new_customer(ORG), customer_id=uuid.uuid4(), version=1,
                                               created_at=now, updated_at=now)
    assert rules.masked(organization)["display_name"] == "Ångström AB"


# --- search -------------------------------------------------------------------------------------


def test_sort_and_cursor_round_trip() -> None:
    order = rules.parse_sort("-created_at")
    assert order == rules.Sort("created_at", True)
    last = uuid.uuid4()
    when = datetime(2026, 1, 2, tzinfo=timezone.utc)
    cursor = rules.decode_cursor(rules.encode_cursor(order, last, when), order)
    assert cursor == rules.Cursor(last, when)
    with pytest.raises(BadRequest):
        rules.decode_cursor(rules.encode_cursor(order, last, when), rules.parse_sort("display_name"))
    with pytest.raises(InvalidInput):
        rules.parse_sort("shoe_size")


def test_default_cursor_keeps_the_shared_shape() -> None:
    from shared.http import decode_cursor

    last = uuid.uuid4()
    assert decode_cursor(rules.encode_cursor(rules.DEFAULT_SORT, last, None)) == last


def test_prefix_bound_and_like_escaping() -> None:
    assert rules.prefix_upper_bound("abc") == "abd"
    assert rules.like_escaped("50%_off") == "50\\%\\_off"


# --- identity, creating and changing -----------------------------------------------------------

ADA = {"kind": "person", "given_name": "Ada", "family_name": "Lovelace"}


def test_person_needs_both_names() -> None:
    with pytest.raises(InvalidInput) as raised:
        rules.new_customer({"kind": "person", "given_name": "Ada"})
    assert raised.value.errors == [{"field": "family_name", "message": "required for a person"}]


def test_organization_needs_its_name() -> None:
    with pytest.raises(InvalidInput):
        rules.new_customer({"kind": "organization", "given_name": "Ada"})
    state = rules.new_customer({"kind": "organization", "organization_name": "Babbage & Co"})
    assert rules.display_name(state) == "Babbage & Co"


def test_first_contact_point_becomes_primary_and_repeats_are_dropped() -> None:
    state = rules.new_customer(ADA | {"emails": [{"address": "Ada@Example.com"}, {"address": "ada@example.com"},
                                                     {"address": "ada@work.example"}]})
    assert state["emails"] == [{"address": "Ada@Example.com", "primary": True},
                               {"address": "ada@work.example", "primary": False}]


def test_change_reports_only_real_changes() -> None:
    current = rules.new_customer(ADA | {"region": "London"})
    updated, diff = rules.change_customer(current, {"region": "London", "family_name": "King"})
    assert diff == {"family_name": {"old": "Lovelace", "new": "King"}}
    assert rules.display_name(updated) == "Ada King"


def test_clearing_a_required_name_is_refused() -> None:
    with pytest.raises(InvalidInput):
        rules.change_customer(rules.new_customer(ADA), {"family_name": None})


# --- the use cases, on a database of their own ---------------------------------------------


def _any_version(version: int) -> None:
    pass


def _body(fields: dict[str, object]) -> dict[str, object]:
    """A create body as the route hands it over: validated, as JSON."""
    return CustomerCreate.model_validate(fields).model_dump(mode="json")


def _create(db: Session, given: str, **fields: object) -> service.Created:
    return service.create_customer(db, TENANT, _body(person_body(given, **fields)))


def test_creating_a_customer_announces_its_document_and_names_possible_duplicates(db: Session) -> None:
    first = _create(db, "Ada")
    again = _create(db, "Augusta", emails=[{"address": "ADA@example.com"}])
    assert first.possible_duplicates == [] and again.possible_duplicates == [first.customer.id]
    (event_type, key, data), _ = announced(db)
    assert (event_type, key) == (contract.CUSTOMER_CREATED.name, str(first.customer.id))
    assert data["customer"]["display_name"] == "Ada Example" and data["customer"]["version"] == 1
    assert data["customer"]["emails"] == [{"address": "ada@example.com", "primary": True}]


def test_a_change_announces_old_and_new_and_one_that_changes_nothing_announces_nothing(db: Session) -> None:
    created = _create(db, "Ada")
    same = service.change_customer(db, TENANT, created.customer.id, {"given_name": "Ada"}, check_version=_any_version)
    assert same.version == 1 and len(announced(db)) == 1
    changed = service.change_customer(db, TENANT, created.customer.id, {"family_name": "King"},
                                      check_version=_any_version)
    assert changed.version == 2 and changed.display_name == "Ada King"
    event_type, _, data = announced(db)[-1]
    assert event_type == contract.CUSTOMER_UPDATED.name
    assert data["changes"] == {"family_name": {"old": "Example", "new": "King"}}


def test_a_stale_version_is_refused_before_anything_is_written(db: Session) -> None:
    created = _create(db, "Ada")

    def stale(version: int) -> None:
        raise PreconditionFailed(f"at {version}")

    with pytest.raises(PreconditionFailed):
        service.change_customer(db, TENANT, created.customer.id, {"family_name": "King"}, check_version=stale)
    with pytest.raises(PreconditionFailed):
        service.delete_customer(db, TENANT, created.customer.id, check_version=stale)
    assert len(announced(db)) == 1


def test_an_organization_goes_only_once_nobody_points_at_it(db: Session) -> None:
    org = service.create_customer(db, TENANT, _body({"kind": "organization", "organization_name": "Babbage & Co"}))
    ada = _create(db, "Ada", organization_id=str(org.customer.id), organization_role="CFO").customer
    org = org.customer
    with pytest.raises(Conflict):
        service.delete_customer(db, TENANT, org.id, check_version=_any_version)
    service.delete_customer(db, TENANT, ada.id, check_version=_any_version)
    service.delete_customer(db, TENANT, org.id, check_version=_any_version)
    assert [t for t, _, _ in announced(db)][-2:] == [contract.CUSTOMER_DELETED.name] * 2
    assert announced(db)[-1][2] == {"customer_id": str(org.id)}
