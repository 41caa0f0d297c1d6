"""Custom fields: their rules without a database, and declaring fields on a database of their own."""

from __future__ import annotations

import pytest

from sqlalchemy.orm import Session

from services.customer import contract
from services.customer.custom_fields import rules, service
from shared.errors import InvalidInput, NotFound
from tests.unit.customer.conftest import TENANT, announced

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


# --- the use cases, on a database of their own ---------------------------------------------


def _any_version(version: int) -> None:
    pass


def test_declaring_changing_and_removing_a_field_is_announced_under_the_tenants_settings_id(db: Session) -> None:
    first = service.declare(db, TENANT, "segment", {"type": "choice", "choices": ["gold"], "label": None,
                                                   "required": False}, check_version=_any_version).version
    changed = service.declare(db, TENANT, "segment", {"type": "choice", "choices": ["gold", "silver"],
                                                     "label": "Segment", "required": False},
                              check_version=_any_version)
    assert (first, changed.version, changed.label) == (1, 2, "Segment")
    assert [d.name for d in service.declared(db, TENANT)] == ["segment"]
    service.remove(db, TENANT, "segment", check_version=_any_version)
    with pytest.raises(NotFound):
        service.remove(db, TENANT, "segment", check_version=_any_version)
    events = announced(db)
    assert {key for _, key, _ in events} == {contract.settings_subject(TENANT)}
    assert [t for t, _, _ in events] == [contract.CUSTOM_FIELD_CHANGED.name] * 3
    assert events[0][2] == {"name": "segment", "removed": False, "definition": {
        "name": "segment", "type": "choice", "label": "segment", "choices": ["gold"], "required": False}}
    assert events[-1][2] == {"name": "segment", "definition": None, "removed": True}
