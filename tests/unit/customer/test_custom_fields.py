"""Rules of custom fields, tested without a database."""

from __future__ import annotations

import pytest

from services.customer.custom_fields import rules
from shared.errors import InvalidInput

DEFINITIONS = {
    "segment": rules.check_definition({"name": "segment", "type": "choice", "choices": ["gold", "silver"]}),
    "since": rules.check_definition({"name": "since", "type": "date", "required": True}),
    "seats": rules.check_definition({"name": "seats", "type": "number"}),
    "note": rules.check_definition({"name": "note", "type": "text"}),
}


def test_custom_field_values_are_checked_by_type() -> None:
    values = rules.check_values({"segment": "gold", "since": "2024-02-29", "seats": "12", "note": "hi"},
                                        DEFINITIONS, creating=True)
    assert values == {"segment": "gold", "since": "2024-02-29", "seats": 12, "note": "hi"}
    with pytest.raises(InvalidInput) as raised:
        rules.check_values({"segment": "bronze", "since": "2024-02-30", "seats": True, "colour": "red"},
                                   DEFINITIONS, creating=True)
    assert {e["field"] for e in raised.value.errors or []} == {
        "custom_fields.segment", "custom_fields.since", "custom_fields.seats", "custom_fields.colour"}


def test_required_custom_fields_are_needed_on_create_and_cannot_be_removed() -> None:
    with pytest.raises(InvalidInput, match="custom_fields.since: required"):
        rules.check_values({}, DEFINITIONS, creating=True)
    with pytest.raises(InvalidInput):
        rules.check_values({"since": None}, DEFINITIONS, creating=False)
    assert rules.check_values({"seats": None}, DEFINITIONS, creating=False) == {"seats": None}


def test_custom_field_definitions_are_consistent() -> None:
    with pytest.raises(InvalidInput):
        rules.check_definition({"name": "Bad Name", "type": "text"})
    with pytest.raises(InvalidInput):
        rules.check_definition({"name": "tier", "type": "choice", "choices": []})
    with pytest.raises(InvalidInput):
        rules.check_definition({"name": "tier", "type": "text", "choices": ["a"]})
