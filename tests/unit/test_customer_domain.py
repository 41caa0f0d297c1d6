"""Rules of the customer master, tested without a database."""

from __future__ import annotations

import pytest

from services.customer.domain import customers as domain
from shared.errors import InvalidInput

PERSON = {"kind": "person", "given_name": "Ada", "family_name": "Lovelace"}


def test_person_needs_both_names() -> None:
    with pytest.raises(InvalidInput) as raised:
        domain.new_customer({"kind": "person", "given_name": "Ada"})
    assert raised.value.errors == [{"field": "family_name", "message": "required for a person"}]


def test_organization_needs_its_name() -> None:
    with pytest.raises(InvalidInput):
        domain.new_customer({"kind": "organization", "given_name": "Ada"})
    state = domain.new_customer({"kind": "organization", "organization_name": "Babbage & Co"})
    assert domain.display_name(state) == "Babbage & Co"


def test_first_contact_point_becomes_primary_and_repeats_are_dropped() -> None:
    state = domain.new_customer(PERSON | {"emails": [{"address": "Ada@Example.com"}, {"address": "ada@example.com"},
                                                     {"address": "ada@work.example"}]})
    assert state["emails"] == [{"address": "Ada@Example.com", "primary": True},
                               {"address": "ada@work.example", "primary": False}]


def test_change_reports_only_real_changes() -> None:
    current = domain.new_customer(PERSON | {"region": "London"})
    updated, diff = domain.change_customer(current, {"region": "London", "family_name": "King"})
    assert diff == {"family_name": {"old": "Lovelace", "new": "King"}}
    assert domain.display_name(updated) == "Ada King"


def test_clearing_a_required_name_is_refused() -> None:
    with pytest.raises(InvalidInput):
        domain.change_customer(domain.new_customer(PERSON), {"family_name": None})
